"""Scenario 4: the micro-batch stream at sustained arrival rates: 5k trades/s for 5 minutes (issue 16's target),
then higher rates for a minute each until the backlog grows (where it saturates).

A producer thread plays the collector: it stamps Finnhub-shaped trade frames with their receive time
and sends them to Kafka's finnhub.trades through the collector's own `Publisher` (key: the frame's
first symbol; receipt time in a header), at the target rate. The broker is the one
KAFKA_BOOTSTRAP_SERVERS names (with KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD), else a local
`KafkaBroker` the scenario starts in its scratch folder. The stream (`start_stream`) runs in this
process (trigger every PULSELAKE_BENCH_STREAM_TRIGGER seconds, default 1), warmed up first on two
seconds of light traffic (after taking whatever the topic already held) so the numbers are the
steady state, not JIT warm-up. A trade's delay runs from its receive time to the moment the silver
commit holding it returned (`BatchReport.silver_visible_at`; which commit holds which trade is read
from silver's Delta log: the files each batch's commit added, found by the batch's app transaction).
The sustained rate is trades in silver over the time from the first send to the last silver commit
(so a short run understates it: the final drain counts). A rate is kept up when the batches' total time
(`busy_s`) is at most the time it was fed plus one mean batch: a stream that needs more time than that
for what arrived is falling behind, whatever its batch size. `delay_growth_s` (median delay of the run's
last third minus its first) shows the same from the trades' side. A trade's bar delay runs to the bars commit of
its batch, which refreshes every minute the batch touched.
Then, at the plan's first rate for PULSELAKE_BENCH_STREAM_SCORED seconds (default 120; 0 skips it), the same
stream with live scoring off and on, on a lake holding a small trained intraday model and today's bars of its
five symbols: silver's delay both ways, and each prediction's delay from the close of the bars it read.
Knob: PULSELAKE_BENCH_STREAM_PLAN, rate:seconds pairs (default 5000:300,10000:60,20000:60,40000:60).
`sizes` (row counts for the batch scenarios) does not apply here.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow.parquet as pq

from bench.timing import jvm_peak_heap_mib
from jobs.ingest.finnhub_ws import frame_key
from jobs.ingest.publish import Publisher, utc_now
from jobs.ingest.topics import FINNHUB_TRADES, record_count
from jobs.local.jvm_daemon import free_ports
from jobs.resources.kafka import KafkaSettings, get_kafka_settings, kafka_environment
from jobs.resources.lake import Lake
from jobs.resources.settings import Settings
from jobs.trades.batch import BatchReport, trades_sink
from jobs.stream.query import StreamConfig, start_stream
from lake_schema.quarantine import QUARANTINE
from lake_schema.trades import SILVER_TRADES

TRADES_PER_FRAME = 10
SYMBOLS = [f"S{i:03d}" for i in range(200)]
DRAIN_TIMEOUT_S = 600
DEFAULT_PLAN = "5000:300,10000:60,20000:60,40000:60"
_PER_SECOND = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}


class FrameProducer(threading.Thread):
    """Sends frames at `rate` trades/s for `seconds` to finnhub.trades, as the websocket collector does."""

    def __init__(self, settings: KafkaSettings, rate: int, seconds: float, seed: int = 11,
                 symbols: list[str] = SYMBOLS) -> None:
        super().__init__(daemon=True)
        self.settings, self.rate, self.seconds, self.symbols = settings, rate, seconds, symbols
        self.rng = random.Random(seed)
        self.prices = {s: 50.0 + i for i, s in enumerate(symbols)}
        self.started_at = self.stopped_at = 0.0
        self.trades = self.records = 0
        self.publish: dict = {}
        self.error: BaseException | None = None

    def _frame(self, received: float, count: int) -> str:
        data = []
        for _ in range(count):
            symbol = self.rng.choice(self.symbols)
            self.prices[symbol] = round(max(1.0, self.prices[symbol] + self.rng.uniform(-0.05, 0.05)), 2)
            t_ms = int((received - self.rng.uniform(0, 0.5)) * 1000)  # exchange time a little before receipt
            data.append({"s": symbol, "p": self.prices[symbol], "t": t_ms, "v": self.rng.randint(1, 500), "c": ["1"]})
        return json.dumps({"type": "trade", "data": data})

    def run(self) -> None:
        try:
            publisher = Publisher(self.settings, "bench", topics=(FINNHUB_TRADES,))
            self.started_at = time.time()
            while (now := time.time()) < self.started_at + self.seconds:
                due = int(self.rate * (now - self.started_at)) - self.trades
                while due > 0:
                    count = min(TRADES_PER_FRAME, due)
                    stamp = utc_now()
                    value = self._frame(stamp.timestamp(), count)
                    publisher.send(FINNHUB_TRADES, frame_key(value), value, stamp)
                    self.records += 1
                    self.trades += count
                    due -= count
                publisher.poll(0)
                time.sleep(0.02)  # frames of up to TRADES_PER_FRAME trades, as before
            self.publish = publisher.close(120).summary()  # every record acknowledged
            self.stopped_at = time.time()
        except BaseException as exc:  # noqa: BLE001  (reported by the caller)
            self.error = exc


def _produce(settings: KafkaSettings, rate: int, seconds: float, seed: int = 11,
             symbols: list[str] = SYMBOLS) -> FrameProducer:
    producer = FrameProducer(settings, rate, seconds, seed, symbols)
    producer.start()
    producer.join()
    if producer.error is not None:
        raise RuntimeError(f"the bench producer failed: {producer.error}") from producer.error
    return producer


def _until_taken(records: int, reports: list[BatchReport], stream) -> None:
    deadline = time.time() + DRAIN_TIMEOUT_S
    while sum(r.records for r in reports) < records and time.time() < deadline:
        if not stream.query.isActive:
            raise RuntimeError(f"the stream stopped: {stream.query.exception()}")
        time.sleep(0.2)


@contextmanager
def kafka_for_bench(workdir: Path) -> Iterator[bool]:
    """KAFKA_BOOTSTRAP_SERVERS' broker when set (yields False), else a local broker in `workdir` (yields True)."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield False
        return
    from jobs.local.kafka_broker import KafkaBroker

    port, controller_port = free_ports(2)
    password = secrets.token_urlsafe(16)
    with KafkaBroker(workdir / "kafka", port, controller_port, username="bench", password=password, heap="1g") as broker:
        with kafka_environment({"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "KAFKA_SASL_USERNAME": "bench",
                                "KAFKA_SASL_PASSWORD": password}):
            yield True


