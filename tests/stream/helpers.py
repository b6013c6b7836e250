"""Seeded Finnhub websocket frames shaped like the collector's records, produced to Kafka's finnhub.trades,
and what one clean pass of the batch definitions makes of them."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from pyspark.sql import DataFrame, SparkSession

from jobs.ingest.finnhub_ws import frame_key
from jobs.ingest.publish import Publisher
from jobs.ingest.records import kafka_records
from jobs.ingest.topics import FINNHUB_TRADES
from jobs.resources.kafka import KafkaSettings
from jobs.trades.bronze import parse_trade_records
from jobs.trades.silver import build_bars_1m, build_silver_trades

START = datetime(2024, 3, 4, 14, 30, tzinfo=timezone.utc)
SYMBOLS = ("AAPL", "MSFT", "IBM")
INVALID_JSON = '{"type": "trade", "data": [{"s": "AAPL", "p": 1.'  # a frame cut short
PING = '{"type": "ping"}'  # valid JSON, not a trade frame
RECORDS_DDL = ("kafka_topic STRING, kafka_partition INT, kafka_offset BIGINT, kafka_key STRING, value STRING, "
               "received_at TIMESTAMP, source STRING")


@dataclass(frozen=True)
class Record:
    """One websocket frame as the collector hands it to Kafka: key (first symbol), raw text, receipt time."""

    value: str
    received: datetime

    @property
    def key(self) -> str | None:
        return frame_key(self.value)


def frame(trades: list[tuple[str, float, datetime, float]]) -> str:
    return json.dumps({"type": "trade", "data": [
        {"s": s, "p": p, "t": int(t.timestamp() * 1000), "v": v, "c": ["1"]} for s, p, t, v in trades]})


def synthetic_records(groups: int, seed: int = 1, frames_per_group: int = 6, trades_per_frame: int = 4,
                      start: datetime = START) -> list[list[Record]]:
    """`groups` groups of records, 20 s of exchange time each, with out-of-order trades (up to 90 s late),
    a frame of each group re-sent in the next, a frame cut short in group 1 (invalid_json) and a ping in
    group 2 (not_a_trade_frame): what a real feed and collector produce."""
    rng = random.Random(seed)
    out: list[list[Record]] = []
    prices = {s: 100.0 + 10 * i for i, s in enumerate(SYMBOLS)}
    for index in range(groups):
        base = start + timedelta(seconds=20 * index)
        group = []
        for n in range(frames_per_group):
            trades = []
            for _ in range(trades_per_frame):
                symbol = rng.choice(SYMBOLS)
                prices[symbol] = round(prices[symbol] + rng.uniform(-0.5, 0.5), 2)
                late = timedelta(seconds=rng.uniform(30, 90)) if rng.random() < 0.1 else timedelta(0)
                ts = base + timedelta(seconds=n * 3 + rng.uniform(0, 3)) - late
                trades.append((symbol, prices[symbol], ts, float(rng.randint(1, 500))))
            group.append(Record(frame(trades), base + timedelta(seconds=n * 3 + 3.2)))
        if out:  # the feed re-sends a frame: the same trades, received again later
            resent = rng.choice([r for r in out[-1] if r.key])
            group.insert(rng.randint(0, len(group)), Record(resent.value, base + timedelta(seconds=19)))
        if index == 1:
            group.append(Record(INVALID_JSON, base + timedelta(seconds=19.5)))
        if index == 2:
            group.insert(rng.randint(0, len(group)), Record(PING, base + timedelta(seconds=1)))
        out.append(group)
    return out


def distinct_trades(records: list[Record]) -> int:
    """Trades the records hold, counted in Python, independently of the lake: a trade is its content plus its
    place among identical trades of its own frame, so a re-sent frame adds nothing."""
    seen = set()
    for record in records:
        try:
            data = json.loads(record.value)
        except ValueError:
            continue
        if not isinstance(data, dict) or data.get("type") != "trade":
            continue
        copies: Counter = Counter()
        for t in data["data"]:
            content = (t["s"].upper(), t["t"], t["p"], t["v"], tuple(t["c"]))
            copies[content] += 1
            seen.add((content, copies[content]))
    return len(seen)


def produce(settings: KafkaSettings, records: list[Record]) -> int:
    """Send to finnhub.trades as the collector does (key: the first symbol; receipt time in a header)."""
    publisher = Publisher(settings, "test", topics=(FINNHUB_TRADES,), linger_ms=5)
    for record in records:
        publisher.send(FINNHUB_TRADES, record.key, record.value, record.received)
    publisher.close(60)
    return len(records)


def topic_records(spark: SparkSession, settings: KafkaSettings) -> DataFrame:
    """Everything finnhub.trades holds now, read in one batch: the records a clean pass would take."""
    raw = (spark.read.format("kafka").options(**settings.spark_options())
           .option("subscribe", settings.topic(FINNHUB_TRADES))
           .option("startingOffsets", "earliest").option("endingOffsets", "latest").option("includeHeaders", "true")
           .load())
    return kafka_records(raw).cache()


def records_frame(spark: SparkSession, records: list[Record], first_offset: int = 0) -> DataFrame:
    """The records as `kafka_records` would hand them over from partition 0 (no broker needed)."""
    return spark.createDataFrame(
        [(FINNHUB_TRADES, 0, first_offset + i, r.key, r.value, r.received, "test") for i, r in enumerate(records)],
        RECORDS_DDL)


def expected_tables(records: DataFrame) -> tuple[DataFrame, DataFrame, DataFrame]:
    """(bronze, silver, bars) the batch definitions give over all records at once."""
    bronze, _ = parse_trade_records(records)
    silver, _ = build_silver_trades(bronze)
    return bronze, silver, build_bars_1m(silver)


def expected_quarantine(records: DataFrame) -> Counter:
    """Reasons and counts the batch definitions reject over all records at once."""
    bronze, bad_records = parse_trade_records(records)
    _, rejected = build_silver_trades(bronze)
    return Counter(r.reason for r in bad_records.select("reason").unionByName(rejected.select("reason")).collect())


def rows(df: DataFrame, columns: list[str] | None = None) -> list[tuple]:
    """Every row as a tuple (floats rounded), sorted: for exact multiset comparison."""
    def norm(value):
        if isinstance(value, float):
            return round(value, 9)
        if isinstance(value, list):
            return tuple(value)
        return value

    selected = df.select(*(columns or df.columns))
    return sorted((tuple(norm(v) for v in r) for r in selected.collect()), key=repr)
