"""Scenario 6: what Delta (delta-spark) costs against plain Spark Parquet, same data, same session."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import functions as F

from bench.synthetic import synthetic_bronze_trades
from bench.timing import measured
from jobs.resources.lake import Lake
from jobs.resources.settings import Settings
from lake_schema.trades import BRONZE_TRADES


def run(spark, workdir: Path, sizes: list[int]) -> list[dict]:
    results = []
    for rows in sizes:
        source = workdir / f"lake_io_input_{rows}"
        synthetic_bronze_trades(spark, rows).write.mode("overwrite").parquet(str(source))
        data = spark.read.parquet(str(source))
        lake = Lake(spark, Settings(lake_root=str(workdir / f"lake_io_{rows}"), spark_master=spark.sparkContext.master))
        plain = str(workdir / f"lake_io_plain_{rows}")
        row: dict = {"scenario": "lake_io", "rows": rows}
        with measured(row, "delta_write"):
            lake.append(BRONZE_TRADES, data)
        with measured(row, "parquet_write"):
            data.repartition(spark.sparkContext.defaultParallelism, "trade_date").write.mode("overwrite") \
                .partitionBy("trade_date").parquet(plain)
        aggregate = [F.count("*").alias("n"), F.sum("price").alias("p")]
        with measured(row, "delta_read"):
            delta_sum = lake.read(BRONZE_TRADES).agg(*aggregate).first()
        with measured(row, "parquet_read"):
            plain_sum = spark.read.parquet(plain).agg(*aggregate).first()
        assert delta_sum["n"] == plain_sum["n"] == rows, "both paths must hold every row"
        row["write_ratio"] = round(row["delta_write_s"] / row["parquet_write_s"], 2)
        row["read_ratio"] = round(row["delta_read_s"] / row["parquet_read_s"], 2)
        results.append(row)
    return results
