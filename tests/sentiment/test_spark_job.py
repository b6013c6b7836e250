"""Silver post sentiment with real Spark and a real Delta lake."""

from datetime import datetime, timezone

import pytest

from pyspark.sql import functions as F

from jobs.sentiment.spark_job import INPUT_COLUMNS, worker_scorer
from jobs.sentiment.steps import sentiment_step
from lake_schema.reddit import SILVER_REDDIT_COMMENTS, SILVER_REDDIT_POSTS
from lake_schema.sentiment import POST_SENTIMENT
from tests.windows import LATEST

T0 = datetime(2024, 3, 1, 14, 30, tzinfo=timezone.utc)
TEXTS = [
    ("p1", "post", "wallstreetbets", T0, "I bought $AAPL at the top, terrible loss. MSFT keeps ripping though."),
    ("p2", "post", "stocks", T0, "Good time to sell $TSLA, we'll make a ton of money shorting this"),
    ("c1", "comment", "stocks", datetime(2024, 4, 2, tzinfo=timezone.utc), "What a day, nothing to add"),
]


def frame(spark, rows):
    return spark.createDataFrame(rows, "id STRING, kind STRING, subreddit STRING, created_at TIMESTAMP, text STRING")


def rows_of(lake, version=None):
    df = lake.read(POST_SENTIMENT)
    if version:
        df = df.where(F.col("scorer_version") == version)
    return {(r["id"], r["ticker"]): r for r in df.collect()}


@pytest.mark.slow
def test_one_row_per_ticker_and_a_rerun_writes_nothing(spark, lake):
    report = sentiment_step(lake, LATEST, "vader", texts=frame(spark, TEXTS))
    rows = rows_of(lake)
    assert set(rows) == {("p1", "AAPL"), ("p1", "MSFT"), ("p2", "TSLA"), ("c1", "")}
    assert report.tables[POST_SENTIMENT.name] == 4
    assert rows[("c1", "")]["created_month"] == "2024-04" and rows[("p2", "TSLA")]["kind"] == "post"
    assert all(r["scorer"] == "vader" and -1 <= r["score"] <= 1 for r in rows.values())

    again = sentiment_step(lake, LATEST, "vader", texts=frame(spark, TEXTS))
    assert again.tables == {} and "3 texts already scored" in again.skipped[0]
    assert len(rows_of(lake)) == 4

    more = sentiment_step(lake, LATEST, "vader", texts=frame(spark, TEXTS + [("p3", "post", "stocks", T0, "$NVDA calls")]))
    assert more.tables[POST_SENTIMENT.name] == 1 and len(rows_of(lake)) == 5


def test_a_new_scorer_version_rescores_and_keeps_the_old_rows(spark, lake, llm_server, llm_settings):
    llm_settings.llm_model = "model-a"
    first = sentiment_step(lake, LATEST, "llm", texts=frame(spark, TEXTS), settings=llm_settings)
    assert first.tables[POST_SENTIMENT.name] == 4
    calls = len(llm_server.behaviour.requests)
    assert sentiment_step(lake, LATEST, "llm", texts=frame(spark, TEXTS), settings=llm_settings).tables == {}
    assert len(llm_server.behaviour.requests) == calls  # unchanged version: not even asked

    llm_settings.llm_model = "model-b"
    second = sentiment_step(lake, LATEST, "llm", texts=frame(spark, TEXTS), settings=llm_settings)
    assert second.tables[POST_SENTIMENT.name] == 4
    versions = {r["scorer_version"] for r in lake.read(POST_SENTIMENT).collect()}
    assert versions == {"llm-model-a-p1", "llm-model-b-p1"}
    assert rows_of(lake, "llm-model-b-p1")[("p2", "TSLA")]["label"] == "bearish"


def test_minilm_in_spark_scores_each_ticker_from_its_own_sentences(spark, lake, minilm):
    sentiment_step(lake, LATEST, "minilm", texts=frame(spark, TEXTS[:2]))
    rows = rows_of(lake)
    assert rows[("p1", "AAPL")]["label"] == "bearish"
    assert rows[("p1", "MSFT")]["label"] == "bullish"
    assert rows[("p2", "TSLA")]["label"] == "bearish"
    assert rows[("p2", "TSLA")]["scorer_version"] == minilm.version


def test_reads_posts_and_comments_from_silver(spark, lake):
    now = datetime(2024, 3, 2, tzinfo=timezone.utc)
    state = {"is_deleted": False, "is_removed": False, "first_fetched_at": now, "last_fetched_at": now, "times_fetched": 1}
    posts = [
        {"post_id": "abc", "subreddit": "stocks", "title": "$AMD puts printing", "body": "[removed]", "created_at": T0,
         "created_month": "2024-03", **state},
        {"post_id": "def", "subreddit": "stocks", "title": "Daily thread", "body": "", "created_at": T0,
         "created_month": "2024-03", **state},
    ]
    comments = [{"comment_id": "c9", "post_id": "abc", "parent_id": "t3_abc", "subreddit": "stocks",
                 "body": "bears getting wrecked on NVDA", "created_at": T0, "created_month": "2024-03", **state}]
    for spec, data in ((SILVER_REDDIT_POSTS, posts), (SILVER_REDDIT_COMMENTS, comments)):
        full = [{c: row.get(c) for c in spec.column_names} for row in data]
        lake.overwrite(spec, spark.createDataFrame(full, spec.spark_ddl()))
    sentiment_step(lake, LATEST, "vader")
    rows = rows_of(lake)
    assert set(rows) == {("abc", "AMD"), ("def", ""), ("c9", "NVDA")}
    assert rows[("c9", "NVDA")]["kind"] == "comment"


def test_worker_scorer_is_built_once_per_process():
    first = worker_scorer("vader", 1, "{}")
    assert worker_scorer("vader", 1, "{}") is first
    assert INPUT_COLUMNS == ("id", "kind", "subreddit", "created_at", "text")
