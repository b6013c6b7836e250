"""The Airflow tasks the DAG files wire together (TaskFlow), shared so no DAG restates a step.

Parse-time cost is `airflow.sdk` only: each task body imports
`jobs.orchestration.tasks` (and through it Spark and the pipelines) when it runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, get_current_context, task

from jobs.orchestration import assets

# Tasks are transactions (see jobs.orchestration.tasks), so a retry after any failure is safe.
DEFAULT_ARGS = {"owner": "pulselake", "retries": 2, "retry_delay": timedelta(seconds=30)}

PRICE_FILES_PARAM = Param(
    [], type="array", items={"type": "string"}, title="price files",
    description="Optional SOURCE=PATH files to land instead of the bundled ones, "
    "e.g. sp500_2009=/data/SP500_ind.csv (sources: quandl_wiki, sp500_2009).",
)


@task
def optimize_tables() -> dict[str, Any]:
    from jobs.orchestration.tasks import optimize_tables as run

    return run()


@task
def vacuum_tables() -> dict[str, Any]:
    from jobs.orchestration.tasks import vacuum_tables as run

    return run()


@task
def plan_window() -> dict[str, str]:
    """Decide once which trade dates this run rebuilds; every later task uses this answer."""
    from jobs.orchestration.tasks import window_from_context

    return window_from_context(get_current_context())


@task
def land_prices() -> dict[str, Any]:
    from jobs.orchestration.tasks import land_prices as run

    return run(get_current_context()["params"].get("price_files") or None)


@task
def bronze_prices() -> dict[str, Any]:
    from jobs.orchestration.tasks import bronze_prices as run

    return run()


@task
def symbols() -> dict[str, Any]:
    from jobs.orchestration.tasks import symbols as run

    return run()


@task
def silver_prices(window: dict[str, str]) -> dict[str, Any]:
    from jobs.orchestration.tasks import silver_prices as run

    return run(window)


@task(outlets=[assets.SILVER_DAILY_BARS, assets.GOLD_DAILY_FEATURES])
def gold_prices(window: dict[str, str], silver: dict[str, Any]) -> dict[str, Any]:
    from jobs.orchestration.tasks import gold_prices as run

    result = run(silver["months"])
    outlet_events = get_current_context()["outlet_events"]
    for asset in (assets.SILVER_DAILY_BARS, assets.GOLD_DAILY_FEATURES):
        outlet_events[asset].extra = {"start": window["start"], "end": window["end"], "months": silver["months"]}
    return result


@task(outlets=[assets.BRONZE_DAILY_BARS])
def announce_prices(window: dict[str, str], bronze: dict[str, Any]) -> dict[str, str]:
    """Record the window the price ingestion covered on the bronze asset, for the nightly build to rebuild."""
    get_current_context()["outlet_events"][assets.BRONZE_DAILY_BARS].extra = dict(window)
    return window


@task
def bronze_reddit() -> dict[str, Any]:
    from jobs.orchestration.tasks import bronze_reddit as run

    return run()


@task
def silver_reddit() -> dict[str, Any]:
    from jobs.orchestration.tasks import silver_reddit as run

    return run()


@task
def post_sentiment() -> dict[str, Any]:
    from jobs.orchestration.tasks import post_sentiment as run

    return run()


@task
def bronze_trades() -> dict[str, Any]:
    from jobs.orchestration.tasks import bronze_trades as run

    return run()


@task
def silver_trades() -> dict[str, Any]:
    from jobs.orchestration.tasks import silver_trades as run

    return run()


@task(outlets=[assets.GOLD_SENTIMENT_DAILY])
def gold_sentiment() -> dict[str, Any]:
    from jobs.orchestration.tasks import gold_sentiment as run

    return run()


@task
def train_and_evaluate() -> dict[str, Any]:
    from jobs.orchestration.tasks import train_and_evaluate as run

    return run()


@task(outlets=[assets.GOLD_PREDICTIONS])
def score() -> dict[str, Any]:
    from jobs.orchestration.tasks import score as run

    return run()


def sentiment_layers() -> tuple[Any, Any]:
    """Reddit topics -> bronze -> silver -> post sentiment, and the trades topic -> bronze ->
    silver and bars of closed days (Kafka: KAFKA_BOOTSTRAP_SERVERS or the local broker). Returns the last task of each branch; gold sentiment joins
    them with the price gold."""
    reddit = bronze_reddit()
    silver = silver_reddit()
    scored = post_sentiment()
    reddit >> silver >> scored
    trades = bronze_trades()
    closed_days = silver_trades()
    trades >> closed_days
    return scored, closed_days


def price_layers(window) -> Any:
    """landing -> bronze -> symbols -> silver -> gold for the window; returns the gold task."""
    landed = land_prices()
    bronze = bronze_prices()
    reference = symbols()
    silver = silver_prices(window)
    landed >> bronze >> reference >> silver
    return gold_prices(window, silver)


@task(outlets=[assets.SILVER_REDDIT])
def collect_reddit() -> dict[str, Any]:
    """Collect this hour's posts with praw into Kafka, then take every new record into bronze and silver."""
    from jobs.orchestration.tasks import collect_reddit as run

    context = get_current_context()
    start, end = context["data_interval_start"], context["data_interval_end"]
    params = context["params"]
    result = run(start, end, params["subreddits"], params["listings"])
    window = {"start": start.isoformat(), "end": end.isoformat()}
    context["outlet_events"][assets.SILVER_REDDIT].extra = window
    return {**result, "window": window}
