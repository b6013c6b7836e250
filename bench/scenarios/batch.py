"""Scenario 1: synthetic trades through bronze -> silver -> 1-minute bars -> daily gold, Spark vs DuckDB.

Both engines start from the same Parquet input (already-parsed trades: frame parsing is timed by the
stream scenario) and apply the same rules: drop bad prices, deduplicate re-sent trades (by content and position
among a record's identical prints, keyed by a 64-bit hash), build OHLCV bars, roll them up to one row per symbol
and day. Spark writes every layer as a Delta table through
the lake; DuckDB keeps silver in memory (spilling past its memory limit) and writes bars and daily bars as Parquet.
Sizes run 1M, 10M and 100M by default: the curve of time and peak memory per layer. Each size also measures
Spark's floor on that input (a bare Delta write, the silver transform without a write): what no change to the
lake can go below.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.synthetic import synthetic_bronze_trades
from bench.timing import jvm_peak_heap_mib, measured
from jobs.resources.lake import Lake
from jobs.resources.settings import Settings
from jobs.trades.gold import build_trade_daily
from jobs.trades.silver import build_bars_1m, build_silver_trades
from lake_schema.trades import BARS_1M, BRONZE_TRADES, GOLD_TRADE_DAILY, SILVER_TRADES

DUCKDB_SILVER_AND_BARS = """
CREATE OR REPLACE TABLE silver AS
WITH numbered AS (
  SELECT *, row_number() OVER (PARTITION BY symbol, trade_ts, price, volume, coalesce(conditions, []), kafka_topic,
                                            kafka_partition, kafka_offset ORDER BY record_id) AS occurrence
  FROM read_parquet('{source}/*.parquet')
  WHERE price > 0 AND volume >= 0 AND trade_ts <= received_at + INTERVAL 5 SECOND
)
SELECT * EXCLUDE (copy, occurrence) FROM (
  SELECT *, hash(symbol, trade_ts, price, volume, coalesce(conditions, []), occurrence) AS trade_key,
         row_number() OVER (PARTITION BY symbol, trade_ts, price, volume, coalesce(conditions, []), occurrence
                            ORDER BY received_at, kafka_topic, kafka_partition, kafka_offset, record_id) AS copy
  FROM numbered
) WHERE copy = 1;
COPY (
  SELECT symbol, date_trunc('minute', trade_ts) AS minute_start,
         arg_min(price, (trade_ts, trade_key)) AS open, max(price) AS high, min(price) AS low,
         arg_max(price, (trade_ts, trade_key)) AS close, sum(volume) AS volume,
         CASE WHEN sum(volume) > 0 THEN sum(price * volume) / sum(volume) END AS vwap, count(*) AS trade_count
  FROM silver GROUP BY ALL
) TO '{bars}' (FORMAT parquet);
COPY (
  SELECT symbol, CAST(minute_start AS DATE) AS trade_date, arg_min(open, minute_start) AS open, max(high) AS high,
         min(low) AS low, arg_max(close, minute_start) AS close, sum(volume) AS volume,
         CASE WHEN sum(volume) > 0 THEN sum(coalesce(vwap * volume, 0)) / sum(volume) END AS vwap,
         sum(trade_count) AS trade_count, count(*) AS bar_minutes
  FROM read_parquet('{bars}') GROUP BY ALL
) TO '{daily}' (FORMAT parquet);
"""


_SCRATCH = ("batch_input_{rows}", "batch_lake_{rows}", "batch_floor_{rows}", "duck_spill_{rows}",
            "duck_bars_{rows}.parquet", "duck_daily_{rows}.parquet")
DUCKDB_MEMORY_LIMIT = "10GB"  # beside Spark's 8 GiB driver; above it DuckDB spills to its temp directory


def run(spark, workdir: Path, sizes: list[int]) -> list[dict]:
    """One row per size; a size that fails is a row with `completed` false and its error, and the next size runs."""
    results = []
    for rows in sizes:
        row: dict = {"scenario": "batch", "rows": rows}
        try:
            results.append(_one_size(spark, workdir, rows, row) | {"completed": True})
        except Exception as error:  # noqa: BLE001 - the failure is the result (e.g. out of memory at 100M)
            results.append(row | {"completed": False, "error": f"{type(error).__name__}: {str(error)[:300]}"})
        finally:
            for name in _SCRATCH:  # 100M rows of inputs and tables: free the disk for the next size
                path = workdir / name.format(rows=rows)
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    return results


def _one_size(spark, workdir: Path, rows: int, row: dict) -> dict:
    import duckdb

    source = workdir / f"batch_input_{rows}"
    synthetic_bronze_trades(spark, rows).write.mode("overwrite").parquet(str(source))
    lake = Lake(spark, Settings(lake_root=str(workdir / f"batch_lake_{rows}"), spark_master=spark.sparkContext.master))
    with measured(row, "bronze"):
        lake.append(BRONZE_TRADES, spark.read.parquet(str(source)))
    with measured(row, "silver"):
        silver, rejected = build_silver_trades(lake.read(BRONZE_TRADES))
        lake.overwrite(SILVER_TRADES, silver)
    with measured(row, "bars_1m"):
        bars_written = lake.overwrite(BARS_1M, build_bars_1m(lake.read(SILVER_TRADES))).rows
    with measured(row, "daily_gold"):
        daily_written = lake.overwrite(GOLD_TRADE_DAILY, build_trade_daily(lake.read(BARS_1M))).rows
    row["spark_to_silver_s"] = round(row["bronze_s"] + row["silver_s"], 2)
    row["spark_total_s"] = round(row["spark_to_silver_s"] + row["bars_1m_s"] + row["daily_gold_s"], 2)
    row["trades_per_s_to_silver"] = round(rows / row["spark_to_silver_s"])
    row["jvm_peak_heap_mib"] = jvm_peak_heap_mib(spark)
    connection = duckdb.connect()
    connection.execute("SET threads TO 2")
    connection.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    connection.execute(f"SET temp_directory = '{workdir / f'duck_spill_{rows}'}'")
    with measured(row, "duckdb_total"):
        connection.execute(DUCKDB_SILVER_AND_BARS.format(source=source, bars=workdir / f"duck_bars_{rows}.parquet",
                                                         daily=workdir / f"duck_daily_{rows}.parquet"))
    for name, written in (("bars", bars_written), ("daily", daily_written)):
        duck = connection.execute(f"SELECT count(*) FROM '{workdir / f'duck_{name}_{rows}.parquet'}'").fetchone()[0]
        assert duck == written, f"DuckDB built {duck} {name} rows, Spark {written}: the transforms differ"
    connection.close()
    row["bars"], row["daily_bars"] = bars_written, daily_written
    row["spark_over_duckdb"] = round(row["spark_total_s"] / row["duckdb_total_s"], 2)
    _floor(spark, workdir, source, rows, row)
    return row


def _floor(spark, workdir: Path, source: Path, rows: int, row: dict) -> None:
    """What Spark cannot go below on this input, whatever the lake does: a bare Delta write of the input (no rules,
    no transaction, no shuffle) and the silver transform computed without writing. Their sum against DuckDB's
    whole pipeline is the ratio no change to the lake's write path can beat."""
    floor_table = workdir / f"batch_floor_{rows}"
    with measured(row, "floor_delta_write"):
        spark.read.parquet(str(source)).write.format("delta").partitionBy("trade_date").save(str(floor_table))
    with measured(row, "floor_silver_compute"):
        build_silver_trades(spark.read.parquet(str(source)))[0].write.format("noop").mode("overwrite").save()
    row["floor_over_duckdb"] = round((row["floor_delta_write_s"] + row["floor_silver_compute_s"])
                                     / row["duckdb_total_s"], 2)