@contextmanager
def _topics_of_its_own(prefix: str | None) -> Iterator[KafkaSettings]:
    """The settings with KAFKA_TOPIC_PREFIX=`prefix` (on the scenario's own broker: each rate starts from an empty
    topic); None keeps the configured topics (another broker: whatever they hold is taken in the warm-up)."""
    if prefix is None:
        get_kafka_settings.cache_clear()
        yield get_kafka_settings()
        return
    with kafka_environment({"KAFKA_TOPIC_PREFIX": prefix}) as settings:
        yield settings


def silver_commits(lake: Lake, app_id: str) -> dict[int, list[str]]:
    """{txn version: data files it added} for silver's commits carrying app transaction `app_id`."""
    log = Path(lake.uri(SILVER_TRADES).removeprefix("file://")) / "_delta_log"
    commits: dict[int, list[str]] = {}
    for path in sorted(log.glob("*.json")):
        actions = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        versions = [a["txn"]["version"] for a in actions if "txn" in a and a["txn"].get("appId") == app_id]
        if versions:
            commits[int(versions[0])] = [a["add"]["path"] for a in actions if "add" in a]
    return commits


def _delays(lake: Lake, reports: list[BatchReport]) -> tuple[np.ndarray, np.ndarray]:
    """(receipt time, seconds from receipt to its batch's silver commit) of each silver trade in `reports`."""
    visible = {r.batch_id + 1: r.silver_visible_at for r in reports if r.silver_visible_at}
    table = Path(lake.uri(SILVER_TRADES).removeprefix("file://"))
    receipts = []
    delays = []
    for version, files in silver_commits(lake, trades_sink().app_id).items():
        if version not in visible:
            continue
        for name in files:
            received = pq.read_table(table / name, columns=["received_at"]).column("received_at")
            per_second = _PER_SECOND[received.type.unit]  # INT96 reads as ns, TIMESTAMP_MICROS as us (UTC both)
            receipts.append(received.cast("int64").to_numpy(zero_copy_only=False) / per_second)
            delays.append(visible[version] - receipts[-1])
    if not delays:
        return np.array([]), np.array([])
    return np.concatenate(receipts), np.concatenate(delays)


