"""Kafka records as the lake sees them: coordinates, key, raw value, receipt time and source. Pure."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.ingest.topics import RECEIVED_AT_HEADER, SOURCE_HEADER
from jobs.quality import lake_time

KAFKA_COLUMNS = ["kafka_topic", "kafka_partition", "kafka_offset"]
def _header(name: str) -> Column:
    return F.element_at(F.filter("headers", lambda h: h["key"] == name), 1)["value"].cast("string")


def kafka_records(raw: DataFrame) -> DataFrame:
    """Spark's Kafka rows -> the record with its coordinates, receipt time (the collector's header, else
    the broker's timestamp) and source; the value stays exactly as produced."""
    received = F.coalesce(F.try_to_timestamp(_header(RECEIVED_AT_HEADER)), F.col("timestamp"))
    return raw.select(
        F.col("topic").alias("kafka_topic"), F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"), F.col("key").cast("string").alias("kafka_key"),
        F.col("value").cast("string").alias("value"), lake_time(received).alias("received_at"),
        _header(SOURCE_HEADER).alias("source"),
    )


def record_key() -> Column:
    """`topic:partition:offset`: where a bronze row or a quarantined record came from."""
    return F.concat_ws(":", *[F.col(c).cast("string") for c in KAFKA_COLUMNS])
