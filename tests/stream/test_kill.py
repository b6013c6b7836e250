"""Crashes at random points, then recovery, compared with one clean pass: nothing lost, nothing doubled.

1. SIGKILL the real `pulselake stream` process. Each cycle produces a group of frames to finnhub.trades,
   starts the stream as its own process group (Python driver, Spark JVM and its Python workers), produces
   another group while it runs, and kills the whole group with SIGKILL either at a random moment or
   shortly after a random commit (when a batch is half way through its four tables: the interesting case).
   The last run uses --available-now to take the rest and exit.
2. SIGKILL the Kafka broker (and restart it) several times while the stream runs in this process and a
   producer keeps sending.

Either way bronze, silver trades and bars must equal, row for row, what one clean pass of the batch
definitions gives over every record the topic holds (which a clean stream run equals: see test_stream),
the quarantine the same reasons and counts, and silver must hold exactly the distinct trades produced
(counted in Python from what was sent). The seed and the number of kills come from PULSELAKE_KILL_SEED /
PULSELAKE_KILLS (the reliability job loops this with more).
"""

from __future__ import annotations

import pytest

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from jobs.ingest.consume import take
from jobs.ingest.publish import Publisher
from jobs.ingest.topics import FINNHUB_TRADES, record_count
from jobs.resources.lake import Lake
from jobs.resources.settings import Settings
from jobs.trades.batch import trades_sink
from jobs.stream.query import StreamConfig, start_stream
from lake_schema.quarantine import QUARANTINE
from lake_schema.trades import BARS_1M, BRONZE_TRADES, SILVER_TRADES
from tests.stream.conftest import wait_until
from tests.stream.helpers import (
    distinct_trades, expected_quarantine, expected_tables, produce, rows, synthetic_records, topic_records,
)

pytestmark = pytest.mark.slow  # minutes of Spark work or a private service: `make test` runs it, `make test-fast` does not

REPO = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("PULSELAKE_KILLS", "2"))
SEED = int(os.environ.get("PULSELAKE_KILL_SEED", str(int(time.time()))))
TABLES = (BRONZE_TRADES, QUARANTINE, SILVER_TRADES, BARS_1M)


def _command(lake_root: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "jobs.cli", "stream", "--lake-root", str(lake_root), "--watermark", "1h", *extra]


def _env() -> dict[str, str]:  # the KAFKA_* settings of the test's broker and topics come with os.environ
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


def _assert_one_clean_pass(lake: Lake, spark, kafka, sent: list, seed: int) -> None:
    records = topic_records(spark, kafka)
    assert records.count() == len(sent), f"seed {seed}: the topic holds {records.count()} records, {len(sent)} were sent"
    bronze, silver, bars = expected_tables(records)
    assert rows(lake.read(BRONZE_TRADES)) == rows(bronze), f"seed {seed}: bronze lost or repeated trades"
    assert rows(lake.read(SILVER_TRADES)) == rows(silver), f"seed {seed}: silver differs from a clean run"
    assert lake.read(SILVER_TRADES).count() == distinct_trades(sent), f"seed {seed}: silver != the trades produced"
    assert rows(lake.read(BARS_1M)) == rows(bars), f"seed {seed}: bars differ from a clean run"
    quarantined = Counter(r.reason for r in lake.read(QUARANTINE).collect())
    assert quarantined == expected_quarantine(records), f"seed {seed}"


