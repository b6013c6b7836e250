"""Run the real collector against the real replay server over loopback, bounded in time, into a real Kafka
broker; and read back what a test produced.

Topics persist for the whole test session (one broker), so a test either has topics of its own (the `kafka`
fixture gives every test its own topic prefix) or measures what it added: `marks` before, `read_records(...,
since=marks)` after.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from jobs.ingest.finnhub_ws import CollectorStats, FinnhubTradeCollector, classify_frame
from jobs.ingest.publish import Publisher
from jobs.ingest.topics import FINNHUB_TRADES
from jobs.local.replay.finnhub_ws import FinnhubReplayConfig, FinnhubReplayThread
from jobs.resources.kafka import KafkaSettings
from jobs.resources.kafka_admin import end_offsets

API_KEY = "test-key-123"
log = logging.getLogger(__name__)
WS_SOURCE = "finnhub-ws"


@dataclass(frozen=True)
class Record:
    """One Kafka record as a consumer reads it back: coordinates, key, value bytes and headers."""

    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: dict[str, bytes]

    @property
    def text(self) -> str:
        return self.value.decode("utf-8", errors="replace")


def broker_settings(broker: Any, prefix: str | None = None) -> KafkaSettings:
    """KafkaSettings for `broker` (a `KafkaBroker`) with topics of their own (a fresh prefix unless given):
    for module-scoped and property tests, which cannot take the function-scoped `kafka` fixture."""
    config = broker.client_config()
    return KafkaSettings(bootstrap_servers=broker.bootstrap, sasl_username=config["sasl.username"],
                         sasl_password=config["sasl.password"],
                         topic_prefix=prefix if prefix is not None else f"t{uuid.uuid4().hex[:10]}.")


def kafka_env(settings: KafkaSettings) -> dict[str, str]:
    """The environment that points a `python -m jobs.cli ingest ...` process at `settings`' broker and topics."""
    config = settings.client_config()
    return {"KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap, "KAFKA_SASL_USERNAME": config["sasl.username"],
            "KAFKA_SASL_PASSWORD": config["sasl.password"], "KAFKA_TOPIC_PREFIX": settings.topic_prefix}


def marks(settings: KafkaSettings, name: str) -> dict[int, int]:
    """{partition: next offset} of the topic (`name` before the prefix) now: where a test's records start."""
    return {p: high for p, (_, high) in end_offsets(settings.client_config(), settings.topic(name)).items()}


def read_records(settings: KafkaSettings, name: str, since: dict[int, int] | None = None,
                 timeout_s: float = 30.0) -> list[Record]:
    """Every record the topic (`name` before the prefix) holds past `since` (default: all), by partition and offset."""
    topic = settings.topic(name)
    offsets = end_offsets(settings.client_config(), topic)
    starts = {p: max(low, (since or {}).get(p, low)) for p, (low, _) in offsets.items()}
    wanted = sum(high - starts[p] for p, (_, high) in offsets.items())
    records: dict[tuple[int, int], Record] = {}
    if wanted:
        consumer = Consumer({**settings.client_config(), "group.id": f"check-{uuid.uuid4().hex}",
                             "enable.auto.commit": False}, logger=log)  # librdkafka's chatter to logging
        consumer.assign([TopicPartition(topic, p, starts[p]) for p in offsets if offsets[p][1] > starts[p]])
        deadline = time.monotonic() + timeout_s
        try:
            while len(records) < wanted:
                assert time.monotonic() < deadline, f"read {len(records)} of {wanted} records of {topic}"
                msg = consumer.poll(1)
                if msg is None:
                    continue
                assert msg.error() is None, msg.error()
                if msg.offset() >= offsets[msg.partition()][1]:
                    continue  # produced after we looked: not this read's
                records[(msg.partition(), msg.offset())] = Record(
                    msg.partition(), msg.offset(), msg.key().decode() if msg.key() is not None else None,
                    msg.value() or b"", {k: v for k, v in (msg.headers() or [])})
        finally:
            consumer.close()
    return [records[k] for k in sorted(records)]


def trade_key(trade: dict) -> tuple:
    return (trade["s"], trade["t"], trade["p"], trade["v"])


def frames_of(records: list[Record]) -> tuple[list[list[dict]], list[Record]]:
    """(the trades of each good trade frame, the records that are none), in the records' order."""
    frames, others = [], []
    for record in records:
        if classify_frame(record.value)[0] == "trade":
            frames.append(json.loads(record.value)["data"])
        else:
            others.append(record)
    return frames, others


def kafka_trades(settings: KafkaSettings, since: dict[int, int] | None = None) -> list[dict]:
    """Every trade the finnhub.trades records past `since` hold (one entry per trade: a doubled frame shows)."""
    frames, _ = frames_of(read_records(settings, FINNHUB_TRADES, since))
    return [trade for frame in frames for trade in frame]


def assert_same_trades(got: list[dict], sent: list[dict]) -> None:
    """Exactly the trades the server sent, each once."""
    assert len(got) == len(set(map(trade_key, got))), "a trade reached Kafka twice"
    missing = Counter(map(trade_key, sent)) - Counter(map(trade_key, got))
    extra = Counter(map(trade_key, got)) - Counter(map(trade_key, sent))
    assert not missing and not extra, f"{sum(missing.values())} trades missing, {sum(extra.values())} never sent"


def assert_symbol_order_kept(records: list[Record], sent: list[dict]) -> None:
    """Each record is keyed by its first trade's symbol, and the frames of one key lie in one partition in the
    order the server sent them (Kafka keeps order per partition only)."""
    position = {trade_key(t): i for i, t in enumerate(sent)}
    last: dict[str, int] = {}
    partition_of: dict[str, int] = {}
    for record in records:  # by partition, then offset
        frame = json.loads(record.value)
        assert record.key == frame["data"][0]["s"].upper(), (record.key, record.text[:200])
        assert partition_of.setdefault(record.key, record.partition) == record.partition, f"{record.key} split"
        first = position[trade_key(frame["data"][0])]
        assert first > last.get(record.key, -1), f"{record.key}: frames out of order at offset {record.offset}"
        last[record.key] = first


def collect_from_replay(target: KafkaSettings | Publisher, config: FinnhubReplayConfig, symbols: list[str],
                        timeout_s: float = 30.0, backoff: tuple[float, float] = (0.05, 0.5),
                        **collector_kwargs) -> tuple[CollectorStats, list[dict], object]:
    """Stream until the server has replayed everything, stop the collector (it waits for Kafka's acks), return
    (stats, sent trades, server). `target`: a Publisher, or the settings to make one (source `finnhub-ws`)."""
    publisher = target if isinstance(target, Publisher) else Publisher(target, WS_SOURCE, topics=(FINNHUB_TRADES,))
    with FinnhubReplayThread(config) as server:
        collector = FinnhubTradeCollector(server.url, API_KEY, symbols, publisher, backoff_initial_s=backoff[0],
                                          backoff_max_s=backoff[1], **collector_kwargs)

        async def run() -> CollectorStats:
            stop = asyncio.Event()
            task = asyncio.create_task(collector.run(stop))
            deadline = time.monotonic() + timeout_s
            while not server.finished.is_set():
                assert time.monotonic() < deadline, "replay did not finish in time"
                assert not task.done(), f"collector ended early: {task.exception() if task.done() else ''}"
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # frames in flight on loopback
            stop.set()
            return await asyncio.wait_for(task, timeout=60)

        stats = asyncio.run(run())
        return stats, list(server.sent), server
