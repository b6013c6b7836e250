"""The sentiment gold step: read Reddit silver, post sentiment and prices through the lake, call the pure
transforms, and replace exactly the window's months of the daily and post-window tables (every month for
"latest"); lead-lag, a summary over all days, is then recomputed from the whole daily table.

Which sentiment: silver.post_sentiment keeps every scorer and scorer version side by side;
the gold tables use one scorer (PULSELAKE_SENTIMENT_SCORER via the sentiment settings,
default minilm) at its most recently scored version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobs.steps import StepReport, step, timed
from jobs.window import Window
from lake_schema.gold_sentiment import POST_PRICE_WINDOWS, SENTIMENT_DAILY, SENTIMENT_DAILY_SUBREDDIT, SENTIMENT_LEAD_LAG
from lake_schema.prices import SILVER_DAILY_BARS
from lake_schema.reddit import BRONZE_REDDIT_POSTS, SILVER_REDDIT_COMMENTS, SILVER_REDDIT_POSTS
from lake_schema.sentiment import POST_SENTIMENT
from lake_schema.trades import BARS_1M

if TYPE_CHECKING:
    from jobs.resources.lake import Lake


def default_scorer() -> str:
    from jobs.sentiment.config import SentimentSettings

    return SentimentSettings().scorer


def _months_before(months: list[str]) -> list[str]:
    year, month = (int(x) for x in months[0].split("-"))
    previous = f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"
    return [previous, *months]


@step("gold.sentiment",
      reads=[POST_SENTIMENT, SILVER_REDDIT_POSTS, SILVER_REDDIT_COMMENTS, BRONZE_REDDIT_POSTS, SILVER_DAILY_BARS, BARS_1M],
      writes=[SENTIMENT_DAILY, SENTIMENT_DAILY_SUBREDDIT, POST_PRICE_WINDOWS, SENTIMENT_LEAD_LAG], windowed=True,
      description="daily sentiment, post price windows for the window's months; lead-lag over all days")
@timed
def build(lake: Lake, window: Window, scorer: str | None = None) -> StepReport:
    """Replace the window's months of daily sentiment (per ticker, and per subreddit) and post price windows,
    then recompute lead-lag over every day; waits (writes nothing) until its inputs exist."""
    from pyspark.sql import functions as F

    from jobs.gold_sentiment.daily import build_sentiment_daily, mentions_from
    from jobs.gold_sentiment.leadlag import build_lead_lag
    from jobs.gold_sentiment.windows import build_post_price_windows

    report = StepReport("gold: sentiment meets prices")
    missing = [s.name for s in (POST_SENTIMENT, SILVER_REDDIT_POSTS, SILVER_DAILY_BARS) if not lake.exists(s)]
    if missing:
        report.notes.append(f"waiting for {', '.join(missing)}: no sentiment gold tables built")
        return report
    scorer = scorer or default_scorer()
    mentions, version = mentions_from(lake.read(POST_SENTIMENT), lake.read(SILVER_REDDIT_POSTS), scorer)
    if version is None:
        report.notes.append(f"no post scored by {scorer!r} yet: no sentiment gold tables built")
        return report
    months = window.months()
    if months:  # a post of the month before may count on a day of the window (weekends roll forward)
        mentions = mentions.where(F.date_format("created_at", "yyyy-MM").isin(_months_before(months)))
    mentions = mentions.cache()
    comments = lake.read(SILVER_REDDIT_COMMENTS) if lake.exists(SILVER_REDDIT_COMMENTS) else None
    if comments is None:
        comments = lake.spark.createDataFrame([], "comment_id STRING, post_id STRING, author STRING, created_at TIMESTAMP")
    fetches = lake.read(BRONZE_REDDIT_POSTS) if lake.exists(BRONZE_REDDIT_POSTS) else None
    tickers = [r["ticker"] for r in mentions.select("ticker").distinct().collect()]
    bars = lake.read(SILVER_DAILY_BARS).where(F.col("ticker").isin(tickers)).select("ticker", "trade_date", "adj_close").cache()
    minutes = lake.read(BARS_1M).where(F.col("symbol").isin(tickers)) if lake.exists(BARS_1M) else None

    daily = build_sentiment_daily(mentions, comments, fetches).cache()
    outputs = (
        (SENTIMENT_DAILY, daily),
        (SENTIMENT_DAILY_SUBREDDIT, build_sentiment_daily(mentions, comments, fetches, by_subreddit=True)),
        (POST_PRICE_WINDOWS, build_post_price_windows(mentions, bars, minutes)),
    )
    for spec, frame in outputs:
        (partition,) = spec.partition_by
        where = [(partition, "in", months)] if months else None
        report.add_written(lake.overwrite(spec, frame.where(F.col(partition).isin(months)) if months else frame, where=where))
    every_day = lake.read(SENTIMENT_DAILY)  # lead-lag sums up all days, not only the window's
    every_ticker = [r["ticker"] for r in every_day.select("ticker").distinct().collect()]
    every_bar = lake.read(SILVER_DAILY_BARS).where(F.col("ticker").isin(every_ticker)).select("ticker", "trade_date", "adj_close")
    report.add_written(lake.overwrite(SENTIMENT_LEAD_LAG, build_lead_lag(every_day, every_bar)))
    for frame in (daily, bars, mentions):
        frame.unpersist()
    report.notes.append(f"scorer {scorer} version {version}; {len(tickers)} tickers mentioned"
                        + ("" if minutes is not None else "; no minute bars: 1-hour returns are NULL"))
    return report
