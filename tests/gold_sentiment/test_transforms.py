"""Sentiment gold transforms on small hand-made inputs with known answers."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from pyspark.sql import functions as F

from jobs.gold_sentiment.daily import build_sentiment_daily
from jobs.gold_sentiment.leadlag import build_lead_lag
from jobs.gold_sentiment.windows import build_post_price_windows

UTC = timezone.utc
MENTIONS = "post_id STRING, ticker STRING, subreddit STRING, author STRING, created_at TIMESTAMP, sentiment DOUBLE, label STRING"
COMMENTS = "comment_id STRING, post_id STRING, author STRING, created_at TIMESTAMP"
FETCHES = "post_id STRING, fetched_at TIMESTAMP, score LONG"
BARS = "ticker STRING, trade_date DATE, adj_close DOUBLE"
MINUTES = "symbol STRING, minute_start TIMESTAMP, open DOUBLE"


def ts(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def inputs(spark):
    mentions = spark.createDataFrame([
        ("p1", "AAPL", "stocks", "ann", ts(2024, 3, 4, 14), 0.8, "bullish"),
        ("p2", "AAPL", "wsb", "bob", ts(2024, 3, 4, 15), -0.4, "bearish"),
        ("p2", "MSFT", "wsb", "bob", ts(2024, 3, 4, 15), -0.4, "bearish"),
        ("p3", "AAPL", "stocks", "ann", ts(2024, 3, 5, 1), 0.2, "neutral"),
    ], MENTIONS)
    comments = spark.createDataFrame([
        ("c1", "p1", "cat", ts(2024, 3, 4, 16)),
        ("c2", "p1", "dan", ts(2024, 3, 5, 9)),  # next day: counts on the 5th
        ("c3", "p2", None, ts(2024, 3, 4, 18)),
    ], COMMENTS)
    fetches = spark.createDataFrame([
        ("p1", ts(2024, 3, 4, 20), 9),
        ("p1", ts(2024, 3, 9, 0), 5000),  # days later: must not weight the 4th
        ("p2", ts(2024, 3, 4, 23), 1),
        # p3 is only fetched a week later: unknown at its day's end, weight 1
        ("p3", ts(2024, 3, 12, 0), 700),
    ], FETCHES)
    return mentions, comments, fetches


def test_daily_aggregates_count_weight_and_share_with_scores_known_by_the_days_end(inputs):
    mentions, comments, fetches = inputs
    rows = {(r.ticker, str(r.day)): r for r in build_sentiment_daily(mentions, comments, fetches).collect()}
    aapl = rows[("AAPL", "2024-03-04")]
    assert (aapl.posts, aapl.comments, aapl.distinct_authors) == (2, 2, 3)  # ann, bob, cat (c3 has no author)
    assert aapl.mean_sentiment == pytest.approx(0.2)
    assert aapl.weighted_sentiment == pytest.approx((0.8 * 10 + -0.4 * 2) / 12)  # weights 1+9 and 1+1, not 5001
    assert aapl.bullish_share == pytest.approx(0.5)
    fifth = rows[("AAPL", "2024-03-05")]
    assert (fifth.posts, fifth.comments, fifth.weighted_sentiment) == (1, 1, pytest.approx(0.2))
    assert rows[("MSFT", "2024-03-04")].comments == 1 and rows[("MSFT", "2024-03-04")].day_month == "2024-03"
    by_sub = {(r.ticker, r.subreddit): r for r in build_sentiment_daily(mentions, comments, fetches, by_subreddit=True)
              .where("day = '2024-03-04'").collect()}
    assert by_sub[("AAPL", "stocks")].posts == 1 and by_sub[("AAPL", "wsb")].mean_sentiment == pytest.approx(-0.4)


def test_daily_aggregates_for_a_day_ignore_everything_that_happens_later(inputs, spark):
    """Point in time: changing or removing posts, comments and fetches after day t leaves day t's row unchanged."""
    mentions, comments, fetches = inputs
    honest = build_sentiment_daily(mentions, comments, fetches).where("day <= '2024-03-04'").collect()
    end = F.lit("2024-03-05 00:00:00").cast("timestamp")
    later_mentions = mentions.where(F.col("created_at") < end).unionByName(spark.createDataFrame(
        [("p9", "AAPL", "wsb", "eve", ts(2024, 3, 6, 1), -1.0, "bearish")], MENTIONS))
    later_comments = comments.where(F.col("created_at") < end).unionByName(spark.createDataFrame(
        [("c9", "p1", "fay", ts(2024, 3, 5, 2))], COMMENTS))
    later_fetches = fetches.withColumn("score", F.when(F.col("fetched_at") >= end, F.lit(-50)).otherwise(F.col("score")))
    for m, c, f in ((later_mentions, later_comments, later_fetches), (mentions.where(F.col("created_at") < end),
                                                                       comments.where(F.col("created_at") < end),
                                                                       fetches.where(F.col("fetched_at") < end))):
        assert sorted(build_sentiment_daily(m, c, f).where("day <= '2024-03-04'").collect()) == sorted(honest)


def _bars(spark, closes, first=date(2024, 3, 4), ticker="AAPL"):
    days, d = [], first
    while len(days) < len(closes):
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return spark.createDataFrame([(ticker, day, float(c)) for day, c in zip(days, closes)], BARS)


