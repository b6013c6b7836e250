"""Bronze Reddit parsing: typed rows from good records, reasons for bad ones (pure transform, real Spark)."""

from __future__ import annotations

import pytest

import json

from jobs.reddit.bronze import parse_comment_records, parse_post_records
from tests.kafka_records import records

GOOD_POST = {"fetched_at": "2026-01-02T03:04:05.000000Z", "listing": "new", "id": "9abcd", "subreddit": "stocks",
             "author": None, "title": "t", "body": "[deleted]", "url": "u", "flair": None,
             "created_utc": "2010-01-05T15:00:00.000000Z", "score": 5, "upvote_ratio": 0.9, "num_comments": 2,
             "permalink": "/r/stocks/comments/9abcd/", "removed_by_category": "deleted"}


@pytest.mark.slow
def test_post_records_parse_and_bad_records_get_reasons(spark):
    texts = [json.dumps(GOOD_POST), "not json", json.dumps({**GOOD_POST, "id": None}),
             json.dumps({**GOOD_POST, "created_utc": "yesterday"})]
    rows, rejected = parse_post_records(records(spark, texts, "reddit.posts"))
    good = rows.collect()
    assert len(good) == 1 and good[0]["post_id"] == "9abcd" and good[0]["author"] is None
    assert str(good[0]["ingest_date"]) == "2026-01-02" and good[0]["removed_by_category"] == "deleted"
    bad = {r["kafka_offset"]: r["detail"] for r in rejected.collect()}
    assert set(bad) == {2, 3, 4}
    assert "not a JSON object" in bad[2] and "id" in bad[3] and "created_utc" in bad[4]


def test_comment_records_need_their_post_and_parent(spark):
    comment = {"fetched_at": "2026-01-02T03:04:05Z", "listing": "comments", "id": "c1", "post_id": "9abcd",
               "parent_id": "t3_9abcd", "subreddit": "stocks", "author": "a", "body": "b",
               "created_utc": "2010-01-05T16:00:00Z", "score": 1, "depth": 0, "permalink": "/x"}
    rows, rejected = parse_comment_records(records(spark, [json.dumps(comment), json.dumps({**comment, "parent_id": ""})],
                                                   "reddit.comments"))
    assert [r["comment_id"] for r in rows.collect()] == ["c1"]
    assert [r["reason"] for r in rejected.collect()] == ["malformed_record"]
