"""Collectors hand every record to Kafka here: idempotent, acknowledged by all replicas, bounded.

A record is *accepted* when librdkafka queues it; the producer then delivers it,
retrying through a broker that is down or slow, in order and without duplicates
(`enable.idempotence`). The queue is the collector's buffer: when it is full,
`offer` says so and the collector stops reading its source (TCP pushes back)
instead of growing memory. Records are never expired (`message.timeout.ms=0`):
a broker that comes back gets everything; one that never does leaves records
undelivered, which `close` reports as an error. The summary counts what was
delayed (waited for room, or delivered more than a second after it was accepted).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from confluent_kafka import Producer

from jobs.ingest.topics import ALL_TOPICS, RECEIVED_AT_HEADER, SOURCE_HEADER
from jobs.resources.kafka import MAX_RECORD_BYTES, KafkaSettings
from jobs.resources.kafka_admin import ensure_topics

DELAYED_AFTER_S = 1.0
log = logging.getLogger(__name__)


class PublishError(RuntimeError):
    """Records the collector accepted did not reach Kafka."""


@dataclass
class PublishStats:
    accepted: Counter = field(default_factory=Counter)  # by topic
    delivered: Counter = field(default_factory=Counter)  # by topic
    failed: Counter = field(default_factory=Counter)  # by error name
    buffer_full_waits: int = 0
    delayed: int = 0  # delivered more than DELAYED_AFTER_S after acceptance
    max_delivery_s: float = 0.0

    @property
    def undelivered(self) -> int:
        return sum(self.accepted.values()) - sum(self.delivered.values()) - sum(self.failed.values())

    def summary(self) -> dict[str, Any]:
        return {"accepted": dict(self.accepted), "delivered": dict(self.delivered), "failed": dict(self.failed),
                "undelivered": self.undelivered, "buffer_full_waits": self.buffer_full_waits,
                "delayed": self.delayed, "max_delivery_s": round(self.max_delivery_s, 3)}


def iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Publisher:
    def __init__(self, settings: KafkaSettings, source: str, *, buffer_records: int = 100_000,
                 linger_ms: int = 20, topics: tuple[str, ...] = ALL_TOPICS) -> None:
        """Creates `topics` where missing (the project's brokers refuse auto-creation)."""
        self.source = source
        self.stats = PublishStats()
        self._topic = settings.topic
        ensure_topics(settings.client_config(), [settings.topic(t) for t in topics], partitions=settings.partitions)
        self._producer = Producer({
            **settings.client_config(), "client.id": f"pulselake-{source}",
            "enable.idempotence": True, "acks": "all", "message.timeout.ms": 0,
            "linger.ms": linger_ms, "compression.type": "lz4", "message.max.bytes": MAX_RECORD_BYTES,
            "queue.buffering.max.messages": buffer_records, "queue.buffering.max.kbytes": 1 << 20,
        }, logger=log)  # librdkafka's retries (a broker down, a coordinator loading) go to logging, not stderr

    def offer(self, topic: str, key: str | None, value: str | bytes, received_at: datetime) -> bool:
        """Queue one record; False (nothing queued) when the buffer is full: wait, then offer it again."""
        headers = [(RECEIVED_AT_HEADER, iso(received_at)), (SOURCE_HEADER, self.source)]
        try:
            self._producer.produce(self._topic(topic), value=value, key=key, headers=headers, on_delivery=self._delivered)
        except BufferError:
            self.stats.buffer_full_waits += 1
            self._producer.poll(0)
            return False
        self.stats.accepted[topic] += 1
        self._producer.poll(0)  # run delivery callbacks
        return True

    def send(self, topic: str, key: str | None, value: str | bytes, received_at: datetime) -> None:
        """`offer`, waiting while the buffer is full (for callers without an event loop)."""
        while not self.offer(topic, key, value, received_at):
            self._producer.poll(0.1)

    def poll(self, timeout_s: float = 0.0) -> None:
        self._producer.poll(timeout_s)

    def flush(self, timeout_s: float = 60.0) -> int:
        """Wait for delivery; returns how many records are still undelivered."""
        deadline = time.monotonic() + timeout_s
        while self._producer.flush(max(0.0, min(1.0, deadline - time.monotonic()))) and time.monotonic() < deadline:
            pass
        return self.stats.undelivered

    def close(self, timeout_s: float = 60.0) -> PublishStats:
        """Flush; raise PublishError when anything accepted was not delivered."""
        left = self.flush(timeout_s)
        if left or self.stats.failed:
            raise PublishError(f"{left} records not delivered to Kafka within {timeout_s:.0f} s"
                               + (f", {sum(self.stats.failed.values())} refused ({dict(self.stats.failed)})"
                                  if self.stats.failed else "")
                               + "; is the broker up (KAFKA_BOOTSTRAP_SERVERS)?")
        return self.stats

    def _delivered(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.stats.failed[err.name()] += 1
            return
        self.stats.delivered[msg.topic().removeprefix(self._topic(""))] += 1
        latency = msg.latency() or 0.0
        self.stats.max_delivery_s = max(self.stats.max_delivery_s, latency)
        if latency > DELAYED_AFTER_S:
            self.stats.delayed += 1


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
