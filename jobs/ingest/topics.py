"""The Kafka topics between the collectors and the lake, and creating them.

Keys: the symbol for Finnhub records, the thing's id for Reddit's. The value is the
record exactly as received; headers carry when it was received and by which collector.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_fixed

if TYPE_CHECKING:
    from jobs.resources.kafka import KafkaSettings

FINNHUB_TRADES = "finnhub.trades"  # websocket frames, verbatim
FINNHUB_QUOTES = "finnhub.quotes"  # REST answers, verbatim
FINNHUB_PROFILES = "finnhub.profiles"
FINNHUB_CANDLES = "finnhub.candles"
REDDIT_POSTS = "reddit.posts"
REDDIT_COMMENTS = "reddit.comments"
ALL_TOPICS = (FINNHUB_TRADES, FINNHUB_QUOTES, FINNHUB_PROFILES, FINNHUB_CANDLES, REDDIT_POSTS, REDDIT_COMMENTS)

RECEIVED_AT_HEADER = "received_at"
SOURCE_HEADER = "source"


def ensure_topics(client_config: dict[str, Any], names: Iterable[str] = ALL_TOPICS, partitions: int = 3,
                  timeout_s: float = 30.0) -> list[str]:
    """Create the topics that do not exist yet (brokers here refuse auto-creation); returns those created."""
    admin = AdminClient(client_config)
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    wanted = [NewTopic(name, num_partitions=partitions, replication_factor=-1) for name in names if name not in existing]
    created = []
    for name, future in (admin.create_topics(wanted, request_timeout=timeout_s).items() if wanted else []):
        try:
            future.result(timeout=timeout_s)
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":  # another process created it meanwhile
                raise
    return created


def end_offsets(client_config: dict[str, Any], topic: str, timeout_s: float = 15.0) -> dict[int, tuple[int, int]]:
    """{partition: (first offset, next offset)} of a topic; {} when it does not exist."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({**client_config, "group.id": "pulselake-offsets", "enable.auto.commit": False})
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return {}
        return {p: _watermarks(consumer, TopicPartition(topic, p), timeout_s) for p in sorted(metadata.partitions)}
    finally:
        consumer.close()


def _watermarks(consumer: Any, partition: Any, timeout_s: float) -> tuple[int, int]:
    """A partition's (low, high) offsets; retried while the error is retriable (a topic created a moment ago
    answers NOT_LEADER_FOR_PARTITION until its leader is elected)."""
    retrying = Retrying(retry=retry_if_exception(lambda e: isinstance(e, KafkaException) and e.args[0].retriable()),
                        stop=stop_after_delay(timeout_s), wait=wait_fixed(0.2), reraise=True)
    return retrying(consumer.get_watermark_offsets, partition, timeout=timeout_s)


def record_count(settings: "KafkaSettings", name: str) -> int:
    """Records the topic (`name` before the prefix) retains now."""
    return sum(high - low for low, high in end_offsets(settings.client_config(), settings.topic(name)).values())
