"""Admin-side Kafka calls: creating topics (and waiting until they can be used) and reading their offsets.

A resource at the boundary: the collectors, the lake's jobs, the test broker and the benchmarks share it.
"""

from __future__ import annotations

import time
from typing import Any, Iterable, Mapping

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_fixed


def ensure_topics(client_config: dict[str, Any], names: Mapping[str, int] | Iterable[str],
                  partitions: int = 3, timeout_s: float = 30.0) -> list[str]:
    """Create the topics that do not exist yet (brokers here refuse auto-creation), names -> partitions or
    names with `partitions` each; returns those created, once every partition of theirs has a leader (until
    then a client asking for offsets is told NOT_LEADER_FOR_PARTITION)."""
    admin = AdminClient(client_config)
    sizes = dict(names) if isinstance(names, Mapping) else dict.fromkeys(names, partitions)
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    wanted = [NewTopic(name, num_partitions=n, replication_factor=-1) for name, n in sizes.items()
              if name not in existing]
    created = []
    futures = admin.create_topics(wanted, operation_timeout=timeout_s, request_timeout=timeout_s) if wanted else {}
    # future.exception(), not result(): a raised-and-caught error would tie this frame (and the client, which
    # keeps reconnecting and logging) into a reference cycle that outlives the call.
    for name, future in futures.items():
        error = future.exception(timeout=timeout_s + 5)
        if error is None:
            created.append(name)
        elif error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:  # another process created it meanwhile
            raise KafkaException(error.args[0])
    for name in created:
        _wait_for_leaders(admin, name, timeout_s)
    return created


def _wait_for_leaders(admin: AdminClient, topic: str, timeout_s: float) -> None:
    """Block until the topic's metadata shows a leader for every partition."""
    deadline = time.monotonic() + timeout_s
    while True:
        metadata = admin.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if (metadata is not None and metadata.error is None and metadata.partitions
                and all(p.leader >= 0 and p.error is None for p in metadata.partitions.values())):
            return
        if time.monotonic() > deadline:
            raise KafkaException(KafkaError(KafkaError.LEADER_NOT_AVAILABLE,
                                            f"topic {topic} has partitions without a leader after {timeout_s:.0f} s"))
        time.sleep(0.1)


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


# Answers a partition gives while its leadership settles (a topic created a moment ago, a busy broker). The client
# does not mark every one of them retriable, so they are named.
_SETTLING = {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE, KafkaError.UNKNOWN_TOPIC_OR_PART,
             KafkaError._TIMED_OUT}


def _settling(error: BaseException) -> bool:
    return isinstance(error, KafkaException) and (error.args[0].retriable() or error.args[0].code() in _SETTLING)


def _watermarks(consumer: Any, partition: Any, timeout_s: float) -> tuple[int, int]:
    """A partition's (low, high) offsets, asked again (each ask bounded to a few seconds) for up to `timeout_s`
    while the partition's leadership settles."""
    retrying = Retrying(retry=retry_if_exception(_settling), stop=stop_after_delay(timeout_s), wait=wait_fixed(0.2),
                        reraise=True)
    return retrying(consumer.get_watermark_offsets, partition, timeout=min(timeout_s, 5.0))
