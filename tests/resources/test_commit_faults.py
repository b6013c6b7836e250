"""SIGKILL a Spark writer anywhere in a Delta write: the table stays at a whole version, and a retry with
the same Txn does the work exactly once.

A delta-spark write puts all its Parquet files first and then one log entry (put-if-absent), so a writer
killed at any instant leaves the old version or the new one, never a mix; files it wrote without
committing are orphans no reader opens, and VACUUM removes them. Each kill hits a real writer process
(its own Spark session, `local[1]`, one task writing one file per day): before its first file, after
some files, frozen (SIGSTOP) the instant its last file appears so the test can prove the commit had not
landed, and after its log entry.
"""

from __future__ import annotations

import shutil
import signal
from datetime import date, timedelta
from pathlib import Path

import pytest
from deltalake import DeltaTable

from jobs.resources.lake import Lake, Txn
from tests.resources.faults import data_files, ever_added, kill, log_commits, new_files, outputs, signal_group, start_worker, wait_until
from tests.resources.test_lake import EVENTS, contents, events, row
from tests.resources.workers import event_rows

DAYS = [date(2011, 3, 1) + timedelta(days=i) for i in range(12)]
WHERE = [("day", "in", DAYS)]
OLD = event_rows("old0", DAYS, 1, 1.0)
NEW = event_rows("new0", DAYS, 2, 2.0)
TXN = "reload:2011-03"
# Where each kill lands: a number of new data files to wait for (0: the worker has read its step), or
# "all" (freeze when every file is there, prove no commit, then kill), or "log" (after the log entry).
KILL_POINTS = [0, 1, 6, "all", "log"]


def _frame(spark, rows):
    return events(spark, [row(e, date.fromisoformat(d), a) for e, d, a in rows])


def _rows(table_dir: Path, version: int | None = None) -> list[tuple]:
    table = DeltaTable(str(table_dir), version=version).to_pyarrow_table(columns=["event_id", "day", "amount"])
    return sorted((e, d.isoformat(), a) for e, d, a in zip(*(table.column(c).to_pylist() for c in ("event_id", "day", "amount"))))


@pytest.mark.slow  # a writer process with its own Spark session per kill point
def test_sigkill_anywhere_in_a_write_leaves_a_whole_version_and_a_retry_commits_once(lake, spark, tmp_path):
    base = Path(lake.settings.lake_root)
    lake.append(EVENTS, _frame(spark, OLD))  # version 1: one old row a day
    step = {"op": "overwrite", "days": [d.isoformat() for d in DAYS], "rows": NEW, "txn": TXN}
    outcomes = []
    for n, point in enumerate(KILL_POINTS):
        root = tmp_path / f"kill{n}"
        shutil.copytree(base, root)
        table_dir = root / EVENTS.layer / EVENTS.short_name
        known = data_files(table_dir)
        log = tmp_path / f"kill{n}.log"
        proc = start_worker({"lake_root": str(root), "steps": [{**step, "wait": str(tmp_path / f"go{n}")}]}, log)
        try:
            wait_until(lambda: any(o.get("ready") for o in outputs(log)), 240, proc, poll_s=0.05)
            (tmp_path / f"go{n}").touch()
            if point == "log":
                wait_until(lambda: (table_dir / "_delta_log" / f"{2:020d}.json").exists(), 240, proc)
            elif point == "all":
                wait_until(lambda: len(new_files(table_dir, known)) >= len(DAYS), 240, proc)
                signal_group(proc, signal.SIGSTOP)
                assert len(log_commits(str(table_dir))) - 1 == 1, "the commit landed before the freeze"
            elif point:
                wait_until(lambda: len(new_files(table_dir, known)) >= point, 240, proc)
        finally:
            kill(proc)
        version = len(log_commits(str(table_dir))) - 1  # also proves every commit whole and the log gap-free
        orphans = data_files(table_dir) - ever_added(table_dir)
        assert version in (1, 2), f"kill {n} left version {version}"
        assert _rows(table_dir) == sorted(OLD if version == 1 else NEW), f"kill {n} ({point}) shows a partial write"
        assert _rows(table_dir, version=1) == sorted(OLD)  # the previous version stays readable
        outcomes.append((point, version, len(orphans)))

        killed = Lake(spark, lake.settings.model_copy(update={"lake_root": str(root)}))
        again = killed.overwrite(EVENTS, _frame(spark, NEW), where=WHERE, txn=Txn(TXN))  # the retried run
        assert again.skipped == (version == 2)
        assert len(log_commits(str(table_dir))) - 1 == 2, "the retry must commit exactly once in all"
        assert sorted(contents(killed)) == sorted((e, date.fromisoformat(d), a) for e, d, a in NEW)
        assert killed.txn_version(EVENTS, TXN) == 1
        if orphans:  # invisible leftovers: VACUUM removes them, and every committed file stays
            killed.vacuum(EVENTS, retain_hours=0)
            assert not data_files(table_dir) - ever_added(table_dir)
            assert _rows(table_dir) == sorted(NEW)
    print("kills (point, version after kill, orphan files):", outcomes)
    frozen = dict((p, (v, o)) for p, v, o in outcomes)["all"]
    assert frozen == (1, len(DAYS)), outcomes  # every file written, none committed, none visible
    assert dict((p, v) for p, v, _ in outcomes)["log"] == 2, outcomes