def _bar_delays(reports: list[BatchReport], receipts: np.ndarray, delays: np.ndarray) -> np.ndarray:
    """Seconds from each silver trade's receipt to the bars commit of its batch (each batch refreshes the bars of
    every minute it touched, so that commit is when the trade's minute reflects it)."""
    lag = {r.silver_visible_at: r.bars_visible_at - r.silver_visible_at
           for r in reports if r.silver_visible_at and r.bars_visible_at}
    if not delays.size:
        return np.array([])
    visible = receipts + delays  # each trade's silver commit time
    extra = np.array([lag.get(v, np.nan) for v in visible])
    return (delays + extra)[~np.isnan(extra)]


def delay_growth(receipts: np.ndarray, delays: np.ndarray, started: float, stopped: float) -> float | None:
    """Median delay of the trades received in the run's last third minus that of its first third."""
    third = (stopped - started) / 3
    first, last = delays[receipts < started + third], delays[receipts >= stopped - third]
    if not first.size or not last.size:
        return None
    return round(float(np.median(last) - np.median(first)), 2)


def measure(lake: Lake, settings: KafkaSettings, rate: int, seconds: float, trigger_s: float, score: bool = False,
            symbols: list[str] = SYMBOLS, resumes: bool = False) -> dict:
    """One rate on `lake`; `resumes`: the lake's checkpoint already took what the topic holds."""
    backlog = 0 if resumes else record_count(settings, FINNHUB_TRADES)  # a fresh lake takes the topic from its start
    reports: list[BatchReport] = []
    stream = start_stream(lake, StreamConfig(trigger_seconds=trigger_s, score=score), on_batch=reports.append)
    try:
        warm_up = _produce(settings, 100, 2.0, seed=1, symbols=symbols)  # JIT, Python workers, what the topic held
        _until_taken(backlog + warm_up.records, reports, stream)
        warm = len(reports)
        producer = _produce(settings, rate, seconds, symbols=symbols)
        _until_taken(backlog + warm_up.records + producer.records, reports, stream)
    finally:
        stream.stop()
    reports = reports[warm:]
    receipts, delays = _delays(lake, reports)
    visible_at = [r.silver_visible_at for r in reports if r.silver_visible_at]
    last_commit = max(visible_at) if visible_at else float("nan")
    in_silver = sum(r.tables.get(SILVER_TRADES.name, 0) for r in reports)
    quarantined = sum(r.tables.get(QUARANTINE.name, 0) for r in reports)  # e.g. identical prints in two frames
    batch_seconds = [r.seconds for r in reports if r.records]
    bar_delays = _bar_delays(reports, receipts, delays)
    growth = delay_growth(receipts, delays, producer.started_at, producer.stopped_at) if delays.size else None
    batch_mean = float(np.mean(batch_seconds)) if batch_seconds else 0.0
    busy = sum(batch_seconds)
    steps: dict[str, list[float]] = {}
    for r in reports:
        for step, step_s in r.step_seconds.items():
            steps.setdefault(step, []).append(step_s)
    return {
        "scenario": "stream", "target_trades_per_s": rate, "seconds": seconds, "trigger_s": trigger_s, "score": score,
        "trades_sent": producer.trades, "records_sent": producer.records,
        "records_untaken": producer.records - sum(r.records for r in reports), "backlog_records": backlog,
        "trades_in_silver": in_silver, "rows_quarantined": quarantined,
        "sustained_trades_per_s": round(in_silver / (last_commit - producer.started_at)) if visible_at else 0,
        "drain_after_writer_stop_s": round(last_commit - producer.stopped_at, 1) if visible_at else None,
        "trades_timed": int(delays.size),  # silver trades whose commit was found (should equal trades_in_silver)
        "delay_p50_s": round(float(np.percentile(delays, 50)), 2) if delays.size else None,
        "delay_p95_s": round(float(np.percentile(delays, 95)), 2) if delays.size else None,
        "delay_max_s": round(float(delays.max()), 2) if delays.size else None,
        "delay_growth_s": growth,
        "busy_s": round(busy, 1),
        "keeps_up": keeps_up(busy, seconds, batch_mean),
        "producer_trades_per_s": round(producer.trades / (producer.stopped_at - producer.started_at)),
        "batches": len(batch_seconds),
        "batch_mean_s": round(batch_mean, 2) if batch_seconds else None,
        "batch_p95_s": round(float(np.percentile(batch_seconds, 95)), 2) if batch_seconds else None,
        "batch_max_s": round(float(np.max(batch_seconds)), 2) if batch_seconds else None,
        "mean_step_s": ", ".join(f"{step} {np.mean(v):.2f}" for step, v in steps.items()),  # where a batch's time goes
        "spark_jobs_per_batch_mean": round(float(np.mean([r.spark_jobs for r in reports])), 1) if reports else None,
        "spark_jobs_per_batch_max": max((r.spark_jobs for r in reports), default=None),
        "commits_per_batch_mean": round(float(np.mean([r.commits for r in reports])), 1) if reports else None,
        "commits_per_batch_max": max((r.commits for r in reports), default=None),
        "bar_delay_p50_s": round(float(np.percentile(bar_delays, 50)), 2) if bar_delays.size else None,
        "bar_delay_p95_s": round(float(np.percentile(bar_delays, 95)), 2) if bar_delays.size else None,
        "producer_max_delivery_s": producer.publish.get("max_delivery_s"),
        "jvm_peak_heap_mib": jvm_peak_heap_mib(lake.spark),
    }