def test_sigkill_at_random_points_loses_and_duplicates_nothing(spark, kafka, tmp_path):
    rng = random.Random(SEED)
    groups = synthetic_records(2 * KILLS + 2, seed=SEED % 1000, frames_per_group=4)
    root = tmp_path / "killed"
    log_path = tmp_path / "stream.log"
    kills, sent = [], []
    with log_path.open("w") as log:
        for cycle in range(KILLS):
            produce(kafka, groups[2 * cycle])
            sent += groups[2 * cycle]
            mark = log_path.stat().st_size
            proc = subprocess.Popen(_command(root, "--trigger-interval", "1s", "--max-records-per-trigger", "3"),
                                    cwd=REPO, env=_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                before = _commits(root)
                started = _wait_for(lambda: "streaming" in log_path.read_text()[mark:], 240, proc)
                assert started, f"the stream did not start:\n{log_path.read_text()[-3000:]}"
                produce(kafka, groups[2 * cycle + 1])  # arrives while the stream runs
                sent += groups[2 * cycle + 1]
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
        for group in groups[2 * KILLS:]:
            produce(kafka, group)
            sent += group
        final = subprocess.run(_command(root, "--available-now"), cwd=REPO, env=_env(), stdout=log,
                               stderr=subprocess.STDOUT, timeout=480)
    output = log_path.read_text()
    assert final.returncode == 0, output[-3000:]
    print(f"seed {SEED}; kills: {kills}\n{output}")

    killed = Lake(spark, Settings(lake_root=str(root), spark_master="local[2]"))
    _assert_one_clean_pass(killed, spark, kafka, sent, SEED)
    assert take(killed, trades_sink()).notes == ["finnhub.trades: nothing new"]  # the nightly finds nothing left


def test_ctrl_c_during_a_batch_lets_it_finish_says_so_and_keeps_the_terminal_clean(spark, kafka, tmp_path):
    """SIGINT to the stream's process group, as a terminal sends it on Ctrl-C, while batches run back to back:
    the batch in progress finishes, one line says so, no JVM output reaches the terminal (Spark's goes to the
    run log), and a restart takes the rest exactly once. Ctrl-C can land between two batches; then the stream
    stops at once, and the test tries again (up to three times) until one lands inside a batch."""
    sent = [record for group in synthetic_records(6, seed=SEED % 1000 + 7, frames_per_group=6) for record in group]
    produce(kafka, sent)
    root = tmp_path / "interrupted"
    endings = []
    for attempt in range(3):
        terminal = tmp_path / f"terminal-{attempt}.txt"
        with terminal.open("w") as out:
            proc = subprocess.Popen(_command(root, "--trigger-interval", "0.5s", "--max-records-per-trigger", "2",
                                             "--no-score"), cwd=REPO, env=_env(), stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            try:
                before = _commits(root)
                assert _wait_for(lambda: _commits(root) > before, 240, proc), terminal.read_text()[-3000:]
                os.killpg(proc.pid, signal.SIGINT)  # a batch has just committed; the next runs on the backlog
                assert proc.wait(timeout=120) == 0, terminal.read_text()[-3000:]
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
        shown = terminal.read_text()
        assert not any(word in shown for word in ("Exception", "Error", "Traceback", "\tat ", "WARN")), shown[-3000:]
        assert "full log: " in shown and "stream stopped" in shown, shown[-3000:]
        endings.append(shown)
        if "stopping after the batch in progress" in shown:
            assert "stream stopped: the batch in progress finished first" in shown, shown[-3000:]
            break
    else:
        pytest.fail(f"Ctrl-C never landed inside a batch in 3 tries:\n{endings[-1][-3000:]}")
    assert (root / "_logs").is_dir()
    final = subprocess.run(_command(root, "--available-now", "--no-score"), cwd=REPO, env=_env(),
                           capture_output=True, text=True, timeout=480)
    assert final.returncode == 0, final.stdout[-2000:] + final.stderr[-2000:]
    _assert_one_clean_pass(Lake(spark, Settings(lake_root=str(root), spark_master="local[2]")), spark, kafka, sent,
                           SEED)


def test_the_broker_sigkilled_and_restarted_mid_stream_loses_and_duplicates_nothing(lake, spark, private_kafka):
    broker, kafka = private_kafka
    rng = random.Random(SEED + 1)
    groups = synthetic_records(KILLS + 2, seed=(SEED + 1) % 1000, frames_per_group=4)
    sent = [record for group in groups for record in group]
    reports, outages = [], []
    taken = lambda: sum(r.records for r in reports)  # noqa: E731
    publisher = Publisher(kafka, "test", topics=(FINNHUB_TRADES,), linger_ms=5)
    stream = start_stream(lake, StreamConfig(trigger_seconds=0.5, watermark=timedelta(hours=1)),
                          on_batch=reports.append)

    def running() -> bool:
        assert stream.query.isActive, f"the stream stopped: {stream.query.exception()}"
        return True

    try:
        for cycle, group in enumerate(groups):
            for record in group:  # the collector's producer: retries through the outage, never duplicates
                publisher.send(FINNHUB_TRADES, record.key, record.value, record.received)
            publisher.poll(0)
            if cycle >= KILLS:
                continue
            if rng.random() < 0.5:  # while a batch is under way, or right after it
                batches = len(reports)
                wait_until(lambda: running() and len(reports) > batches, 240, "a batch")
                mode, delay = "after a batch", rng.uniform(0, 2)
            else:
                mode, delay = "at a random moment", rng.uniform(0, 6)
            time.sleep(delay)
            running()
            broker.kill()
            down = rng.uniform(0, 5)
            time.sleep(down)
            broker.start()
            outages.append(f"{mode} +{delay:.1f} s, down {down:.1f} s")
        publisher.close(120)
        wait_until(lambda: running() and taken() >= len(sent), 300, f"every record ({len(sent)}) taken")
    finally:
        stream.stop()
    print(f"seed {SEED + 1}; broker kills: {outages}; batches: " + "; ".join(r.line() for r in reports))
    assert taken() == len(sent) == record_count(kafka, FINNHUB_TRADES)
    _assert_one_clean_pass(lake, spark, kafka, sent, SEED + 1)
