"""Kafka records as `jobs.ingest.records.kafka_records` hands them to the parsers, built in tests."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import datetime, timezone

RECORDS_DDL = ("kafka_topic STRING, kafka_partition INT, kafka_offset BIGINT, kafka_key STRING, value STRING, "
               "received_at TIMESTAMP, source STRING")
RECEIVED = datetime(2024, 3, 4, 15, 30, 0, 123456, tzinfo=timezone.utc)


def records(spark, values: list[str], topic: str = "finnhub.trades", received_at: datetime = RECEIVED,
            keys: list[str | None] | None = None):
    """One record per value in partition 0, offsets 1, 2, ... (so an offset reads as a 1-based position)."""
    keys = keys or [None] * len(values)
    return spark.createDataFrame([(topic, 0, i + 1, k, v, received_at, "test")
                                  for i, (k, v) in enumerate(zip(keys, values))], RECORDS_DDL)


def read_topic(settings, topic: str) -> dict[tuple[int, int], tuple[str | None, str, dict]]:
    """{(partition, offset): (key, value, headers)} of everything the topic (name before the prefix) holds."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    from jobs.resources.kafka_admin import end_offsets

    topic = settings.topic(topic)
    offsets = end_offsets(settings.client_config(), topic)
    consumer = Consumer({**settings.client_config(), "group.id": f"check-{uuid.uuid4().hex}",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in offsets])
    wanted, out = sum(high - low for low, high in offsets.values()), {}
    try:
        while len(out) < wanted:
            msg = consumer.poll(10)
            assert msg is not None and msg.error() is None, msg and msg.error()
            out[(msg.partition(), msg.offset())] = (msg.key().decode() if msg.key() else None,
                                                    msg.value().decode(), dict(msg.headers() or []))
    finally:
        consumer.close()
    return out


@contextmanager
def kafka_environment(broker):
    """The broker's address and login as the environment (what collectors, steps and subprocesses read), with
    topics of their own (a fresh KAFKA_TOPIC_PREFIX); yields the KafkaSettings. The environment is restored after."""
    from jobs.resources.kafka import kafka_environment as environment

    config = broker.client_config()
    with environment({"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "KAFKA_SASL_USERNAME": config["sasl.username"],
                      "KAFKA_SASL_PASSWORD": config["sasl.password"],
                      "KAFKA_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:10]}."}) as settings:
        yield settings
