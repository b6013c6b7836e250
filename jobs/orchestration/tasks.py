"""What each scheduled task runs. Imported only inside running tasks, so DAG files parse fast.

Every callable opens the lake, runs existing pipeline step functions and
returns the step's report as a plain dict (it becomes the task's XCom and a
log line). Each is retry-safe because the steps are: price landing is keyed on the
file's hash, bronze on the landing batch or the Kafka checkpoint, silver/gold replace exactly the
months they cover, models on their own app transactions.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime
from typing import Any, Sequence

from jobs.orchestration.window import Window

log = logging.getLogger(__name__)


def open_lake():
    """The lake from PULSELAKE_* settings, on the process's Spark session (shared when one is active)."""
    from jobs.resources.lake import Lake
    from jobs.resources.spark import get_spark
    from jobs.settings import Settings

    settings = Settings()
    return Lake(get_spark(settings, app_name="pulselake-airflow"), settings)


def _done(report, **extra: Any) -> dict[str, Any]:
    out = {**asdict(report), **extra}
    log.info("%s: wrote %s; quarantined %s; skipped %d; %.1f s%s", report.step, report.tables or "nothing",
             report.quarantined or "none", len(report.skipped), report.seconds,
             "".join(f"; {n}" for n in report.notes))
    return out


def optimize_tables() -> dict[str, Any]:
    from jobs.maintenance import chosen_tables, optimize_tables as run

    return _done(run(open_lake(), chosen_tables(None)))


def vacuum_tables() -> dict[str, Any]:
    from jobs.maintenance import chosen_tables, vacuum_tables as run

    return _done(run(open_lake(), chosen_tables(None)))


def window_from_context(context: Any) -> dict[str, str]:
    """The run's trade-date window (see jobs.orchestration.window), from an Airflow task context."""
    from jobs.orchestration.window import resolve_window

    extras: list[dict] = []
    events = context.get("triggering_asset_events") or {}
    for asset_events in events.values():
        extras.extend(dict(event.extra or {}) for event in asset_events)
    dag_run = context["dag_run"]
    window = resolve_window(
        context.get("params"), extras, context.get("data_interval_start"), context.get("data_interval_end"),
        dag_run.run_after,
    )
    log.info("run covers trade dates %s .. %s (from %s)", window.start, window.end, window.source)
    return window.as_xcom()


def _files(price_files: Sequence[str] | None):
    from jobs.orchestration.sources import price_files as resolve

    return resolve(price_files)


def land_prices(price_files: Sequence[str] | None = None) -> dict[str, Any]:
    """Land the bundled price files, or the given SOURCE=PATH files; a file already landed is skipped."""
    from jobs.prices import pipeline

    return _done(pipeline.land(open_lake(), _files(price_files)))


def bronze_prices() -> dict[str, Any]:
    """Parse every landing batch not yet in bronze (parsers come from each line's source, so any
    file landed in a known source's format parses the same)."""
    from jobs.prices import pipeline

    return _done(pipeline.bronze(open_lake()))


def symbols() -> dict[str, Any]:
    from jobs.prices import pipeline

    return _done(pipeline.symbols(open_lake()))


def silver_prices(window: dict[str, str]) -> dict[str, Any]:
    """Silver for every month of the window that has bronze rows; returns those months for gold."""
    from jobs.prices import pipeline

    lake, span = open_lake(), Window.from_xcom(window)
    months = pipeline.months_in_bronze(lake, span.start, span.end)
    return _done(pipeline.silver(lake, months), months=months)


def gold_prices(months: Sequence[str]) -> dict[str, Any]:
    from jobs.prices import pipeline

    return _done(pipeline.gold(open_lake(), list(months)), months=list(months))


def bronze_reddit() -> dict[str, Any]:
    from jobs.reddit import pipeline

    return _done(pipeline.bronze_reddit(open_lake()))


def silver_reddit() -> dict[str, Any]:
    from jobs.reddit import pipeline

    return _done(pipeline.silver_reddit(open_lake()))


def post_sentiment() -> dict[str, Any]:
    from jobs.sentiment.spark_job import sentiment_step

    return _done(sentiment_step(open_lake()))


def bronze_trades() -> dict[str, Any]:
    """finnhub.trades -> bronze (and silver and bars of what it takes), through the stream's checkpoint."""
    from jobs.ingest.consume import take
    from jobs.stream.batch import trades_sink

    return _done(take(open_lake(), trades_sink(), wait_s=600))


def silver_trades() -> dict[str, Any]:
    from jobs.trades.pipeline import silver_trades as step

    return _done(step(open_lake()))


def gold_sentiment() -> dict[str, Any]:
    from jobs.gold_sentiment import pipeline

    return _done(pipeline.build(open_lake()))


def train_and_evaluate() -> dict[str, Any]:
    from jobs.models import pipeline

    return _done(pipeline.train_and_evaluate(open_lake()))


def score() -> dict[str, Any]:
    from jobs.models import pipeline

    return _done(pipeline.score(open_lake()))


def collect_reddit(start: datetime, end: datetime, subreddits: Sequence[str], listings: Sequence[str]) -> dict[str, Any]:
    """Collect the posts created in [start, end) with praw (credentials from REDDIT_* env) into Kafka, then bronze
    and silver."""
    from jobs.ingest.publish import Publisher
    from jobs.ingest.reddit import RedditCollectConfig, RedditCollector, reddit_from_env
    from jobs.resources.kafka import get_kafka_settings
    from jobs.reddit.pipeline import bronze_reddit, silver_reddit

    lake = open_lake()
    stats = RedditCollector(reddit_from_env(), Publisher(get_kafka_settings(), "reddit")).collect(
        RedditCollectConfig(list(subreddits), tuple(listings), since=end - start, as_of=end, comment_depth=1)
    )
    log.info("reddit %s .. %s: %s", start, end, stats.summary())
    bronze, silver = bronze_reddit(lake), silver_reddit(lake)
    return {"collected": stats.summary(), "bronze": _done(bronze), "silver": _done(silver)}
