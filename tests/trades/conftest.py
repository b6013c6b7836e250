"""The bronze trades fixture (the CSV beside these tests), shared by the silver and gold tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import functions as F

FIXTURE = Path(__file__).parent / "fixtures" / "bronze_trades.csv"


@pytest.fixture
def bronze(spark):
    raw = spark.read.option("header", True).csv(str(FIXTURE))
    return raw.select(
        "record_id", "symbol", F.col("price").cast("double").alias("price"), F.col("volume").cast("double").alias("volume"),
        F.to_timestamp("trade_ts").alias("trade_ts"), F.split("conditions", ";").alias("conditions"),
        F.to_timestamp("received_at").alias("received_at"), "source_file", F.col("line_number").cast("long").alias("line_number"),
        F.to_date(F.to_timestamp("trade_ts")).alias("trade_date"),
    )
