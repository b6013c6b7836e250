"""Lead-lag between daily sentiment and returns, per ticker and pooled, with n and a CI.

sentiment_leads, k: sentiment on trading day t vs the return from t's close to the close k trading days later.
returns_lead, k:    the return from the close k trading days before t to t's close vs sentiment on t.
Days without posts have no sentiment (not zero sentiment) and are left out.
"""

from __future__ import annotations

from statistics import NormalDist

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lake_schema.gold_sentiment import SENTIMENT_LEAD_LAG

MEASURES = ("mean_sentiment", "weighted_sentiment", "bullish_share")
HORIZONS = (1, 2, 5)
_Z95 = NormalDist().inv_cdf(0.975)


def _fisher(r: Column, n: Column, sign: int) -> Column:
    z = F.atanh(F.least(F.greatest(r, F.lit(-0.999999)), F.lit(0.999999)))
    return F.when(r.isNotNull() & (n >= 4), F.tanh(z + sign * _Z95 / F.sqrt(n - 3)))


def build_lead_lag(sentiment_daily: DataFrame, daily_bars: DataFrame, horizons: tuple[int, ...] = HORIZONS) -> DataFrame:
    by_day = Window.partitionBy("ticker").orderBy("trade_date")
    closes = daily_bars.select("ticker", "trade_date", "adj_close")
    returns = closes.select(
        "ticker", "trade_date",
        *((F.lead("adj_close", k).over(by_day) / F.col("adj_close") - 1).alias(f"fwd_{k}") for k in horizons),
        *((F.col("adj_close") / F.lag("adj_close", k).over(by_day) - 1).alias(f"back_{k}") for k in horizons),
    )
    paired = sentiment_daily.select("ticker", F.col("day").alias("trade_date"), *MEASURES).join(returns, ["ticker", "trade_date"])
    stacked = paired.select(
        "ticker", "trade_date",
        F.explode(F.array(*(
            F.struct(F.lit(direction).alias("direction"), F.lit(k).alias("horizon_days"), F.lit(m).alias("measure"),
                     F.col(m).cast("double").alias("x"), F.col(f"{prefix}_{k}").alias("y"))
            for direction, prefix in (("sentiment_leads", "fwd"), ("returns_lead", "back"))
            for k in horizons for m in MEASURES
        ))).alias("p"),
    ).select("ticker", "trade_date", "p.*").where(F.col("x").isNotNull() & F.col("y").isNotNull())
    keys = ["direction", "horizon_days", "measure"]
    stats = lambda frame, *by: frame.groupBy(*by, *keys).agg(  # noqa: E731
        # corr() divides by zero (an error under ANSI) when a side has no variance: that is no correlation, NULL
        F.try_divide(F.covar_samp("x", "y"), F.stddev_samp("x") * F.stddev_samp("y")).alias("r"), F.count("*").alias("n"),
        F.min("trade_date").alias("first_day"), F.max("trade_date").alias("last_day"),
    )
    per_ticker = stats(stacked, "ticker").withColumn("scope", F.lit("ticker"))
    pooled = stats(stacked).withColumn("scope", F.lit("pooled")).withColumn("ticker", F.lit("*"))
    out = per_ticker.unionByName(pooled)
    # (greatest/least skip NULLs, so a NULL r must be kept NULL explicitly)
    r = F.when(F.col("r").isNull() | F.isnan("r") | (F.col("n") < 4), F.lit(None)).otherwise(F.least(F.greatest("r", F.lit(-1.0)), F.lit(1.0)))
    return out.withColumn("r", r).select(
        "scope", "ticker", "direction", F.col("horizon_days").cast("int"), "measure", "r",
        # the interval always holds r (at |r| = 1 the clipped Fisher bound would fall just short of it)
        F.least(_fisher(F.col("r"), F.col("n"), -1), F.col("r")).alias("ci_low"),
        F.greatest(_fisher(F.col("r"), F.col("n"), 1), F.col("r")).alias("ci_high"),
        "n", "first_day", "last_day",
    ).select(*SENTIMENT_LEAD_LAG.column_names)
