"""How far behind Kafka each bronze table is: per topic, records retained, taken, waiting, and the newest one's age.

What bronze has taken is what Spark committed in the sink's checkpoint (`jobs.ingest.checkpoint`). The newest record's age comes from the
broker (the timestamp of each partition's last record).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable

from jobs.ingest.checkpoint import committed
from jobs.ingest.consume import TopicSink, checkpoint_location
from jobs.resources.kafka_admin import end_offsets
from jobs.resources.kafka import KafkaSettings
from jobs.resources.lake import Lake


@dataclass(frozen=True)
class TopicLag:
    topic: str
    table: str
    retained: int  # records the topic holds now
    waiting: int  # records after the checkpoint's committed offsets: the consumer lag
    newest_age_s: float | None  # seconds since the newest record was produced; None for an empty topic


def committed_offsets(lake: Lake, sink: TopicSink) -> dict[int, int]:
    """{partition: next offset to take} from the newest committed batch of the sink's checkpoint ({} if none)."""
    taken = committed(checkpoint_location(lake, sink), lake.settings.storage_options)
    return taken.offsets if taken else {}


def newest_record_age(kafka: KafkaSettings, topic: str, ends: dict[int, tuple[int, int]]) -> float | None:
    """Seconds since the newest record of the topic (physical name) was produced, over its partitions."""
    from confluent_kafka import Consumer, TopicPartition

    last = [TopicPartition(topic, p, high - 1) for p, (low, high) in ends.items() if high > low]
    if not last:
        return None
    consumer = Consumer({**kafka.client_config(), "group.id": "pulselake-status", "enable.auto.commit": False})
    try:
        consumer.assign(last)
        newest, deadline = 0, time.monotonic() + 10
        for _ in last:
            msg = consumer.poll(max(0.1, deadline - time.monotonic()))
            if msg is not None and msg.error() is None:
                newest = max(newest, msg.timestamp()[1])
        return round(time.time() - newest / 1000, 1) if newest else None
    finally:
        consumer.close()


def topic_lags(lake: Lake, kafka: KafkaSettings, sinks: Iterable[TopicSink], timeout_s: float = 15.0) -> list[TopicLag]:
    lags = []
    for sink in sinks:
        topic = kafka.topic(sink.topic)
        ends = end_offsets(kafka.client_config(), topic, timeout_s)
        taken = committed_offsets(lake, sink)
        waiting = sum(high - max(low, taken.get(p, low)) for p, (low, high) in ends.items())
        lags.append(TopicLag(topic, sink.table.name, sum(high - low for low, high in ends.values()), waiting,
                             newest_record_age(kafka, topic, ends)))
    return lags
