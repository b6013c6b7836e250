"""SIGKILL a writer mid-commit: the table stays at a whole version, and a retry with the same Txn does the work once.

A write puts all its Parquet files first and then one log entry (put-if-absent), so a writer killed at any
instant leaves the old version or the new one, never a mix; files it wrote without committing are orphans
no reader opens (vacuum's job). The sweep kills `arrow` workers (our data source's writer and commit code,
driven without Spark so a process costs about a second) from "first file written" through "every file
written" to past the commit. One more kill hits the real Spark write path, frozen (SIGSTOP) the instant
its last file appears so the test can prove the commit had not landed, then killed.
"""

from __future__ import annotations

import shutil
import signal
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from deltalake import DeltaTable

from jobs.resources.lake import Lake, Txn
from jobs.settings import Settings
from tests.resources.faults import data_files, ever_added, kill, log_commits, new_files, signal_group, start_worker, wait_until
from tests.resources.test_lake import EVENTS, contents, events, row
from tests.resources.workers import event_rows, write_and_commit

DAYS = [date(2011, 3, 1) + timedelta(days=i) for i in range(40)]
WHERE = [("day", "in", DAYS)]
OLD = event_rows("old0", DAYS, 1, 1.0)
NEW = event_rows("new0", DAYS, 2, 2.0)
TXN = "reload:2011-03"
# (wait for, then sleep): spread over writing the 40 files, the gap before the commit, the commit and after.
KILL_POINTS = [("first file", 0.0), ("first file", 0.01), ("first file", 0.03), ("first file", 0.06),
               ("first file", 0.12), ("all files", 0.0), ("all files", 0.0), ("all files", 0.01),
               ("log entry", 0.0)]


def _rows(lake: Lake, version: int | None = None) -> list[tuple]:
    table = DeltaTable(lake.uri(EVENTS), version=version).to_pyarrow_table(columns=["event_id", "day", "amount"])
    return sorted(zip(*(table.column(c).to_pylist() for c in ("event_id", "day", "amount"))))


def test_sigkill_anywhere_in_a_commit_leaves_a_whole_version_and_a_retry_commits_once(tmp_path):
    base = tmp_path / "base"
    write_and_commit(Lake(None, Settings(lake_root=str(base))), OLD)  # version 1: one old row a day
    outcomes = []
    for n, (point, delay) in enumerate(KILL_POINTS):
        root = tmp_path / f"kill{n}"
        shutil.copytree(base, root)
        lake = Lake(None, Settings(lake_root=str(root)))
        table_dir = Path(lake.uri(EVENTS))
        known = data_files(table_dir)
        worker = {"lake_root": str(root), "who": "new", "days": [d.isoformat() for d in DAYS], "per_day": 2,
                  "amount": 2.0, "mode": "overwrite", "txn": TXN}
        proc = start_worker("arrow", worker, tmp_path / f"kill{n}.log")
        try:
            if point == "log entry":
                wait_until(lambda: (table_dir / "_delta_log" / f"{2:020d}.json").exists(), 60, proc)
            else:
                wanted = 1 if point == "first file" else len(DAYS)
                wait_until(lambda: len(new_files(table_dir, known)) >= wanted, 60, proc)
            time.sleep(delay)
        finally:
            kill(proc)
        version = len(log_commits(str(table_dir))) - 1  # also proves every commit whole and the log gap-free
        orphans = data_files(table_dir) - ever_added(table_dir)
        assert version in (1, 2), f"kill {n} left version {version}"
        assert _rows(lake) == (OLD if version == 1 else NEW), f"kill {n} ({point} +{delay}s) shows a partial write"
        assert _rows(lake, version=1) == OLD  # the previous version stays readable
        outcomes.append((point, delay, version, len(orphans)))

        write_and_commit(lake, NEW, "overwrite", WHERE, txn=TXN)  # the retried run, same app transaction
        assert len(log_commits(str(table_dir))) - 1 == 2, "the retry must commit exactly once in all"
        assert _rows(lake) == NEW
        assert lake.txn_version(EVENTS, TXN) == 1
    print("kills (point, delay, version after kill, orphan files):", outcomes)
    # At least one kill landed after every file was written and before the log entry: all 40 files were
    # orphans and invisible. The sweep also has to reach the other side: a kill after the commit.
    assert any(version == 1 and orphans == len(DAYS) for _, _, version, orphans in outcomes), outcomes
    assert any(version == 1 and 0 < orphans < len(DAYS) for _, _, version, orphans in outcomes), outcomes
    assert any(version == 2 for _, _, version, _ in outcomes), outcomes


SPARK_DAYS = [date(2010, 1, 4) + timedelta(days=i) for i in range(4)]


@pytest.mark.slow  # a writer process with its own Spark session
def test_sigkill_of_a_spark_write_between_its_files_and_its_commit(lake, spark, tmp_path):
    old = [(f"old-{d}", d, 1.0) for d in SPARK_DAYS]
    new = [(f"new-{d}-{j}", d, 2.0) for d in SPARK_DAYS for j in range(3)]
    where = [("day", "in", SPARK_DAYS)]
    step = {"op": "overwrite", "days": [d.isoformat() for d in SPARK_DAYS], "txn": "spark-reload:1",
            "rows": [(e, d.isoformat(), a) for e, d, a in new], "wait": str(tmp_path / "go")}
    log = tmp_path / "spark-worker.log"
    proc = start_worker("lake", {"lake_root": lake.settings.lake_root, "steps": [step]}, log)
    try:
        lake.append(EVENTS, _frame(spark, old))  # version 1, while the worker's Spark starts
        table_dir = Path(lake.uri(EVENTS))
        known = data_files(table_dir)
        (tmp_path / "go").touch()
        # local[1]: one task writes one file per day; freeze the whole process group the instant all exist.
        wait_until(lambda: len(new_files(table_dir, known)) >= len(SPARK_DAYS), 240, proc)
        signal_group(proc, signal.SIGSTOP)
        frozen_at = len(log_commits(str(table_dir))) - 1
    finally:
        kill(proc)
    assert frozen_at == 1, f"the commit landed before the kill; worker log:\n{log.read_text()[-2000:]}"
    assert len(log_commits(str(table_dir))) - 1 == 1
    orphans = data_files(table_dir) - ever_added(table_dir)
    assert len(orphans) == len(SPARK_DAYS)  # every file was written, none committed
    swept = DeltaTable(lake.uri(EVENTS)).vacuum(retention_hours=0, dry_run=True, enforce_retention_duration=False, full=True)
    assert orphans <= set(swept)  # invisible leftovers that vacuum removes
    assert contents(lake) == sorted(old)  # Spark reads the old version and never opens an orphan

    again = lake.overwrite(EVENTS, _frame(spark, new), where=where, txn=Txn("spark-reload:1"))
    assert not again.skipped and again.version == 2
    assert contents(lake) == sorted(new)
    assert lake.overwrite(EVENTS, _frame(spark, new), where=where, txn=Txn("spark-reload:1")).skipped
    assert contents(lake) == sorted(new) and lake.version(EVENTS) == 2


def _frame(spark, rows):
    return events(spark, [row(e, d, a) for e, d, a in rows])
