"""
### Backfill a date range

Rebuilds the price layers (the graph's `prices.*` steps: landing → bronze →
silver → gold) for the trade dates `start` .. `end` (inclusive), replacing
exactly the months they fall in.
Trigger it from the UI ("Trigger DAG" asks for the two dates) or the REST API
with `conf={"start": "2010-01-01", "end": "2010-03-31"}`.

The same rebuild runs outside Airflow on any Spark master:
`spark-submit jobs/backfill.py --start 2010-01-01 --end 2010-03-31`.

Idempotent: rerunning a range rewrites the same months with the same rows.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param

from jobs.orchestration import flows

with DAG(
    dag_id="pulselake_backfill",
    schedule=None,
    **flows.DAG_DEFAULTS,
    params={
        "start": Param(type="string", format="date", title="first trade date", description="YYYY-MM-DD, inclusive"),
        "end": Param(type="string", format="date", title="last trade date", description="YYYY-MM-DD, inclusive"),
        "price_files": flows.PRICE_FILES_PARAM,
    },
    doc_md=__doc__,
    tags=["pulselake", "backfill"],
):
    flows.step_tasks(flows.plan_window(), groups=["prices"])
