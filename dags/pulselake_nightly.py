"""
### Nightly lake build

Every step of the declared pipeline (`pulselake graph`; jobs/pipeline/graph.py) except the collectors, which
run as services or their own DAGs: prices land → bronze → silver → gold; the Reddit, trade and Finnhub REST
topics → bronze → silver; post sentiment; gold sentiment; the model's walk-forward train + evaluate; the
next-day scores. Each task waits for the tasks that write what it reads.

* **Scheduled by assets:** runs when `pulselake_prices_daily` updates
  `bronze.daily_bars`; the window is the one that DAG recorded on the asset event.
* **Manual runs:** the window is the run's data interval (the day of its
  logical date when none is given).
* **Partitions:** every step takes the run's window: price silver and gold
  replace exactly its months, Reddit silver and sentiment take the posts created
  in it, trades rebuild its closed days, the models train and score to its end;
  a retry or a rerun leaves the lake unchanged.
* **Params:** `price_files` — optional `SOURCE=PATH` files to land instead of the bundled ones.

Produces the `silver.daily_bars`, `gold.daily_features`, `gold.sentiment_daily`
and `gold.predictions` assets.
"""

from __future__ import annotations

from airflow.sdk import DAG

from jobs.orchestration import flows

with DAG(
    dag_id="pulselake_nightly",
    schedule=[flows.table_asset("bronze.daily_bars")],
    **flows.DAG_DEFAULTS,
    params={"price_files": flows.PRICE_FILES_PARAM},
    doc_md=__doc__,
    tags=["pulselake", "nightly"],
):
    flows.step_tasks(flows.plan_window(), announces={
        "prices.gold": ["silver.daily_bars", "gold.daily_features"],
        "gold.sentiment": ["gold.sentiment_daily"],
        "models.score": ["gold.predictions"],
    })
