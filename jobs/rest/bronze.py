"""Finnhub REST answers as bronze rows: verbatim payloads keyed on their symbol, traced to their Kafka record."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.ingest.records import KAFKA_COLUMNS, record_key
from jobs.quality import DETAIL, REASON


def parse_rest_answers(records: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(answer rows, rejects): an answer needs its symbol (the key) and a JSON object as value. Pure."""
    problem = F.coalesce(
        F.when(F.coalesce(F.trim("kafka_key"), F.lit("")) == "", F.lit("the record has no symbol key")),
        F.when(F.json_object_keys("value").isNull(), F.lit("the value is not a JSON object")),
    )
    checked = records.withColumn(DETAIL, problem)
    rows = checked.where(F.col(DETAIL).isNull()).select(
        F.sha2(record_key(), 256).alias("record_id"), F.upper(F.trim("kafka_key")).alias("symbol"),
        F.col("value").alias("payload"), "received_at", *KAFKA_COLUMNS, F.to_date("received_at").alias("ingest_date"))
    rejected = checked.where(F.col(DETAIL).isNotNull()).select(
        *KAFKA_COLUMNS, "value", "received_at", F.lit("malformed_record").alias(REASON), DETAIL)
    return rows, rejected
