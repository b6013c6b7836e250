"""Rebuild only the partitions whose source grew: the bookkeeping two steps share (price bronze per landing
batch, silver trades per closed day).

A source partition's row count only grows, so it serves as the version of a Delta app transaction on the
target (`<target>:<partition value>`): a partition whose count is not above the recorded one is already built."""

from __future__ import annotations

from typing import Any, Iterator

from pyspark.sql import DataFrame

from jobs.resources.lake import Lake, Txn
from lake_schema.spec import TableSpec


def grown_partitions(lake: Lake, source: DataFrame, column: str, target: TableSpec,
                     skipped: list[str]) -> Iterator[tuple[Any, Txn]]:
    """(value, txn) for each `column` value of `source`, in order, whose row count grew since `target` was built from
    it; write the target's rows with that txn. Values already built are named in `skipped`."""
    counts = source.groupBy(column).count().collect()
    for row in sorted(counts, key=lambda r: r[column]):
        value, rows = row[column], row["count"]
        txn = Txn(app_id=f"{target.name}:{value}", version=rows)
        if (lake.txn_version(target, txn.app_id) or 0) >= rows:
            skipped.append(f"{value} already built into {target.name}")
            continue
        yield value, txn