def keeps_up(busy_s: float, fed_s: float, batch_mean_s: float) -> bool:
    """The batches took no more time than the feed lasted, give or take the one in flight at its end."""
    return busy_s <= fed_s + batch_mean_s


def parse_plan(text: str) -> list[tuple[int, float]]:
    """"5000:300,10000:60" -> [(5000, 300.0), (10000, 60.0)]: trades/s and seconds to feed them."""
    try:
        plan = [(int(rate), float(seconds)) for rate, seconds in (pair.split(":") for pair in text.split(","))]
    except ValueError:
        raise ValueError(f"PULSELAKE_BENCH_STREAM_PLAN={text!r}: expected rate:seconds pairs, e.g. {DEFAULT_PLAN}")
    if not plan or any(rate <= 0 or seconds <= 0 for rate, seconds in plan):
        raise ValueError(f"PULSELAKE_BENCH_STREAM_PLAN={text!r}: rates and seconds must be positive")
    return plan


def run(spark, workdir: Path, sizes: list[int]) -> list[dict]:
    plan = parse_plan(os.environ.get("PULSELAKE_BENCH_STREAM_PLAN", DEFAULT_PLAN))
    trigger_s = float(os.environ.get("PULSELAKE_BENCH_STREAM_TRIGGER", "1"))
    scored_rate, scored_s = plan[0][0], float(os.environ.get("PULSELAKE_BENCH_STREAM_SCORED", SCORED_SECONDS))
    results = []
    with kafka_for_bench(workdir) as local:
        where = {"kafka": "local broker" if local else "KAFKA_BOOTSTRAP_SERVERS"}
        for rate, seconds in plan:
            with _topics_of_its_own(f"bench{rate}." if local else None) as settings:
                lake = Lake(spark, Settings(lake_root=str(workdir / f"stream_{rate}"),
                                            spark_master=spark.sparkContext.master))
                results.append(measure(lake, settings, rate, seconds, trigger_s) | where)
        if scored_s <= 0:
            return results
        # Live scoring on and off at the first rate, on a lake with a trained intraday model and the model's symbols
        lake = Lake(spark, Settings(lake_root=str(workdir / "stream_scored"), spark_master=spark.sparkContext.master))
        with _model_for_bench(lake, workdir) as symbols:
            with _topics_of_its_own(f"bench{scored_rate}.scored." if local else None) as settings:
                for score in (False, True):  # one checkpoint: the second run takes up where the first stopped
                    started = time.time()
                    row = measure(lake, settings, scored_rate, scored_s, trigger_s, score=score, symbols=symbols,
                                  resumes=score)
                    results.append(row | where | {"scenario": "stream_scoring"} | _prediction_delays(lake, started))
    return results


