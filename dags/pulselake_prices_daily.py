"""
### Daily price ingestion

Lands the day's vendor price files into `landing.daily_bar_lines` and parses
them into `bronze.daily_bars`, then records the covered trade dates on the
`bronze.daily_bars` asset — which is what schedules **pulselake_nightly**.

* **Schedule:** daily after midnight UTC; the data interval is the previous day.
* **Idempotent:** a file is landed once (keyed on its SHA-256), a landing batch
  is parsed once (Delta app transaction), so clearing or retrying a task is safe.
* **Params:** `price_files` — optional `SOURCE=PATH` files to land instead of
  the bundled ones (formats: `quandl_wiki`, `sp500_2009`).
"""

from __future__ import annotations

from airflow.sdk import DAG, CronDataIntervalTimetable

from jobs.orchestration import flows

with DAG(
    dag_id="pulselake_prices_daily",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    **flows.DAG_DEFAULTS,
    params={"price_files": flows.PRICE_FILES_PARAM},
    doc_md=__doc__,
    tags=["pulselake", "ingestion", "prices"],
):
    flows.step_tasks(flows.plan_window(), names=["prices.land", "prices.bronze"],
                     announces={"prices.bronze": ["bronze.daily_bars"]})