def test_windows_start_at_the_first_price_at_or_after_the_post(spark):
    bars = _bars(spark, [100, 110, 121, 133.1, 146.41, 161.051, 177.1561, 194.87])  # Mon 4 Mar .. Wed 13 Mar
    minutes = spark.createDataFrame([
        ("AAPL", ts(2024, 3, 5, 14, 30), 50.0), ("AAPL", ts(2024, 3, 5, 14, 31), 51.0),
        ("AAPL", ts(2024, 3, 5, 15, 30), 60.0), ("AAPL", ts(2024, 3, 5, 15, 31), 61.2),
    ], MINUTES)
    mentions = spark.createDataFrame([
        # 15:00 New York (EST, UTC-5) on Tue 5 Mar: before that day's 16:00 close
        ("before_close", "AAPL", "wsb", "a", ts(2024, 3, 5, 20), 0.1, "neutral"),
        # exactly the close counts as "at or after"
        ("at_close", "AAPL", "wsb", "a", ts(2024, 3, 5, 21), 0.1, "neutral"),
        ("after_close", "AAPL", "wsb", "a", ts(2024, 3, 5, 21, 0, 1), 0.1, "neutral"),
        ("intraday", "AAPL", "wsb", "a", ts(2024, 3, 5, 14, 30, 20), 0.1, "neutral"),
        ("too_late", "AAPL", "wsb", "a", ts(2024, 3, 12, 22), 0.1, "neutral"),
        ("uncovered", "AAPL", "wsb", "a", ts(2023, 1, 2, 12), 0.1, "neutral"),
    ], MENTIONS)
    rows = {r.post_id: r for r in build_post_price_windows(mentions, bars, minutes).collect()}
    assert str(rows["before_close"].daily_base_date) == "2024-03-05" and rows["before_close"].daily_base_close == 110
    assert rows["before_close"].return_1d == pytest.approx(0.1) and rows["before_close"].return_5d == pytest.approx(1.1**5 - 1)
    assert str(rows["at_close"].daily_base_date) == "2024-03-05"
    assert str(rows["after_close"].daily_base_date) == "2024-03-06"
    # the 14:30 bar started before the post (it may hold earlier trades): the base is the 14:31 bar
    intraday = rows["intraday"]
    assert intraday.intraday_base_at == datetime(2024, 3, 5, 14, 31) and intraday.intraday_base_price == 51
    assert intraday.return_1h == pytest.approx(61.2 / 51 - 1)  # first bar at or after 15:30:20 is 15:31
    assert rows["too_late"].return_1d is None and rows["too_late"].return_5d is None
    assert rows["uncovered"].daily_base_date is None and rows["uncovered"].intraday_base_price is None
    assert rows["before_close"].intraday_base_price is None  # no minute bars near it


def test_windows_never_use_prices_from_before_the_post(spark):
    mentions = spark.createDataFrame([("p", "AAPL", "wsb", "a", ts(2024, 3, 6, 22), 0.5, "bullish")], MENTIONS)
    honest = build_post_price_windows(mentions, _bars(spark, [100, 110, 121, 133.1, 146.41, 161.051, 177.1561, 194.87, 200]))
    tampered = build_post_price_windows(mentions, _bars(spark, [1, 2, 3, 133.1, 146.41, 161.051, 177.1561, 194.87, 200]))
    assert honest.collect() == tampered.collect()
    assert honest.collect()[0].daily_base_close == 133.1


def test_lead_lag_finds_a_planted_lead_with_n_and_interval(spark):
    closes = [100.0]
    import random

    rnd = random.Random(4)
    for _ in range(60):
        closes.append(closes[-1] * (1 + rnd.gauss(0, 0.02)))
    bars = _bars(spark, closes)
    rows = bars.orderBy("trade_date").collect()
    # sentiment on day t is exactly the next day's return: a perfect 1-day lead
    sentiment = spark.createDataFrame([
        ("AAPL", rows[i].trade_date, rows[i + 1].adj_close / rows[i].adj_close - 1, 0.0, 0.5)
        for i in range(len(rows) - 1)
    ], "ticker STRING, day DATE, mean_sentiment DOUBLE, weighted_sentiment DOUBLE, bullish_share DOUBLE")
    out = {(r.scope, r.direction, r.horizon_days, r.measure): r for r in build_lead_lag(sentiment, bars).collect()}
    lead = out[("ticker", "sentiment_leads", 1, "mean_sentiment")]
    assert lead.r == pytest.approx(1.0) and lead.n == 60 and lead.ci_low <= lead.r <= lead.ci_high
    back = out[("ticker", "returns_lead", 1, "mean_sentiment")]
    assert back.n == 59 and abs(back.r) < 0.5 and back.ci_low < back.r < back.ci_high
    assert out[("ticker", "sentiment_leads", 5, "mean_sentiment")].n == 56
    assert out[("pooled", "sentiment_leads", 1, "mean_sentiment")].ticker == "*"
    constant = out[("ticker", "sentiment_leads", 1, "weighted_sentiment")]
    assert constant.r is None and constant.ci_low is None and constant.n == 60
