"""SIGKILL the real collectors (`python -m jobs.cli ingest trades|reddit`) at random points, restart them,
take the topics into the lake and check it against a clean run. (The stream's own kill loop is
tests/stream/test_kill.py.)

A Kafka record is atomic: a kill loses records still in flight (socket, queue, producer buffer), never half
of one, and what the broker acknowledged stays. What "equals a clean run" means differs by source:

* Finnhub's websocket cannot send again what a dead collector missed: trades sent while it was dead, or still
  in flight when it died, are gone. The replay server records what it sent on each connection, and the
  contract is: (1) the frames of one key (one partition, kept in order by the idempotent producer) that
  reached Kafka from a connection are a prefix of those sent on it, so a kill loses only the tail in flight;
  every frame is whole, and none is doubled; (2) every record in the topic reaches bronze exactly once,
  nothing quarantined; (3) bronze and silver equal, row for row, one clean pass of the batch definitions
  over the same records, and every silver trade is one the server sent.
* Reddit can be fetched again, so after a final run silver equals a single clean run exactly, apart from
  the fetch bookkeeping columns (first/last_fetched_at, times_fetched: every fetch is recorded by design).

The seed comes from PULSELAKE_KILL_SEED (printed), the kills per collector from PULSELAKE_COLLECTOR_KILLS
(default 10 each; with the stream's 2 that is 22 kills per `make test`).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from itertools import groupby
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from jobs.ingest.consume import take
from jobs.ingest.records import kafka_records
from jobs.ingest.topics import FINNHUB_TRADES, REDDIT_COMMENTS, REDDIT_POSTS
from jobs.reddit.steps import reddit_sinks, silver_reddit
from jobs.local.replay.finnhub_ws import FinnhubReplayConfig, FinnhubReplayThread
from jobs.local.replay.intraday import day_trades, trading_days
from jobs.local.replay.reddit_server import RedditReplayServer
from jobs.resources.kafka import KafkaSettings
from jobs.resources.lake import Lake
from jobs.resources.settings import Settings
from jobs.trades.batch import trades_sink
from jobs.trades.bronze import parse_trade_records
from jobs.trades.silver import build_silver_trades
from lake_schema.quarantine import QUARANTINE
from lake_schema.reddit import BRONZE_REDDIT_COMMENTS, BRONZE_REDDIT_POSTS, SILVER_REDDIT_COMMENTS, SILVER_REDDIT_POSTS
from lake_schema.trades import BRONZE_TRADES, SILVER_TRADES
from tests.ingest.helpers import API_KEY, broker_settings, frames_of, kafka_env, read_records, trade_key
from tests.stream.helpers import rows
from tests.windows import LATEST

ROOT = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("PULSELAKE_COLLECTOR_KILLS", "10"))
SEED = int(os.environ.get("PULSELAKE_KILL_SEED", str(int(time.time()))))
BOOKKEEPING = ("first_fetched_at", "last_fetched_at", "times_fetched")
RUN_LOGS = Path(tempfile.gettempdir()) / "pulselake-collector-tests"  # the collectors' run logs (<lake>/_logs)


def _start(args: list[str], env: dict[str, str], log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "jobs.cli", "ingest", *args], cwd=ROOT,
                            env={**os.environ, "PULSELAKE_LAKE_ROOT": str(RUN_LOGS), **env},
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _kill(proc: subprocess.Popen) -> bool:
    """SIGKILL; False when the process had already ended on its own (no kill happened)."""
    alive = proc.poll() is None
    if alive:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return alive


def _wait(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def _batches(config: FinnhubReplayConfig) -> dict[tuple, tuple]:
    """trade -> (day, market second): the replay's frames, one per market second of a day (its documented
    protocol). Checked against every record: a record's trades must all share one batch."""
    days = trading_days(config.start, config.end)
    batch = {}
    for day in days[: config.days] if config.days else days:
        trades = day_trades(sorted(config.symbols), day, config.trades_per_day, config.seed)
        for trade in trades:
            batch[trade_key(trade.to_wire())] = (day, (trade.t_ms - trades[0].t_ms) // 1000)
    return batch


def _topic_records(spark: SparkSession, settings: KafkaSettings, name: str) -> DataFrame:
    """Everything the topic holds now, read in one batch: the records a clean pass would take."""
    raw = (spark.read.format("kafka").options(**settings.spark_options()).option("subscribe", settings.topic(name))
           .option("startingOffsets", "earliest").option("endingOffsets", "latest").option("includeHeaders", "true")
           .load())
    return kafka_records(raw)


def _coordinates(df: DataFrame) -> list[tuple[int, int]]:
    return [(r.kafka_partition, r.kafka_offset) for r in df.select("kafka_partition", "kafka_offset").collect()]


@pytest.mark.slow
def test_trade_collector_killed_at_random_points_loses_only_what_was_in_flight(lake, kafka, tmp_path):
    rng = random.Random(SEED)
    # 2 x 6000 trades a day over 23400 market seconds at speedup 390: ~200 trades a second for 10 minutes.
    config = FinnhubReplayConfig(symbols=["AAPL", "MSFT"], trades_per_day=6000, days=10, speedup=390.0, api_key=API_KEY)
    env = {**kafka_env(kafka), "FINNHUB_API_KEY": API_KEY}
    args = ["trades", "--symbols", "AAPL,MSFT"]
    log_path, kills = tmp_path / "collector.log", []
    started = time.monotonic()
    with FinnhubReplayThread(config) as server, log_path.open("w") as log:
        env["FINNHUB_WS_URL"] = server.url
        for _ in range(KILLS):
            connections = server.connections
            proc = _start(args, env, log)
            try:
                if rng.random() < 0.2:  # anywhere from start-up on: maybe before it even connected
                    mode, delay = "from start", rng.uniform(0.1, 1.5)
                else:
                    mode, delay = "while streaming", rng.uniform(0.0, 2.0)
                    assert _wait(lambda: server.sent_by_connection.get(connections + 1), 60), log_path.read_text()
                time.sleep(delay)
            finally:
                assert _kill(proc), f"the collector ended on its own:\n{log_path.read_text()[-3000:]}"
            kills.append(f"{mode} +{delay:.2f} s")
        assert not server.finished.is_set(), "the replay ran out of trades: later kills saw no data"
        connections = server.connections
        proc = _start(args, env, log)  # the last run collects and stops cleanly
        assert _wait(lambda: server.sent_by_connection.get(connections + 1), 60)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log_path.read_text()[-3000:]
        sent_by_connection = {n: list(trades) for n, trades in server.sent_by_connection.items()}
    print(f"seed {SEED}; {len(kills)} trade collector kills in {time.monotonic() - started:.0f} s: {kills}")
    output = log_path.read_text()
    assert "Traceback" not in output, output[-3000:]
    summary = json.loads([line for line in output.splitlines() if line.startswith("{")][-1])
    assert summary["failures"] == {} and summary["kafka"]["undelivered"] == 0  # the server never failed it

    records = read_records(kafka, FINNHUB_TRADES)
    frames, others = frames_of(records)
    assert not others, f"seed {SEED}: records that are no whole trade frame: {[r.text[:100] for r in others]}"
    origin = {}  # trade -> (connection, position in what was sent on it)
    for number, trades in sent_by_connection.items():
        for position, trade in enumerate(trades):
            assert trade_key(trade) not in origin, "the replay sent one trade twice"
            origin[trade_key(trade)] = (number, position)
    landed = [trade_key(t) for frame in frames for t in frame]
    assert len(landed) == len(set(landed)), f"seed {SEED}: a trade reached Kafka twice"
    assert set(landed) <= set(origin), f"seed {SEED}: a trade in Kafka the server never sent"
    last = max(sent_by_connection)
    assert Counter(origin[k][0] for k in landed)[last] == len(sent_by_connection[last]) > 0  # SIGTERM: none lost

    # (1) per connection and key, the frames that reached Kafka are a prefix of the frames sent
    batch = _batches(config)
    for frame in frames:
        assert len({batch[trade_key(t)] for t in frame}) == 1, f"a record mixes market seconds: {frame[:3]}"
    landed_set = set(landed)
    for number, trades in sent_by_connection.items():
        sent_frames = [list(group) for _, group in groupby(trades, key=lambda t: batch[trade_key(t)])]
        flags: dict[str, list[bool]] = {}
        for frame in sent_frames:
            arrived = [trade_key(t) in landed_set for t in frame]
            assert all(arrived) or not any(arrived), f"seed {SEED}: connection {number}: half a frame arrived"
            flags.setdefault(frame[0]["s"], []).append(arrived[0])
        for key, arrived in flags.items():
            assert arrived == sorted(arrived, reverse=True), \
                f"seed {SEED}: connection {number} lost {key} frames before its last"
    lost = sum(len(t) for t in sent_by_connection.values()) - len(landed)
    print(f"{len(landed)} trades in {len(records)} records in Kafka, {lost} lost in flight at kills")

    # (2) and (3): every record into bronze once; bronze and silver equal one clean pass
    loading = time.monotonic()
    report = take(lake, trades_sink())
    print(f"take: {time.monotonic() - loading:.1f} s; {report}")
    assert report.tables[BRONZE_TRADES.name] == report.tables[SILVER_TRADES.name] == len(landed)
    bronze, silver = lake.read(BRONZE_TRADES), lake.read(SILVER_TRADES)
    bronze_rows, silver_rows = rows(bronze), rows(silver)
    at = {name: bronze.columns.index(name) for name in ("kafka_partition", "kafka_offset")}
    assert {(r[at["kafka_partition"]], r[at["kafka_offset"]]) for r in bronze_rows} == \
        {(r.partition, r.offset) for r in records}, f"seed {SEED}: a record in Kafka is not in bronze"
    clean_bronze, _ = parse_trade_records(_topic_records(lake.spark, kafka, FINNHUB_TRADES).cache())
    clean_silver, _ = build_silver_trades(clean_bronze)
    assert bronze_rows == rows(clean_bronze), f"seed {SEED}: bronze differs from a clean pass"
    assert silver_rows == rows(clean_silver), f"seed {SEED}: silver differs from a clean pass"
    assert lake.read(QUARANTINE).count() == 0, f"seed {SEED}: a kill left a record the lake could not take"
    trade = [silver.columns.index(name) for name in ("symbol", "price", "volume")]
    assert Counter(tuple(r[i] for i in trade) for r in silver_rows) == Counter((s, p, v) for s, _, p, v in landed), f"seed {SEED}: silver is not what was sent"


@pytest.mark.slow
def test_reddit_collector_killed_at_random_points_then_rerun_equals_one_clean_run(spark, kafka_broker, tmp_path):
    rng = random.Random(SEED + 1)
    args = ["reddit", "--subreddits", "stocks,investing", "--since", "60d", "--as-of", "2010-08-21",
            "--comment-depth", "3"]
    names = ("clean", "killed")
    kafka = {name: broker_settings(kafka_broker) for name in names}  # each run its own topics
    lakes = {name: Lake(spark, Settings(lake_root=str(tmp_path / name), spark_master="local[2]")) for name in names}
    log_path, kills = tmp_path / "collector.log", []
    with RedditReplayServer() as server, log_path.open("w") as log:
        env = {"REDDIT_CLIENT_ID": "app", "REDDIT_CLIENT_SECRET": "s", "REDDIT_OAUTH_URL": server.url,
               "REDDIT_URL": server.url}
        started = time.monotonic()
        clean = _start(args, {**env, **kafka_env(kafka["clean"])}, log)
        assert clean.wait(timeout=120) == 0, log_path.read_text()
        whole_run = time.monotonic() - started
        killed_env = {**env, **kafka_env(kafka["killed"])}
        while len(kills) < KILLS:
            proc = _start(args, killed_env, log)
            delay = rng.uniform(0.3, whole_run)
            time.sleep(delay)
            if _kill(proc):
                kills.append(round(delay, 2))
        final = _start(args, killed_env, log)
        assert final.wait(timeout=120) == 0, log_path.read_text()[-3000:]
    output = log_path.read_text()
    print(f"seed {SEED}; clean run {whole_run:.1f} s; {len(kills)} reddit collector kills at {kills} s "
          f"({time.monotonic() - started:.0f} s of collecting)")
    assert "Traceback" not in output, output[-3000:]

    loading = time.monotonic()
    for name, lake in lakes.items():
        for sink in reddit_sinks():
            take(lake, sink, kafka=kafka[name])
        silver_reddit(lake, LATEST)
    print(f"bronze + silver of both lakes: {time.monotonic() - loading:.1f} s")
    killed = lakes["killed"]
    for topic, table in ((REDDIT_POSTS, BRONZE_REDDIT_POSTS), (REDDIT_COMMENTS, BRONZE_REDDIT_COMMENTS)):
        records = read_records(kafka["killed"], topic)
        assert len(records) > 0
        assert sorted(_coordinates(killed.read(table))) == sorted((r.partition, r.offset) for r in records), \
            f"seed {SEED}: {table.name} is not every {topic} record exactly once"
    for spec in (SILVER_REDDIT_POSTS, SILVER_REDDIT_COMMENTS):
        columns = [c for c in spec.column_names if c not in BOOKKEEPING]
        got, want = (rows(lakes[name].read(spec), columns) for name in ("killed", "clean"))
        assert got == want and want, f"seed {SEED}: {spec.name} differs from a clean run"
    assert killed.read(QUARANTINE).count() == 0, f"seed {SEED}: a kill left a record the lake could not take"
    assert lakes["clean"].read(QUARANTINE).count() == 0
