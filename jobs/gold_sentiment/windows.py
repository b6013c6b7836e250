"""Price windows after each post: returns from the first price at or after the post.

"At or after" is the whole point-in-time contract: a daily close counts only if
its 16:00 New York timestamp is at or after the post, a minute bar only if it
*starts* at or after the post (a bar that started earlier may hold trades from
before it). A price found too far away (the data does not cover the post) is no
price at all: the horizon is NULL, never a stale number.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lake_schema.gold_sentiment import POST_PRICE_WINDOWS

CLOSE_TIME = "16:00:00"
EXCHANGE_TZ = "America/New_York"
MAX_GAP_DAYS = 4  # a weekend plus a holiday; longer means the data does not cover the post


def first_at_or_after(points: DataFrame, queries: DataFrame, query_key: str) -> DataFrame:
    """For each query (query_key, ticker, at), the first point (ticker, at, idx, price) with
    point.at >= query.at: returns query_key, found_at, found_idx, found_price."""
    events = points.select("ticker", "at", F.lit(1).alias("kind"), "idx", "price", F.lit(None).cast("string").alias("qkey")).unionByName(
        queries.select("ticker", "at", F.lit(0).alias("kind"), F.lit(None).cast("long").alias("idx"),
                       F.lit(None).cast("double").alias("price"), F.col(query_key).cast("string").alias("qkey"))
    )
    # queries sort before points at the same instant, so a point exactly at the query time counts
    ahead = Window.partitionBy("ticker").orderBy("at", "kind").rowsBetween(0, Window.unboundedFollowing)
    found = events.select(
        "kind", "qkey", "at",
        F.first(F.when(F.col("kind") == 1, F.col("at")), ignorenulls=True).over(ahead).alias("found_at"),
        F.first("idx", ignorenulls=True).over(ahead).alias("found_idx"),
        F.first("price", ignorenulls=True).over(ahead).alias("found_price"),
    ).where("kind = 0")
    near = F.col("found_at") <= F.col("at") + F.expr(f"INTERVAL {MAX_GAP_DAYS} DAYS")
    return found.select(
        F.col("qkey").alias(query_key),
        *(F.when(near, F.col(c)).alias(c) for c in ("found_at", "found_idx", "found_price")),
    )


def build_post_price_windows(mentions: DataFrame, daily_bars: DataFrame, minute_bars: DataFrame | None = None) -> DataFrame:
    posts = mentions.select("post_id", "ticker", "subreddit", "created_at", "sentiment", "label").withColumn(
        "qid", F.concat_ws("|", "post_id", "ticker")
    )
    by_day = Window.partitionBy("ticker").orderBy("trade_date")
    closes = daily_bars.select(
        "ticker", "trade_date", F.col("adj_close").alias("price"),
        F.to_utc_timestamp(F.concat(F.col("trade_date").cast("string"), F.lit(" " + CLOSE_TIME)), EXCHANGE_TZ).alias("at"),
    ).withColumn("idx", F.row_number().over(by_day).cast("long"))
    base = first_at_or_after(closes, posts.select("qid", "ticker", F.col("created_at").alias("at")), "qid")
    later = closes.select("ticker", "idx", "price")
    daily = (
        posts.join(base, "qid", "left")
        .join(later.select("ticker", (F.col("idx") - 1).alias("found_idx"), F.col("price").alias("close_1d")), ["ticker", "found_idx"], "left")
        .join(later.select("ticker", (F.col("idx") - 5).alias("found_idx"), F.col("price").alias("close_5d")), ["ticker", "found_idx"], "left")
        .join(closes.select("ticker", F.col("idx").alias("found_idx"), F.col("trade_date").alias("daily_base_date")), ["ticker", "found_idx"], "left")
        .select(
            "qid", "post_id", "ticker", "subreddit", "created_at", "sentiment", "label", "daily_base_date",
            F.col("found_price").alias("daily_base_close"),
            (F.col("close_1d") / F.col("found_price") - 1).alias("return_1d"),
            (F.col("close_5d") / F.col("found_price") - 1).alias("return_5d"),
        )
    )
    if minute_bars is None:
        intraday = posts.select("qid", *(F.lit(None).cast(t).alias(c) for c, t in
                                         (("intraday_base_at", "timestamp"), ("intraday_base_price", "double"), ("return_1h", "double"))))
    else:
        minutes = minute_bars.select(F.col("symbol").alias("ticker"), F.col("minute_start").alias("at"),
                                     F.col("open").alias("price"), F.lit(None).cast("long").alias("idx"))
        start = first_at_or_after(minutes, posts.select("qid", "ticker", F.col("created_at").alias("at")), "qid")
        hour = first_at_or_after(
            minutes, posts.select("qid", "ticker", (F.col("created_at") + F.expr("INTERVAL 1 HOUR")).alias("at")), "qid"
        )
        intraday = start.join(hour.select("qid", F.col("found_price").alias("price_1h")), "qid", "left").select(
            "qid", F.col("found_at").alias("intraday_base_at"), F.col("found_price").alias("intraday_base_price"),
            (F.col("price_1h") / F.col("found_price") - 1).alias("return_1h"),
        )
    return (
        daily.join(intraday, "qid", "left")
        .withColumn("created_month", F.date_format("created_at", "yyyy-MM"))
        .select(*POST_PRICE_WINDOWS.column_names)
    )
