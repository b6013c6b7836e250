"""Gold for the tick path: one daily OHLCV row per symbol, rolled up from its 1-minute bars.

Rolling up bars (not re-reading trades) keeps the daily step cheap: a day of
bars is a few hundred thousand rows however many trades it held. The result
equals aggregating the day's silver trades directly (tests/trades/test_gold.py
checks that against pandas).
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.resources.lake import CommitResult, Lake
from lake_schema.trades import BARS_1M, GOLD_TRADE_DAILY


def build_trade_daily(bars: DataFrame) -> DataFrame:
    """Daily bars from 1-minute bars: open of the first minute, close of the last, VWAP by volume."""
    daily = bars.groupBy("symbol", "trade_date").agg(
        F.min_by("open", "minute_start").alias("open"),
        F.max("high").alias("high"),
        F.min("low").alias("low"),
        F.max_by("close", "minute_start").alias("close"),
        F.sum("volume").alias("volume"),
        F.sum(F.coalesce(F.col("vwap") * F.col("volume"), F.lit(0.0))).alias("_notional"),
        F.sum("trade_count").alias("trade_count"),
        F.count(F.lit(1)).alias("bar_minutes"),
    )
    vwap = F.when(F.col("volume") > 0, F.col("_notional") / F.col("volume"))
    return daily.withColumn("vwap", vwap).select(*GOLD_TRADE_DAILY.column_names)


def rebuild_trade_daily_day(lake: Lake, day: date) -> CommitResult:
    """Replace one day's daily bars with the roll-up of that day's 1-minute bars."""
    where = [("trade_date", "=", day)]
    return lake.overwrite(GOLD_TRADE_DAILY, build_trade_daily(lake.read(BARS_1M, where=where)), where=where)
