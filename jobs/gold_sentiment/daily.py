"""Sentiment per ticker and UTC day (and per subreddit).

Scores change after a post is made; silver keeps only the latest. Weighting a
day's sentiment by a score fetched days later would leak the future into that
day, so the weight uses the score of the last fetch made before the day ended
(bronze keeps every fetch), and weight 1 where no fetch was that early.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lake_schema.gold_sentiment import SENTIMENT_DAILY, SENTIMENT_DAILY_SUBREDDIT


def mentions_from(post_sentiment: DataFrame, posts: DataFrame, scorer: str) -> tuple[DataFrame, str | None]:
    """One row per (post, ticker it names) from the scorer's newest version; (rows, version)."""
    scored = post_sentiment.where((F.col("kind") == "post") & (F.col("ticker") != "") & (F.col("scorer") == scorer))
    newest = scored.groupBy("scorer_version").agg(F.max("scored_at").alias("at")).orderBy(F.col("at").desc()).limit(1).collect()
    if not newest:
        return scored.limit(0), None
    version = newest[0]["scorer_version"]
    rows = (
        scored.where(F.col("scorer_version") == version)
        .select(F.col("id").alias("post_id"), "ticker", F.col("score").alias("sentiment"), "label")
        .join(posts.select("post_id", "subreddit", "author", "created_at"), "post_id")
    )
    return rows, version


def scores_as_of_day_end(mentions: DataFrame, post_fetches: DataFrame) -> DataFrame:
    """(post_id, score): each post's score from its last fetch before the end of its creation day (UTC)."""
    days = mentions.select("post_id", F.to_date("created_at").alias("day")).distinct()
    fetches = post_fetches.select("post_id", "fetched_at", "score").join(days, "post_id")
    in_time = fetches.where(F.col("fetched_at") < F.to_timestamp(F.date_add("day", 1)))
    latest = Window.partitionBy("post_id").orderBy(F.col("fetched_at").desc())
    return (
        in_time.withColumn("rank", F.row_number().over(latest)).where("rank = 1").select("post_id", "score")
    )


def build_sentiment_daily(
    mentions: DataFrame, comments: DataFrame, post_fetches: DataFrame | None = None, by_subreddit: bool = False
) -> DataFrame:
    keys = ["ticker", "day"] + (["subreddit"] if by_subreddit else [])
    spec = SENTIMENT_DAILY_SUBREDDIT if by_subreddit else SENTIMENT_DAILY
    posts = mentions.withColumn("day", F.to_date("created_at"))
    if post_fetches is not None:
        posts = posts.join(scores_as_of_day_end(mentions, post_fetches), "post_id", "left")
    else:
        posts = posts.withColumn("score", F.lit(None).cast("long"))
    weight = F.lit(1.0) + F.greatest(F.coalesce(F.col("score"), F.lit(0)), F.lit(0)).cast("double")
    post_stats = posts.groupBy(*keys).agg(
        F.countDistinct("post_id").alias("posts"),
        F.avg("sentiment").alias("mean_sentiment"),
        (F.sum(F.col("sentiment") * weight) / F.sum(F.when(F.col("sentiment").isNotNull(), weight))).alias("weighted_sentiment"),
        F.avg(F.when(F.col("label").isNotNull(), (F.col("label") == "bullish").cast("double"))).alias("bullish_share"),
    )
    # A comment counts for the tickers (and subreddit) of its post, on the day it was written.
    post_keys = mentions.select("post_id", "ticker", "subreddit").distinct()
    comment_rows = comments.select("comment_id", "post_id", "author", F.to_date("created_at").alias("day")).join(post_keys, "post_id")
    comment_stats = comment_rows.groupBy(*keys).agg(F.countDistinct("comment_id").alias("comments"))
    authors = (
        posts.select(*keys, "author").unionByName(comment_rows.select(*keys, "author"))
        .where(F.col("author").isNotNull())
        .groupBy(*keys).agg(F.countDistinct("author").alias("distinct_authors"))
    )
    return (
        post_stats.join(comment_stats, keys, "full").join(authors, keys, "left")
        .select(
            *keys,
            F.date_format("day", "yyyy-MM").alias("day_month"),
            F.coalesce("posts", F.lit(0)).alias("posts"),
            F.coalesce("comments", F.lit(0)).alias("comments"),
            "mean_sentiment", "weighted_sentiment", "bullish_share",
            F.coalesce("distinct_authors", F.lit(0)).alias("distinct_authors"),
        )
        .select(*spec.column_names)
    )
