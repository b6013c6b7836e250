"""What an Airflow task runs. Imported only inside running tasks, so DAG files parse fast.

A step task opens the lake and runs the declared step (jobs.pipeline.graph) for the run's window, returning its
report as a plain dict (the task's XCom, and a log line). Retry-safe because the steps are.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime
from typing import Any, Mapping, Sequence

log = logging.getLogger(__name__)


def window_from_context(context: Any) -> dict[str, Any]:
    """The run's window (see jobs.window.resolve_window), from an Airflow task context."""
    from jobs.window import resolve_window

    extras: list[dict] = []
    for asset_events in (context.get("triggering_asset_events") or {}).values():
        extras.extend(dict(event.extra or {}) for event in asset_events)
    window = resolve_window(context.get("params"), extras, context.get("data_interval_start"),
                            context.get("data_interval_end"), context["dag_run"].run_after)
    log.info("run covers %s (from %s)", window, window.source)
    return window.as_xcom()


def run_step(name: str, window: Mapping[str, Any], params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    from jobs.pipeline.graph import step
    from jobs.resources.spark import open_lake
    from jobs.window import Window

    report = step(name).run(open_lake(app_name="pulselake-airflow"), Window.from_xcom(window),
                            price_files=(params or {}).get("price_files") or None)
    log.info("%s", report.summary())
    return asdict(report)


def maintenance(command: str) -> dict[str, Any]:
    """`optimize` or `vacuum` over every table (what `pulselake optimize|vacuum` runs)."""
    from jobs import maintenance as commands
    from jobs.resources.spark import open_lake

    run = {"optimize": commands.optimize_tables, "vacuum": commands.vacuum_tables}[command]
    report = run(open_lake(app_name="pulselake-airflow"), commands.chosen_tables(None))
    log.info("%s", report.summary())
    return asdict(report)


def collect_reddit(start: datetime, end: datetime, subreddits: Sequence[str], listings: Sequence[str]) -> dict[str, Any]:
    """Collect the posts created in [start, end) with praw (credentials from REDDIT_* env) into Kafka."""
    from jobs.ingest.publish import Publisher
    from jobs.ingest.reddit import RedditCollectConfig, RedditCollector, reddit_from_env
    from jobs.resources.kafka import get_kafka_settings

    stats = RedditCollector(reddit_from_env(), Publisher(get_kafka_settings(), "reddit")).collect(
        RedditCollectConfig(list(subreddits), tuple(listings), since=end - start, as_of=end, comment_depth=1)
    )
    log.info("reddit %s .. %s: %s", start, end, stats.summary())
    return {"collected": stats.summary()}
