"""Picking landed NDJSON files up for bronze, each exactly once.

A bronze job writes one landed file per commit, tagged with a Delta app
transaction whose id is ``<table>:<file path in the landing zone>``. A file
whose transaction is in the table's log is done; a crash between files leaves
the rest pending, and a rerun writes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from jobs.ingest.landing import landed_files, recover_orphans
from jobs.resources.lake import Lake, Txn
from lake_schema.spec import TableSpec

LINES_DDL = "source_file STRING, line_number BIGINT, line STRING"


@dataclass(frozen=True)
class LandedFile:
    path: Path
    relative: str  # posix path inside the landing zone: the file's identity

    def txn(self, spec: TableSpec) -> Txn:
        return Txn(app_id=f"{spec.name}:{self.relative}", version=1)


def pending_files(lake: Lake, spec: TableSpec, root: Path, stream: str) -> tuple[list[LandedFile], int]:
    """Files of `stream` that `spec` has not taken yet, oldest first, and how many were already taken.
    Files a killed collector left unfinished are finished first (`recover_orphans`), so none is lost."""
    recover_orphans(root, stream)
    pending, done = [], 0
    for path in landed_files(root, stream):
        landed = LandedFile(path, path.relative_to(root).as_posix())
        if lake.txn_version(spec, landed.txn(spec).app_id) is not None:
            done += 1
        else:
            pending.append(landed)
    return pending, done


def read_lines(spark: SparkSession, landed: LandedFile) -> DataFrame:
    """The file's lines with 1-based numbers (`source_file`, `line_number`, `line`)."""
    with landed.path.open(encoding="utf-8", errors="replace") as handle:
        lines = [line.rstrip("\n") for line in handle]
    frame = pd.DataFrame({"source_file": landed.relative, "line_number": range(1, len(lines) + 1), "line": lines})
    return spark.createDataFrame(frame, schema=LINES_DDL)
