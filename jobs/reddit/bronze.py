"""Bronze Reddit: fetches from Kafka (`reddit.posts`, `reddit.comments`; one JSON object a record) -> typed rows.

A record that is not JSON, lacks the id, subreddit or creation time, has a time
outside 1970..9999, or a score or count that is not a number of its type, is
quarantined as `malformed_record` with what was wrong and its topic, partition and offset. Nothing is merged here: two fetches
of one post are two rows; silver decides what is current.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.ingest.records import KAFKA_COLUMNS, record_key
from jobs.quality import DETAIL, REASON, lake_time
from lake_schema.reddit import BRONZE_REDDIT_COMMENTS, BRONZE_REDDIT_POSTS

_RECORD_COLUMNS = [*KAFKA_COLUMNS, "value"]
_POST = ("fetched_at STRING, listing STRING, id STRING, subreddit STRING, author STRING, title STRING, body STRING, "
         "url STRING, flair STRING, created_utc STRING, score BIGINT, upvote_ratio DOUBLE, num_comments BIGINT, "
         "permalink STRING, removed_by_category STRING")
_COMMENT = ("fetched_at STRING, listing STRING, id STRING, post_id STRING, parent_id STRING, subreddit STRING, "
            "author STRING, body STRING, created_utc STRING, score BIGINT, depth INT, permalink STRING")


def _parse(records: DataFrame, ddl: str, required: list[str], numbers: list[str]) -> tuple[DataFrame, DataFrame]:
    parsed = records.withColumn("_r", F.from_json("value", ddl))
    # The numbers once more as text: a value sent but not readable as its type is a reason, not a silent NULL.
    parsed = parsed.withColumn("_sent", F.from_json("value", ", ".join(f"{name} STRING" for name in numbers)))
    parsed = parsed.withColumn("fetched_at", lake_time(F.try_to_timestamp(F.col("_r.fetched_at"))))
    parsed = parsed.withColumn("created_at", lake_time(F.try_to_timestamp(F.col("_r.created_utc"))))
    missing = [F.when(F.coalesce(F.col(f"_r.{name}"), F.lit("")) == "", F.lit(name)) for name in required]
    missing += [F.when(F.col("fetched_at").isNull(), F.lit("fetched_at")),
                F.when(F.col("created_at").isNull(), F.lit("created_utc"))]
    missing += [F.when(F.col(f"_r.{name}").isNull() & F.col(f"_sent.{name}").isNotNull(), F.lit(name))
                for name in numbers]
    # from_json yields a struct of NULLs for text that is not JSON; json_object_keys is NULL for it.
    detail = F.when(F.json_object_keys("value").isNull(), F.lit("not a JSON object")).otherwise(
        F.nullif(F.concat_ws(", ", *missing), F.lit("")))
    parsed = parsed.withColumn(DETAIL, detail)
    rejected = parsed.where(F.col(DETAIL).isNotNull()).select(
        *_RECORD_COLUMNS, F.lit("malformed_record").alias(REASON),
        F.concat(F.lit("missing or unparsable: "), F.col(DETAIL)).alias(DETAIL),
        F.to_date(F.coalesce("fetched_at", "received_at")).alias("ingest_date"),
    )
    good = parsed.where(F.col(DETAIL).isNull()).withColumn(
        "record_id", F.sha2(record_key(), 256)
    ).withColumn("ingest_date", F.to_date("fetched_at"))
    return good, rejected


def parse_post_records(records: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(bronze.reddit_posts rows, rejected records with reason and detail). Pure."""
    good, rejected = _parse(records, _POST, ["id", "subreddit"], ["score", "upvote_ratio", "num_comments"])
    out = good.select(
        "record_id", F.col("_r.id").alias("post_id"), F.col("_r.subreddit").alias("subreddit"),
        *[F.col(f"_r.{c}").alias(c) for c in ("author", "title", "body", "url", "flair")],
        "created_at", *[F.col(f"_r.{c}").alias(c) for c in ("score", "upvote_ratio", "num_comments", "permalink",
                                                              "removed_by_category", "listing")],
        "fetched_at", *KAFKA_COLUMNS, "ingest_date",
    )
    return out.select(*BRONZE_REDDIT_POSTS.column_names), rejected


def parse_comment_records(records: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(bronze.reddit_comments rows, rejected records with reason and detail). Pure."""
    good, rejected = _parse(records, _COMMENT, ["id", "post_id", "parent_id", "subreddit"], ["score", "depth"])
    out = good.select(
        "record_id", F.col("_r.id").alias("comment_id"),
        *[F.col(f"_r.{c}").alias(c) for c in ("post_id", "parent_id", "subreddit", "author", "body")],
        "created_at", *[F.col(f"_r.{c}").alias(c) for c in ("score", "depth", "permalink", "listing")],
        "fetched_at", *KAFKA_COLUMNS, "ingest_date",
    )
    return out.select(*BRONZE_REDDIT_COMMENTS.column_names), rejected
