"""The sentiment gold step end to end through a real Delta lake."""

from __future__ import annotations

import pytest

from datetime import date, datetime, timedelta, timezone

from jobs.gold_sentiment import steps
from lake_schema.gold_sentiment import POST_PRICE_WINDOWS, SENTIMENT_DAILY, SENTIMENT_DAILY_SUBREDDIT, SENTIMENT_LEAD_LAG
from lake_schema.prices import SILVER_DAILY_BARS
from lake_schema.reddit import SILVER_REDDIT_POSTS
from lake_schema.sentiment import POST_SENTIMENT
from tests.windows import LATEST

pytestmark = pytest.mark.slow  # minutes of Spark work or a private service: `make test` runs it, `make test-fast` does not

UTC = timezone.utc
_DEFAULTS = {"string": "x", "long": 0, "int": 0, "double": 1.0, "boolean": False,
             "date": date(2024, 3, 4), "timestamp": datetime(2024, 3, 4, tzinfo=UTC)}


def write(lake, spec, rows: list[dict]) -> None:
    """Rows with only the interesting columns; every other column gets a plain value of its type."""
    full = [{c.name: row.get(c.name, None if c.nullable else _DEFAULTS[c.type]) for c in spec.columns} for row in rows]
    lake.overwrite(spec, lake.spark.createDataFrame(full, schema=spec.spark_ddl()))


def test_build_waits_for_its_inputs_then_fills_all_four_tables(lake):
    report = steps.build(lake, LATEST)
    assert not report.tables and "waiting for" in report.notes[0]

    days = [date(2024, 3, 4) + timedelta(days=i) for i in range(14)]
    days = [d for d in days if d.weekday() < 5]
    # Bars that pass silver.daily_bars' rules (the lake enforces them on every write): priced within their range,
    # dated before they arrived.
    write(lake, SILVER_DAILY_BARS, [
        {"ticker": "AAPL", "trade_date": d, "trade_month": "2024-03", "adj_close": 100.0 + i, "close": 100.0 + i,
         "open": 100.0 + i, "high": 100.0 + i, "low": 100.0 + i, "ingest_date": date(2024, 3, 20)}
        for i, d in enumerate(days)
    ])
    posts = [("p1", datetime(2024, 3, 4, 15, tzinfo=UTC), "ann"), ("p2", datetime(2024, 3, 5, 15, tzinfo=UTC), "bob"),
             ("p3", datetime(2024, 3, 5, 16, tzinfo=UTC), "cy")]
    write(lake, SILVER_REDDIT_POSTS, [
        {"post_id": p, "subreddit": "stocks", "author": a, "title": "t", "created_at": at, "created_month": "2024-03"}
        for p, at, a in posts
    ])
    scored_at = datetime(2024, 3, 20, tzinfo=UTC)
    write(lake, POST_SENTIMENT, [
        *({"id": p, "kind": "post", "ticker": "AAPL", "scorer": "vader", "scorer_version": "v1", "score": s,
           "label": "bullish" if s > 0 else "bearish", "created_at": at, "created_month": "2024-03", "scored_at": scored_at}
          for (p, at, _), s in zip(posts, (0.5, -0.5, 0.7))),
        # an older version of the same scorer, and another scorer: neither may leak into gold
        {"id": "p1", "kind": "post", "ticker": "AAPL", "scorer": "vader", "scorer_version": "v0", "score": -1.0,
         "label": "bearish", "created_at": posts[0][1], "created_month": "2024-03", "scored_at": datetime(2024, 3, 6, tzinfo=UTC)},
        {"id": "p1", "kind": "post", "ticker": "AAPL", "scorer": "minilm", "scorer_version": "m1", "score": -1.0,
         "label": "bearish", "created_at": posts[0][1], "created_month": "2024-03", "scored_at": scored_at},
    ])
    report = steps.build(lake, LATEST, scorer="vader")
    assert report.tables[SENTIMENT_DAILY.name] == 2 and report.tables[SENTIMENT_DAILY_SUBREDDIT.name] == 2
    assert report.tables[POST_PRICE_WINDOWS.name] == 3 and report.tables[SENTIMENT_LEAD_LAG.name] > 0
    assert "version v1" in report.notes[0] and "1-hour returns are NULL" in report.notes[0]
    daily = {str(r.day): r for r in lake.read(SENTIMENT_DAILY).collect()}
    assert daily["2024-03-04"].mean_sentiment == 0.5 and daily["2024-03-05"].posts == 2
    windows = {r.post_id: r for r in lake.read(POST_PRICE_WINDOWS).collect()}
    assert windows["p1"].daily_base_close == 100.0 and abs(windows["p1"].return_1d - 0.01) < 1e-12
    assert windows["p1"].return_1h is None
    # a rerun rewrites the same rows
    steps.build(lake, LATEST, scorer="vader")
    assert lake.read(SENTIMENT_DAILY).count() == 2 and lake.read(POST_PRICE_WINDOWS).count() == 3
