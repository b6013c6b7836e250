"""SIGKILL the real `pulselake stream` process at random points, restart it, and compare with a clean run.

Each cycle lands files, starts the stream as its own process group (Python driver, Spark JVM and its
Python workers), and kills the whole group with SIGKILL either at a random moment or shortly after a
random commit (when a batch is half way through its four tables: the interesting case). The last run
uses --available-now to take the rest and exit. Bronze, silver trades and bars must equal, row for row,
what one clean pass of the batch definitions gives over all the files (which a clean stream run equals:
see test_stream), and the quarantine the same reasons and counts. The seed and the number of kills come
from PULSELAKE_KILL_SEED / PULSELAKE_KILLS (the reliability job loops this with more).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from jobs.ingest.landing import landing_root
from jobs.resources.lake import Lake
from jobs.settings import Settings
from jobs.trades.bronze import bronze_trades
from lake_schema.quarantine import QUARANTINE
from lake_schema.trades import BARS_1M, BRONZE_TRADES, SILVER_TRADES
from tests.stream.helpers import expected_quarantine, expected_tables, land, rows, synthetic_files

REPO = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("PULSELAKE_KILLS", "3"))
SEED = int(os.environ.get("PULSELAKE_KILL_SEED", str(int(time.time()))))
TABLES = (BRONZE_TRADES, QUARANTINE, SILVER_TRADES, BARS_1M)


def _command(lake_root: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "jobs.cli", "stream", "--lake-root", str(lake_root), "--watermark", "1h",
            "--query-name", "killable", *extra]


def _env() -> dict[str, str]:
    return {**os.environ, "PULSELAKE_SPARK_MASTER": "local[2]", "PULSELAKE_SPARK_DRIVER_MEMORY": "1g"}


def _commits(lake_root: Path) -> int:
    """Data commits so far over the stream's four tables (version 0 of each only creates it)."""
    total = 0
    for spec in TABLES:
        log = lake_root / spec.layer / spec.short_name / "_delta_log"
        total += max(0, len(list(log.glob("*.json"))) - 1) if log.exists() else 0
    return total


def _wait_for(predicate, timeout_s: float, proc: subprocess.Popen) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def test_sigkill_at_random_points_loses_and_duplicates_nothing(spark, tmp_path):
    rng = random.Random(SEED)
    files = synthetic_files(2 * KILLS + 2, seed=SEED % 1000, lines_per_file=4)
    root = tmp_path / "killed"
    landing = landing_root(Settings(lake_root=str(root)))
    log_path = tmp_path / "stream.log"
    kills = []
    with log_path.open("w") as log:
        for cycle in range(KILLS):
            land(landing, files[2 * cycle])
            mark = log_path.stat().st_size
            proc = subprocess.Popen(_command(root, "--trigger-interval", "1s", "--max-files-per-trigger", "1"),
                                    cwd=REPO, env=_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                before = _commits(root)
                started = _wait_for(lambda: "streaming" in log_path.read_text()[mark:], 240, proc)
                assert started, f"the stream did not start:\n{log_path.read_text()[-3000:]}"
                land(landing, files[2 * cycle + 1])  # lands while the stream runs
                if rng.random() < 0.6:  # shortly after a commit: the batch is half way through its tables
                    _wait_for(lambda: _commits(root) > before, 240, proc)
                    mode, delay = "after a commit", rng.uniform(0, 3)
                else:
                    mode, delay = "at a random moment", rng.uniform(0, 20)
                time.sleep(delay)
                assert proc.poll() is None, f"the stream died on its own:\n{log_path.read_text()[-3000:]}"
            finally:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            kills.append(f"{mode} +{delay:.1f} s (commits {before} -> {_commits(root)})")
            log.write(f"\n--- SIGKILL {cycle + 1}: {kills[-1]}\n")
            log.flush()
        for file in files[2 * KILLS:]:
            land(landing, file)
        final = subprocess.run(_command(root, "--available-now"), cwd=REPO, env=_env(), stdout=log,
                               stderr=subprocess.STDOUT, timeout=480)
    output = log_path.read_text()
    assert final.returncode == 0, output[-3000:]
    print(f"seed {SEED}; kills: {kills}\n{output}")

    killed = Lake(spark, Settings(lake_root=str(root), spark_master="local[2]"))
    bronze, silver, bars = expected_tables(spark, landing, files)
    assert rows(killed.read(BRONZE_TRADES)) == rows(bronze), f"seed {SEED}: bronze lost or repeated trades"
    assert rows(killed.read(SILVER_TRADES)) == rows(silver), f"seed {SEED}: silver differs from a clean run"
    assert rows(killed.read(BARS_1M)) == rows(bars), f"seed {SEED}: bars differ from a clean run"
    quarantined = Counter(r.reason for r in killed.read(QUARANTINE).collect())
    assert quarantined == expected_quarantine(spark, landing, files), f"seed {SEED}"
    assert bronze_trades(killed).notes[0].startswith("0 trade files")  # the nightly finds nothing left to take
