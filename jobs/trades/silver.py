"""Silver trades and 1-minute bars: the tick path's trusted layer.

A trade's identity is its content (symbol, exchange time, price, volume,
conditions) plus its position among identical trades in the same Kafka record:
two identical prints inside one frame are two trades, while the same frame
received twice (two records) is one. Repeats go to quarantine as `duplicate_record`; trades
breaking a lake_schema rule go there under the rule's name.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.ingest.records import KAFKA_COLUMNS
from jobs.quality import DETAIL, REASON, first_failed_rule, rule_text
from lake_schema.trades import BARS_1M, BRONZE_TRADES, SILVER_TRADES

_CONTENT = ("symbol", "trade_ts", "price", "volume", "conditions")


def _content() -> list[F.Column]:
    """A trade's content; missing conditions count as none, so a frame that omits them repeats one that sent []."""
    return [F.col(c) for c in _CONTENT[:-1]] + [F.coalesce("conditions", F.array().cast("array<string>"))]


def trade_key(occurrence: F.Column) -> F.Column:
    """A fixed-width 64-bit key over a trade's content and its `occurrence` among identical prints of its record.
    No cryptographic hash is needed: dedupe compares the content itself, and the key only names the trade."""
    return F.xxhash64(*_content(), occurrence)


def judge_trades(bronze: DataFrame) -> DataFrame:
    """Every bronze row with its `trade_key`, and a `reason` and `detail` when it is refused (NULL for the rows that
    are silver): a rule it breaks, or `duplicate_record` for a later copy of a trade. One frame, so a caller that
    writes both sides can evaluate it once.

    One shuffle: rows are hashed by their content, and both windows (a record's identical prints, then the copies
    of one trade across records) partition by that hash first, so each finds every row it compares in place.
    The windows still compare the content itself: a hash collision cannot merge two trades."""
    trades = bronze.select(*BRONZE_TRADES.column_names).withColumn("_content", F.xxhash64(*_content()))
    trades = trades.repartition("_content")
    same_print = Window.partitionBy("_content", *_content(), *KAFKA_COLUMNS).orderBy("record_id")
    trades = trades.withColumn("_occurrence", F.row_number().over(same_print))
    trades = trades.withColumn("trade_key", trade_key(F.col("_occurrence")))
    broken = first_failed_rule(SILVER_TRADES)
    first = Window.partitionBy("_content", *_content(), "_occurrence", broken.isNull()).orderBy(
        "received_at", *KAFKA_COLUMNS, "record_id")
    copy = F.row_number().over(first)
    reason = F.when(broken.isNotNull(), broken).when(copy > 1, F.lit("duplicate_record"))
    judged = trades.withColumn(REASON, reason)
    detail = F.when(F.col(REASON) == "duplicate_record", F.lit("the same trade arrived again in a later frame"))
    return judged.select(*BRONZE_TRADES.column_names, "trade_key", REASON,
                         F.coalesce(detail, rule_text(SILVER_TRADES)).alias(DETAIL))


def split_judged(judged: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(silver trades, refused rows with `reason` and `detail`) of a `judge_trades` frame."""
    silver = judged.where(F.col(REASON).isNull()).select(*SILVER_TRADES.column_names)
    return silver, judged.where(F.col(REASON).isNotNull())


def build_silver_trades(bronze: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Return (silver trades, rejected bronze rows with `reason` and `detail`)."""
    return split_judged(judge_trades(bronze))


def build_bars_1m(trades: DataFrame) -> DataFrame:
    """OHLCV bars per symbol and minute; open/close by exchange time (ties broken by key)."""
    minute = F.date_trunc("minute", "trade_ts")
    order = F.struct("trade_ts", "trade_key")
    bars = trades.groupBy("symbol", minute.alias("minute_start")).agg(
        F.min_by("price", order).alias("open"),
        F.max("price").alias("high"),
        F.min("price").alias("low"),
        F.max_by("price", order).alias("close"),
        F.sum("volume").alias("volume"),
        F.sum(F.col("price") * F.col("volume")).alias("_notional"),
        F.count(F.lit(1)).alias("trade_count"),
    )
    return bars.select(
        "*",
        F.when(F.col("volume") > 0, F.col("_notional") / F.col("volume")).alias("vwap"),
        F.to_date("minute_start").alias("trade_date"),
    ).select(*BARS_1M.column_names)
