"""Silver Reddit: every fetch of a post (or comment) merged into one current row per id.

Scores and comment counts come from the latest fetch. Reddit replaces the text
of a deleted thing with ``[deleted]`` and of a removed one with ``[removed]``
(and the author with ``[deleted]``, which praw turns into no author): such a
fetch marks the row deleted/removed but keeps the title, text and author last
seen before, so nothing collected is lost.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.ingest.records import KAFKA_COLUMNS

from lake_schema.reddit import SILVER_REDDIT_COMMENTS, SILVER_REDDIT_POSTS

TOMBSTONES = ("[deleted]", "[removed]")
_REMOVED_BY_OTHERS = ("moderator", "reddit", "automod_filtered", "anti_evil_ops", "content_takedown",
                      "copyright_takedown", "community_ops", "legal_operations")


def _latest(value: str) -> Column:
    return F.max_by(F.col(value), F.col("_order"))


def _kept(value: str, ok: Column) -> Column:
    """The value from the latest fetch where it was still there (not a tombstone)."""
    return F.max_by(F.when(ok, F.col(value)), F.when(ok, F.col("_order")))


def _order() -> Column:
    # latest fetch wins; ties (one file) broken by the line, so the result is deterministic
    return F.struct(F.col("fetched_at"), *[F.col(c) for c in KAFKA_COLUMNS])


def _fetch_history() -> list[Column]:
    """What posts and comments both keep of their fetches: tombstone flags from the latest, first/last/count."""
    return [F.coalesce(_latest("_deleted"), F.lit(False)).alias("is_deleted"),
            F.coalesce(_latest("_removed"), F.lit(False)).alias("is_removed"),
            F.min("fetched_at").alias("first_fetched_at"), F.max("fetched_at").alias("last_fetched_at"),
            F.count(F.lit(1)).alias("times_fetched")]


def _with_month(grouped: DataFrame) -> DataFrame:
    return grouped.withColumn("created_month", F.date_format("created_at", "yyyy-MM"))


def build_silver_posts(fetches: DataFrame) -> DataFrame:
    """bronze.reddit_posts rows (any number per post) -> one silver.reddit_posts row per post. Pure."""
    obs = fetches.withColumn("_order", _order())
    obs = obs.withColumn("_deleted", (F.col("removed_by_category") == "deleted") | (F.col("body") == "[deleted]"))
    obs = obs.withColumn("_removed", F.col("removed_by_category").isin(*_REMOVED_BY_OTHERS) | (F.col("body") == "[removed]"))
    body_ok = F.col("body").isNotNull() & ~F.col("body").isin(*TOMBSTONES)
    title_ok = F.col("title").isNotNull() & ~F.col("title").isin(*TOMBSTONES)
    grouped = obs.groupBy("post_id").agg(
        _latest("subreddit").alias("subreddit"),
        _kept("author", F.col("author").isNotNull() & ~F.col("author").isin(*TOMBSTONES)).alias("author"),
        _kept("title", title_ok).alias("title"),
        _kept("body", body_ok).alias("body"),
        _latest("url").alias("url"), _latest("flair").alias("flair"),
        F.min("created_at").alias("created_at"),
        _latest("score").alias("score"), _latest("upvote_ratio").alias("upvote_ratio"),
        _latest("num_comments").alias("num_comments"), _latest("permalink").alias("permalink"),
        *_fetch_history(),
    )
    return _with_month(grouped).select(*SILVER_REDDIT_POSTS.column_names)


def build_silver_comments(fetches: DataFrame) -> DataFrame:
    """bronze.reddit_comments rows -> one silver.reddit_comments row per comment. Pure."""
    obs = fetches.withColumn("_order", _order())
    obs = obs.withColumn("_deleted", F.col("body") == "[deleted]")
    obs = obs.withColumn("_removed", F.col("body") == "[removed]")
    body_ok = F.col("body").isNotNull() & ~F.col("body").isin(*TOMBSTONES)
    grouped = obs.groupBy("comment_id").agg(
        _latest("post_id").alias("post_id"), _latest("parent_id").alias("parent_id"),
        _latest("subreddit").alias("subreddit"),
        _kept("author", F.col("author").isNotNull() & ~F.col("author").isin(*TOMBSTONES)).alias("author"),
        _kept("body", body_ok).alias("body"),
        F.min("created_at").alias("created_at"),
        _latest("score").alias("score"), _latest("depth").alias("depth"), _latest("permalink").alias("permalink"),
        *_fetch_history(),
    )
    return _with_month(grouped).select(*SILVER_REDDIT_COMMENTS.column_names)