SCORED_SECONDS = 120  # two minutes or more: predictions are made as minutes close
_BENCH_MODEL = """name = "bench_intraday"
seed = 3
window = 5
horizon_minutes = 5
use_sentiment = false

[network]
units = 8
embedding_dim = 2
epochs = 1
batch_size = 256

[walk_forward]
min_train_days = 2
retrain_every = 1
max_folds = 1
"""


@contextmanager
def _model_for_bench(lake: Lake, workdir: Path) -> Iterator[list[str]]:
    """A small intraday model trained on four replayed days of real symbols, and today's bars of the last 15
    minutes for them (so a window of bars exists from the first minute on); yields the symbols."""
    from datetime import datetime, timedelta, timezone

    import pyarrow as pa

    from jobs.models.steps import train_intraday
    from jobs.local.replay.intraday import day_trades, trading_days
    from jobs.trades.bars import bars_of_minutes
    from jobs.window import Window
    from lake_schema.trades import BARS_1M

    symbols = ["AAPL", "MSFT", "JPM", "XOM", "GE"]  # bundled symbols with bars on each of those days
    trades = [{"trade_key": n, "symbol": t.symbol, "price": t.price, "volume": float(t.volume),
               "trade_ts": datetime.fromtimestamp(t.t_ms / 1000, timezone.utc)}
              for day in trading_days()[-4:] for n, t in enumerate(day_trades(symbols, day, 390), start=day.toordinal() * 10**6)]
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    trades += [{"trade_key": -(m * 10 + i), "symbol": s, "price": 50.0 + i + m / 100, "volume": 10.0,
                "trade_ts": now - timedelta(minutes=m)} for m in range(1, 16) for i, s in enumerate(symbols)]
    table = pa.Table.from_pylist(trades)
    lake.append_rows(BARS_1M, bars_of_minutes(table, table))
    config = workdir / "bench_intraday.toml"
    config.write_text(_BENCH_MODEL)
    before = os.environ.get("PULSELAKE_INTRADAY_CONFIG")
    os.environ["PULSELAKE_INTRADAY_CONFIG"] = str(config)
    try:
        trained = train_intraday(lake, Window.latest(now, source="bench"))
        if not trained.tables:
            raise RuntimeError(f"the bench's intraday model did not train: {trained.notes}")
        yield symbols
    finally:
        if before is None:
            os.environ.pop("PULSELAKE_INTRADAY_CONFIG", None)
        else:
            os.environ["PULSELAKE_INTRADAY_CONFIG"] = before


def _prediction_delays(lake: Lake, since: float) -> dict:
    """Seconds from a bar's close to the prediction made from it (scored_at - predicted_at: the prediction at
    minute M reads the bars closed by M), for the minutes that began after `since` (not the warm-up's, whose
    scoring loads the model)."""
    import pandas as pd

    from lake_schema.models import LIVE_PREDICTIONS

    made = lake.read_small(LIVE_PREDICTIONS, columns=["predicted_at", "scored_at"])
    made = made[made.predicted_at > pd.Timestamp(since, unit="s", tz="UTC")]
    if made.empty:
        return {"predictions": 0}
    delay = (made.scored_at - made.predicted_at).dt.total_seconds().to_numpy()
    return {"predictions": len(made), "prediction_delay_p50_s": round(float(np.percentile(delay, 50)), 2),
            "prediction_delay_p95_s": round(float(np.percentile(delay, 95)), 2)}
