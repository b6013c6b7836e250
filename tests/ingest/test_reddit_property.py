"""Property tests of the Reddit collector's parsing: `parse_duration`, and records made from praw objects
built (by praw, offline) from listing JSON, real-shaped or hostile.

A record is what bronze reads, so it must never fail to be made or written:
a value that cannot be read is produced as sent and bronze quarantines it with
its reason; a real-shaped post keeps every value.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from jobs.ingest.publish import Publisher
from jobs.ingest.reddit import (RedditCollectConfig, RedditCollector, RedditStats, comment_record, parse_duration,
                                post_record, reddit_from_env)
from jobs.ingest.topics import RECEIVED_AT_HEADER, REDDIT_COMMENTS, REDDIT_POSTS
from tests.hostile import HUGE_NUMBERS, ODD_TEXT, dumps, json_values
from tests.ingest.helpers import broker_settings, marks, read_records
from tests.ingest.strategies import broken_comment_data, broken_post_data, comment_data, post_data, praw_thing

FETCHED = datetime(2024, 3, 4, 15, 30, tzinfo=timezone.utc)
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@pytest.fixture(scope="module")
def reddit():
    """A praw client pointed at a closed port: building objects needs no request, and a lazy fetch fails loudly."""
    return reddit_from_env({"REDDIT_CLIENT_ID": "id", "REDDIT_CLIENT_SECRET": "secret", "REDDIT_RETRIES": "0",
                            "REDDIT_OAUTH_URL": "http://127.0.0.1:9", "REDDIT_URL": "http://127.0.0.1:9"})


@given(st.integers(0, 10_000), st.sampled_from(sorted(UNITS)), st.sampled_from(["", " "]))
def test_durations_round_trip(amount, unit, pad):
    assert parse_duration(f"{pad}{amount}{unit.upper() if amount % 2 else unit}{pad}") == \
        timedelta(**{UNITS[unit]: amount})


@given(st.one_of(st.text(max_size=12), ODD_TEXT, st.builds(lambda n, u: f"{n}{u}", HUGE_NUMBERS | st.floats(),
                                                           st.sampled_from(sorted(UNITS)))))
def test_a_bad_duration_is_a_clear_value_error(text):
    try:
        parsed = parse_duration(text)
    except ValueError as error:  # the CLI turns this into a BadParameter naming the option
        assert repr(text.strip().lower()) in str(error) or text.strip().lower() in str(error)
    else:
        assert parsed >= timedelta(0)


def _check_time(record: dict, sent: object) -> None:
    """A readable epoch becomes its ISO time; anything else is produced as sent (bronze quarantines it)."""
    ok = (isinstance(sent, (int, float)) and not isinstance(sent, bool) and math.isfinite(sent)
          and 0 <= sent < 253_402_214_400)
    if ok:
        back = datetime.fromisoformat(record["created_utc"].replace("Z", "+00:00"))
        assert abs(back.timestamp() - sent) < 1e-5, (sent, record["created_utc"])
    elif not isinstance(sent, str):
        assert record["created_utc"] == sent or (sent != sent and record["created_utc"] != record["created_utc"])


@given(post_data | broken_post_data)
def test_post_records_are_always_made(reddit, data):
    submission = praw_thing(reddit, "t3", data)
    assume(submission is not None)
    record = post_record(submission, "new", FETCHED)
    json.loads(dumps(record))  # what the collector produces
    assert record["id"] == data.get("id") and record["fetched_at"] == "2024-03-04T15:30:00.000000Z"
    _check_time(record, data.get("created_utc"))


@given(post_data)
def test_real_posts_keep_every_value(reddit, data):
    record = post_record(praw_thing(reddit, "t3", data), "hot", FETCHED)
    assert record == {
        "fetched_at": "2024-03-04T15:30:00.000000Z", "listing": "hot", "id": data["id"], "subreddit": data["subreddit"],
        "author": None if data["author"] == "[deleted]" else data["author"], "title": data["title"],
        "body": data["selftext"], "url": data["url"], "flair": data["link_flair_text"],
        "created_utc": record["created_utc"], "score": data["score"], "upvote_ratio": data["upvote_ratio"],
        "num_comments": data["num_comments"], "permalink": data["permalink"],
        "removed_by_category": data["removed_by_category"],
    }
    _check_time(record, data["created_utc"])


@given(comment_data | broken_comment_data)
def test_comment_records_are_always_made(reddit, data):
    comment = praw_thing(reddit, "t1", data)
    assume(comment is not None)
    record = comment_record(comment, "abc12", "stocks", FETCHED)
    json.loads(dumps(record))
    assert record["id"] == data.get("id") and record["post_id"] == "abc12"
    assert record["body"] == data.get("body") and record["score"] == data.get("score")
    _check_time(record, data.get("created_utc"))


class _Listing:
    """Stands in for praw's Subreddit: its listing methods yield praw Submissions built from listing JSON."""

    def __init__(self, submissions: list) -> None:
        self.submissions = submissions

    def hot(self, limit=None):
        return iter(self.submissions)


@pytest.fixture(scope="module")
def topics(kafka_broker):
    """Topics of this module's own on the session broker (examples measure what each of them added)."""
    return broker_settings(kafka_broker)


def _canonical(record: dict) -> str:
    """A post record without its fetch time, as comparable text (NaN equals itself)."""
    return json.dumps({k: v for k, v in record.items() if k != "fetched_at"}, sort_keys=True, allow_nan=True)


@settings(max_examples=12)  # each example round-trips Kafka
@given(st.lists(post_data | broken_post_data | st.builds(lambda d, t: {**d, "created_utc": t}, post_data,
                                                        json_values | HUGE_NUMBERS | ODD_TEXT), max_size=15))
def test_a_listing_with_hostile_posts_is_collected_not_crashed(reddit, topics, children):
    """Every post taken is one record in reddit.posts, keyed by its id, holding exactly the record made from
    it (bronze quarantines what cannot be read); every other post is counted as skipped."""
    submissions = [s for s in (praw_thing(reddit, "t3", d) for d in children) if s is not None]
    before = marks(topics, REDDIT_POSTS)
    publisher = Publisher(topics, "reddit", topics=(REDDIT_POSTS, REDDIT_COMMENTS))
    collector, stats = RedditCollector(reddit, publisher), RedditStats()
    as_of = datetime(2034, 1, 1, tzinfo=timezone.utc)
    config = RedditCollectConfig(["stocks"], ("hot",), timedelta(days=365 * 40), as_of, comment_depth=0)
    collector._collect_listing(_Listing(submissions), "hot", config, as_of.timestamp(),
                               (as_of - config.since).timestamp(), set(), stats)
    publisher.close(60)
    produced = read_records(topics, REDDIT_POSTS, before)
    assert stats.posts == len(produced) == sum(publisher.stats.delivered.values())
    assert stats.posts + sum(stats.skipped.values()) == len(submissions)
    made = Counter(_canonical(post_record(s, "hot", FETCHED)) for s in submissions)
    values = [json.loads(r.value) for r in produced]
    assert not Counter(_canonical(v) for v in values) - made, "a produced record is none of the posts' records"
    for record, value in zip(produced, values):
        assert record.key == (None if value["id"] is None else str(value["id"]))
        assert record.headers[RECEIVED_AT_HEADER].decode() == value["fetched_at"]  # the fetch time, both places
