"""Gold: daily features per ticker, each computed only from bars up to its own day.

Every window here ends at the current row, so a feature stamped day t never
sees day t+1 (the leakage test in tests/ proves it). Windows that are not yet
full give NULL instead of a number computed on too little history.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lake_schema.prices import GOLD_DAILY_FEATURES

WINDOW_DAYS = 20
LOOKBACK_MONTHS = 2  # enough trading days before a month to fill every window


def _full(window_rows: Column, count: Column, needed: int) -> Column:
    return F.when(count >= needed, window_rows)


def build_daily_features(silver: DataFrame, symbols: DataFrame) -> DataFrame:
    by_day = Window.partitionBy("ticker").orderBy("trade_date")
    last_n = by_day.rowsBetween(-(WINDOW_DAYS - 1), 0)
    seen = F.count("adj_close").over(last_n)
    seen_returns = F.count("return_1d").over(last_n)
    volume_mean = F.avg("volume").over(last_n)
    volume_std = F.stddev_samp("volume").over(last_n)
    features = silver.select(
        "ticker", "trade_date", "trade_month", "adj_close", "volume", "return_1d", "high", "low", "close",
    ).select(
        "*",
        F.log1p("return_1d").alias("log_return_1d"),
        (F.col("adj_close") / F.lag("adj_close", 5).over(by_day) - 1).alias("return_5d"),
        (F.col("adj_close") / F.lag("adj_close", WINDOW_DAYS).over(by_day) - 1).alias("return_20d"),
        _full(F.stddev_samp("return_1d").over(last_n), seen_returns, WINDOW_DAYS).alias("volatility_20d"),
        ((F.col("high") - F.col("low")) / F.col("close")).alias("range_pct"),
        (F.col("close") * F.col("volume")).alias("dollar_volume"),
        _full(F.when(volume_std > 0, (F.col("volume") - volume_mean) / volume_std), seen, WINDOW_DAYS).alias("volume_z_20d"),
        _full(F.col("adj_close") / F.avg("adj_close").over(last_n) - 1, seen, WINDOW_DAYS).alias("close_to_sma_20d"),
    )
    sectors = symbols.select("ticker", "sector")
    return features.join(sectors, "ticker", "left").select(*GOLD_DAILY_FEATURES.column_names)
