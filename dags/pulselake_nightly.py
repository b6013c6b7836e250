"""
### Nightly lake build

landing → bronze → silver → gold → train + evaluate → score, for the trade
dates the run covers. Two branches meet at gold sentiment:

* prices: land → bronze → symbols → silver → gold daily features (the window's months);
* Reddit and trades: landed files (from `pulselake_reddit_hourly` and the trade
  collector) → bronze → silver → post sentiment, and landed trades → bronze;

then gold sentiment (daily sentiment, post price windows, lead-lag), the
model's walk-forward train + evaluate, and the next-day scores.

* **Scheduled by assets:** runs when `pulselake_prices_daily` updates
  `bronze.daily_bars`; the window is the one that DAG recorded on the asset event.
* **Manual runs:** the window is the run's data interval (the day of its
  logical date when none is given).
* **Partitions:** silver and gold replace exactly the months of the window
  (`trade_month`), so a retry or a rerun leaves the lake unchanged; the model
  steps are idempotent per training config and as-of day.
* **Params:** `price_files` — optional `SOURCE=PATH` files to land instead of the bundled ones.

Produces the `silver.daily_bars`, `gold.daily_features`, `gold.sentiment_daily`
and `gold.predictions` assets.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import DAG

from jobs.orchestration import assets, flows

with DAG(
    dag_id="pulselake_nightly",
    schedule=[assets.BRONZE_DAILY_BARS],
    start_date=datetime(2000, 1, 1, tzinfo=timezone.utc),  # the bundled history starts in 2000
    catchup=False,
    max_active_runs=1,
    default_args=flows.DEFAULT_ARGS,
    params={"price_files": flows.PRICE_FILES_PARAM},
    doc_md=__doc__,
    tags=["pulselake", "nightly"],
):
    gold = flows.price_layers(flows.plan_window())
    scored, trades = flows.sentiment_layers()
    sentiment = flows.gold_sentiment()
    [gold, scored, trades] >> sentiment >> flows.train_and_evaluate() >> flows.score()
