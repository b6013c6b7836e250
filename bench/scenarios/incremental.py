"""Scenario 2: rebuilding one day must cost the same in a 10-day and a 100-day lake."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from bench.synthetic import synthetic_bronze_trades
from bench.timing import measured
from jobs.resources.lake import Lake
from jobs.resources.settings import Settings
from jobs.trades.silver import build_bars_1m, build_silver_trades
from lake_schema.trades import BARS_1M, BRONZE_TRADES, SILVER_TRADES

ROWS_PER_DAY = 100_000


def rebuild_day(lake: Lake, day: date) -> None:
    where = [("trade_date", "=", day)]
    silver, _ = build_silver_trades(lake.read(BRONZE_TRADES, where=where))
    lake.overwrite(SILVER_TRADES, silver, where=where)
    lake.overwrite(BARS_1M, build_bars_1m(lake.read(SILVER_TRADES, where=where)), where=where)


def run(spark, workdir: Path, sizes: list[int]) -> list[dict]:
    row: dict = {"scenario": "incremental", "rows_per_day": ROWS_PER_DAY}
    for days in (10, 100):
        lake = Lake(spark, Settings(lake_root=str(workdir / f"incremental_{days}"), spark_master=spark.sparkContext.master))
        lake.append(BRONZE_TRADES, synthetic_bronze_trades(spark, ROWS_PER_DAY * days, tickers=100, days=days))
        last_day = date(2010, 1, 4) + timedelta(days=days - 1)
        rebuild_day(lake, last_day)  # warm-up, so both sizes are measured warm
        with measured(row, f"rebuild_day_lake_{days}d"):
            rebuild_day(lake, last_day)
    row["ratio_100d_over_10d"] = round(row["rebuild_day_lake_100d_s"] / row["rebuild_day_lake_10d_s"], 2)
    return [row]
