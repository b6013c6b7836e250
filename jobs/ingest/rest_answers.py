"""Finnhub REST answers (quotes, profiles, candles) from Kafka -> their bronze tables, verbatim."""

from __future__ import annotations

import json
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.ingest.consume import TopicSink, parsed_sink, take
from jobs.ingest.records import KAFKA_COLUMNS, record_key
from jobs.ingest.topics import FINNHUB_CANDLES, FINNHUB_PROFILES, FINNHUB_QUOTES, record_count
from jobs.quality import DETAIL, REASON
from jobs.resources.kafka import get_kafka_settings
from jobs.resources.lake import Lake
from jobs.resources.ratelimit import TokenBucket
from jobs.sources.bundled import REPLAY_DAY, REPLAY_SYMBOLS
from jobs.steps import StepReport, timed
from jobs.window import Window
from lake_schema.finnhub_rest import BRONZE_FINNHUB_CANDLES, BRONZE_FINNHUB_PROFILES, BRONZE_FINNHUB_QUOTES


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


REST_SINKS: tuple[TopicSink, ...] = tuple(
    parsed_sink(topic, table, parse_rest_answers)
    for topic, table in ((FINNHUB_QUOTES, BRONZE_FINNHUB_QUOTES), (FINNHUB_PROFILES, BRONZE_FINNHUB_PROFILES),
                         (FINNHUB_CANDLES, BRONZE_FINNHUB_CANDLES)))


@timed
def collect_replay_rest(lake: Lake | None = None, window: Window | None = None, symbols: tuple[str, ...] = REPLAY_SYMBOLS,
                        candles_from: date = REPLAY_DAY.replace(day=1), candles_to: date = REPLAY_DAY) -> StepReport:
    """Quotes, profiles and daily candles of `symbols` from the embedded Finnhub REST server, through the real
    client, into their Kafka topics (skipped when finnhub.quotes already holds records)."""
    from jobs.ingest.finnhub_rest import FinnhubRest
    from jobs.ingest.publish import Publisher, utc_now
    from jobs.replay.finnhub_rest import FinnhubRestConfig, FinnhubRestFake

    report = StepReport("collect Finnhub REST answers (embedded server)")
    kafka = get_kafka_settings()
    if record_count(kafka, FINNHUB_QUOTES):
        report.skipped.append("finnhub.quotes already holds records; `pulselake ingest quote` fetches more")
    else:
        with FinnhubRestFake(FinnhubRestConfig(api_key="replay", candles_allowed=True)) as server:
            client, publisher = FinnhubRest("replay", server.url, bucket=TokenBucket(6_000, capacity=1)), Publisher(kafka, "finnhub-rest")
            for symbol in symbols:
                publisher.send(FINNHUB_QUOTES, symbol, json.dumps(client.quote(symbol)), utc_now())
                publisher.send(FINNHUB_PROFILES, symbol, json.dumps(client.profile(symbol)), utc_now())
                publisher.send(FINNHUB_CANDLES, symbol, json.dumps(client.candles(symbol, candles_from, candles_to)),
                               utc_now())
            publisher.close()
        report.notes.append(f"{len(symbols)} symbols x quote, profile, candles ({client.attempts} requests)")
    return report


def bronze_rest(lake: Lake, window: Window | None = None) -> StepReport:
    """Every REST answer record in Kafka that bronze has not taken yet."""
    report = take(lake, *REST_SINKS)
    report.step = "bronze Finnhub REST answers from Kafka"
    return report
