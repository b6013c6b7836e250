"""Property tests of bronze Reddit parsing (`parse_post_records`, `parse_comment_records`) on real Spark.

Record values ("lines" below) are what the collector produces: records made by `post_record` /
`comment_record` from praw objects that praw built from listing JSON (real or
damaged), records with a field swapped for garbage, and lines that are no
record at all. Each example is one DataFrame of many lines. Every line comes
out once, typed or rejected with a reason; an accepted line keeps every value
it carried; a real-shaped line is accepted whole.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from functools import lru_cache

from hypothesis import given
from hypothesis import strategies as st
from pyspark.sql import functions as F

from jobs.ingest.reddit import comment_record, post_record, reddit_from_env
from jobs.reddit.bronze import parse_comment_records, parse_post_records
from tests.hostile import (ODD_TEXT, dumps, hostile_text, json_values, same_number, short, spark_examples,
                           with_one_field_broken)
from tests.ingest.strategies import broken_comment_data, broken_post_data, comment_data, post_data, praw_thing
from tests.kafka_records import records

FETCHED = datetime(2024, 3, 4, 15, 30, 0, 123456, tzinfo=timezone.utc)
SPARK_EXAMPLES = spark_examples(6)
# output column <- record key, for values that must survive as they were landed
POST_COLUMNS = {"post_id": "id", "subreddit": "subreddit", "author": "author", "title": "title", "body": "body",
                "url": "url", "flair": "flair", "score": "score", "upvote_ratio": "upvote_ratio",
                "num_comments": "num_comments", "permalink": "permalink",
                "removed_by_category": "removed_by_category", "listing": "listing"}
COMMENT_COLUMNS = {"comment_id": "id", "post_id": "post_id", "parent_id": "parent_id", "subreddit": "subreddit",
                   "author": "author", "body": "body", "score": "score", "depth": "depth", "permalink": "permalink",
                   "listing": "listing"}


@lru_cache(maxsize=1)
def _reddit():
    return reddit_from_env({"REDDIT_CLIENT_ID": "id", "REDDIT_CLIENT_SECRET": "secret", "REDDIT_RETRIES": "0",
                            "REDDIT_OAUTH_URL": "http://127.0.0.1:9", "REDDIT_URL": "http://127.0.0.1:9"})


def _post(data: dict) -> dict | None:
    thing = praw_thing(_reddit(), "t3", data)
    return None if thing is None else post_record(thing, "new", FETCHED)


def _comment(data: dict) -> dict | None:
    thing = praw_thing(_reddit(), "t1", data)
    return None if thing is None else comment_record(thing, "abc12", "stocks", FETCHED)


def _cases(make, valid_data, broken_data):
    """(line, the record when the line is one, whether it is valid) for one kind of record."""
    valid = valid_data.map(make).map(lambda r: (dumps(r), r, True))
    damaged = broken_data.map(make).filter(lambda r: r is not None).map(lambda r: (dumps(r), r, False))
    garbled = valid_data.map(make).flatmap(lambda r: with_one_field_broken(r, sorted(r))).map(
        lambda r: (dumps(r), r, False))
    stamped = st.builds(lambda r, t: {**r, "fetched_at": t}, valid_data.map(make),
                        json_values | ODD_TEXT | st.sampled_from(["+10000-01-01T00:00:00Z", "1969-12-31T00:00:00Z"]))
    noise = hostile_text(valid.map(lambda c: c[0])).map(lambda line: (line, None, False))
    return st.lists(st.one_of(valid, damaged, garbled, stamped.map(lambda r: (dumps(r), r, False)), noise),
                    min_size=25, max_size=50)


def _records(spark, cases):
    """One Kafka record per case; its offset is the case's 1-based number (`line_number` below)."""
    return records(spark, [line for line, _, _ in cases], "reddit.x")


NUMBERS = {"score", "upvote_ratio", "num_comments", "depth"}


def _same(column: str, kept: object, sent: object) -> bool:
    """Whether bronze kept `sent`: numbers in number columns and texts in text columns exactly,
    anything else in a text column as (its JSON) text."""
    if sent is None:
        return kept is None
    if column in NUMBERS:
        return same_number(kept, sent)
    return kept == sent if isinstance(sent, str) else kept is not None


def _iso_micros(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return round(moment.timestamp() * 1_000_000)


def _check(spark, parse, cases, columns: dict, required: list[str]) -> None:
    rows, rejected = parse(_records(spark, cases))
    out = rows.select(*columns, F.col("kafka_offset").alias("line_number"), F.unix_micros("created_at").alias("created"),
                      F.unix_micros("fetched_at").alias("fetched"), F.col("ingest_date").cast("string").alias("day"))
    out = out.collect()
    kept = {r["line_number"]: r for r in out}
    bad = rejected.select(F.col("kafka_offset").alias("line_number"), "reason", "detail", F.col("ingest_date").cast("string").alias("day")).collect()
    assert len(kept) == len(out), "a line became two rows"
    assert all(r["reason"] and r["detail"] for r in bad), short([r for r in bad if not (r["reason"] and r["detail"])])
    rejected_lines = [r["line_number"] for r in bad]
    assert len(rejected_lines) == len(set(rejected_lines)), "a line was rejected twice"
    for number, (line, record, valid) in enumerate(cases, 1):
        assert (number in kept) != (number in rejected_lines), short((line, "lost or kept and rejected"))
        if valid:
            assert number in kept, short((line, [r for r in bad if r["line_number"] == number]))
        if number not in kept or record is None:
            continue
        row = kept[number]
        for column, key in columns.items():  # kept means kept whole
            assert _same(column, row[column], record.get(key)), short((column, record.get(key), row[column], line))
        for column in required:
            assert row[column], short((column, line))
        if isinstance(record.get("created_utc"), str) and record["created_utc"].endswith("Z"):
            if valid:
                assert row["created"] == _iso_micros(record["created_utc"]), short(line)
        if valid:
            assert row["fetched"] == _iso_micros(record["fetched_at"]) and row["day"] == "2024-03-04"
        assert date.fromisoformat(row["day"]).year < 10_000


@SPARK_EXAMPLES
@given(_cases(_post, post_data, broken_post_data))
def test_every_post_record_is_typed_or_rejected_with_a_reason(spark, cases):
    _check(spark, parse_post_records, cases, POST_COLUMNS, ["post_id", "subreddit"])


@SPARK_EXAMPLES
@given(_cases(_comment, comment_data, broken_comment_data))
def test_every_comment_record_is_typed_or_rejected_with_a_reason(spark, cases):
    _check(spark, parse_comment_records, cases, COMMENT_COLUMNS, ["comment_id", "post_id", "parent_id", "subreddit"])
