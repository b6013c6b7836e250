"""The Airflow side of the declared pipeline: one task per graph step, wired by what the steps read and write.

DAG files pick steps by name or group (jobs/pipeline/graph.py) and call `step_tasks`; nothing here restates a
step. Parse-time cost is `airflow.sdk` and the steps' declarations only (each domain's steps module imports Spark
and its transforms inside the step functions): each task imports them when it runs (jobs.orchestration.task_runner).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from airflow.sdk import Asset, Param, get_current_context, task

from jobs.pipeline.graph import Step, select, upstream

# Tasks are transactions (every step is idempotent on its window), so a retry after any failure is safe.
DEFAULT_ARGS = {"owner": "pulselake", "retries": 2, "retry_delay": timedelta(seconds=30)}
# What every pulselake DAG shares: the bundled history starts in 2000, no catch-up runs, one run at a time.
DAG_DEFAULTS = {"start_date": datetime(2000, 1, 1, tzinfo=timezone.utc), "catchup": False, "max_active_runs": 1,
                "default_args": DEFAULT_ARGS}

PRICE_FILES_PARAM = Param(
    [], type="array", items={"type": "string"}, title="price files",
    description="Optional SOURCE=PATH files to land instead of the bundled ones, "
    "e.g. sp500_2009=/data/SP500_ind.csv (sources: quandl_wiki, sp500_2009).",
)


def table_asset(table: str) -> Asset:
    """A lake table as an Airflow Asset (named as in lake_schema, so the UI's asset graph reads like the lake).
    Producers put the window they wrote in the event's extra; a consumer DAG rebuilds exactly that."""
    layer, name = table.split(".", 1)
    return Asset(name=table, uri=f"pulselake://{layer}/{name}", group="pulselake")


@task
def plan_window() -> dict[str, Any]:
    """Decide once which trade dates this run covers and its as_of; every later task uses this answer."""
    from jobs.orchestration.task_runner import window_from_context

    return window_from_context(get_current_context())


def step_task(step: Step, announces: Iterable[str] = ()):
    """The task that runs `step` for the run's window; it announces the tables in `announces` as asset events."""
    outlets = [table_asset(table) for table in announces]

    @task(task_id=step.task_id, outlets=outlets, doc_md=f"`{step.name}`: {step.description}")
    def run_step(window: dict[str, Any]) -> dict[str, Any]:
        from jobs.orchestration.task_runner import run_step as run

        context = get_current_context()
        report = run(step.name, window, context["params"])
        for asset in outlets:
            context["outlet_events"][asset].extra = {"start": window["start"], "end": window["end"]}
        return report

    return run_step


def step_tasks(window, names: Iterable[str] | None = None, groups: Iterable[str] | None = None,
               announces: Mapping[str, Iterable[str]] | None = None) -> dict[str, Any]:
    """Tasks for the chosen steps (collectors left out: they run as services or their own DAG), each after the
    chosen steps that write what it reads. `announces` maps a step name to the tables it announces."""
    chosen = select(names, groups)
    tasks: dict[str, Any] = {}
    for step in chosen:
        tasks[step.name] = step_task(step, (announces or {}).get(step.name, ()))(window)
        for before in upstream(step, chosen):
            tasks[before.name] >> tasks[step.name]
    return tasks


@task
def optimize_tables() -> dict[str, Any]:
    from jobs.orchestration.task_runner import maintenance

    return maintenance("optimize")


@task
def vacuum_tables() -> dict[str, Any]:
    from jobs.orchestration.task_runner import maintenance

    return maintenance("vacuum")


@task
def collect_reddit() -> dict[str, Any]:
    """Collect the posts created in this run's data interval with praw (REDDIT_* credentials) into Kafka."""
    from jobs.orchestration.task_runner import collect_reddit as run

    context = get_current_context()
    params = context["params"]
    return run(context["data_interval_start"], context["data_interval_end"], params["subreddits"], params["listings"])
