"""The lake tables other DAGs wait on, as Airflow Assets (one per table that feeds another DAG).

Names are the lake_schema table names, so the Airflow UI's asset graph reads
like the lake. Producers attach the trade-date window they wrote as the asset
event's ``extra`` ({"start": ..., "end": ...}); consumers rebuild exactly that.
"""

from __future__ import annotations

from airflow.sdk import Asset


def _asset(table: str) -> Asset:
    layer, name = table.split(".", 1)
    return Asset(name=table, uri=f"pulselake://{layer}/{name}", group="pulselake")


BRONZE_DAILY_BARS = _asset("bronze.daily_bars")
SILVER_DAILY_BARS = _asset("silver.daily_bars")
GOLD_DAILY_FEATURES = _asset("gold.daily_features")
SILVER_REDDIT = _asset("silver.reddit_posts")
GOLD_PREDICTIONS = _asset("gold.predictions")
GOLD_SENTIMENT_DAILY = _asset("gold.sentiment_daily")
