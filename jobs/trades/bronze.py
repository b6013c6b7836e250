"""Bronze trades: Finnhub websocket frames from Kafka (`finnhub.trades`) -> one row per trade.

Each record's value is the frame exactly as the collector received it. A value
that is not a JSON object is quarantined as `invalid_json`, an object that is not
a trade frame as `not_a_trade_frame`; a trade without symbol, price or time, with
a time outside 1970..9999, or with a volume or conditions that cannot be read,
as `bad_trade`. Every row, kept or quarantined, carries its record's topic,
partition and offset. Which records a batch holds is Spark's Kafka source's
business (`jobs.ingest.consume`); this module is pure.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.ingest.records import KAFKA_COLUMNS, record_key
from jobs.quality import DETAIL, REASON, in_time_range, to_quarantine
from lake_schema.trades import BRONZE_TRADES

_FRAME = "type STRING, data ARRAY<STRUCT<s: STRING, p: DOUBLE, t: BIGINT, v: DOUBLE, c: ARRAY<STRING>>>"
# The optional fields once more as text, to tell a value that is absent from one sent but unreadable.
_SENT = "data ARRAY<STRUCT<v: STRING, c: STRING>>"


def _trade_rows(records: DataFrame) -> DataFrame:
    """One row per trade of each record (bronze.trades columns, with `value`), and one per record that is not a
    trade frame; a row that is refused carries its `reason` and `detail`. Pure; one pass over the records."""
    frames = records.withColumn("_f", F.from_json("value", _FRAME)).withColumn("_sent", F.from_json("value", _SENT))
    frame_problem = F.coalesce(
        F.when(F.json_object_keys("value").isNull(), F.lit("invalid_json")),
        F.when((F.coalesce(F.col("_f.type"), F.lit("")) != "trade") | (F.coalesce(F.size("_f.data"), F.lit(0)) < 1),
               F.lit("not_a_trade_frame")),
    )
    rows = frames.withColumn("_frame_problem", frame_problem).select(
        *KAFKA_COLUMNS, "value", "received_at", "_sent", "_frame_problem",
        F.posexplode_outer(F.when(F.col("_frame_problem").isNull(), F.col("_f.data"))).alias("position", "trade"),
    ).withColumn("sent", F.get(F.col("_sent.data"), F.col("position")))
    trade_problem = F.coalesce(
        F.when(F.coalesce(F.trim(F.col("trade.s")), F.lit("")) == "", F.lit("no symbol (s)")),
        F.when(F.col("trade.p").isNull(), F.lit("no numeric price (p)")),
        F.when(F.col("trade.t").isNull(), F.lit("no integer time (t)")),
        F.when(~in_time_range(F.col("trade.t")), F.lit("time (t) outside 1970..9999")),
        F.when(F.col("trade.v").isNull() & F.col("sent.v").isNotNull(), F.lit("volume (v) is not a number")),
        F.when(F.col("trade.c").isNull() & F.col("sent.c").isNotNull(), F.lit("conditions (c) is not a list")),
    )
    frame = F.col("_frame_problem")
    trade_ts = F.timestamp_millis(F.col("trade.t"))
    return rows.select(
        F.sha2(F.concat_ws(":", record_key(), F.col("position").cast("string")), 256).alias("record_id"),
        F.upper(F.trim(F.col("trade.s"))).alias("symbol"),
        F.col("trade.p").alias("price"),
        F.col("trade.v").alias("volume"),
        trade_ts.alias("trade_ts"),
        F.col("trade.c").alias("conditions"),
        "received_at", *KAFKA_COLUMNS,
        F.to_date(trade_ts).alias("trade_date"),
        "value",
        F.coalesce(frame, F.when(trade_problem.isNotNull(), F.lit("bad_trade"))).alias(REASON),
        F.when(frame == "invalid_json", F.lit("the value is not a JSON object"))
        .when(frame.isNotNull(), F.lit("the frame is not {type: trade, data: [...]}"))
        .otherwise(F.concat(trade_problem, F.lit(" at data["), F.col("position").cast("string"), F.lit("]")))
        .alias(DETAIL),
    )


def parse_trade_records(records: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(bronze.trades rows, rejected records/trades with `reason` and `detail`). Pure."""
    rows = _trade_rows(records)
    refused = F.col(REASON).isNotNull()
    return (rows.where(~refused).select(*BRONZE_TRADES.column_names),
            rows.where(refused).select(*KAFKA_COLUMNS, "value", "received_at", REASON, DETAIL))


def quarantined_records(rejected: DataFrame, label: str) -> DataFrame:
    """Rejected records shaped for bronze.quarantine: the raw value, its reason and its Kafka coordinates."""
    return to_quarantine(rejected.withColumn("ingest_date", F.to_date("received_at")), target=BRONZE_TRADES,
                         batch=F.lit(label), record_columns=["value"], record_key=record_key())
