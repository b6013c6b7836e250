"""Silver trades and 1-minute bars from a small bronze fixture (see the CSV beside this file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import functions as F

from jobs.trades.silver import build_bars_1m, build_silver_trades

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


def test_identical_prints_in_one_frame_are_kept_and_a_resent_frame_is_quarantined(bronze):
    silver, rejected = build_silver_trades(bronze)
    ids = {r.trade_key for r in silver.collect()}
    reasons = sorted((r.record_id, r.reason) for r in rejected.collect())
    # r2 and r3 are two identical prints in the same frame: both are trades.
    # r5 is r4's frame received again 2 s later: a repeat.
    # r7 has a negative price; r9 is stamped ten minutes after it was received.
    assert reasons == [("r5", "duplicate_record"), ("r7", "price_positive"), ("r9", "not_from_future")]
    assert silver.count() == 6 == len(ids)


def test_bars_take_open_and_close_by_exchange_time(bronze):
    silver, _ = build_silver_trades(bronze)
    bars = {(r.symbol, r.minute_start.strftime("%H:%M")): r for r in build_bars_1m(silver).collect()}
    first = bars[("AAPL", "14:30")]
    assert (first.open, first.high, first.low, first.close) == (100.0, 101.0, 99.5, 99.5)
    assert first.volume == 40 and first.trade_count == 4
    assert first.vwap == pytest.approx((100 * 10 + 101 * 5 * 2 + 99.5 * 20) / 40)
    assert bars[("AAPL", "14:31")].trade_count == 1
    zero_volume = bars[("MSFT", "14:30")]
    assert zero_volume.volume == 0 and zero_volume.vwap is None


def test_the_nightly_builds_closed_days_once_and_leaves_today_to_the_stream(lake, bronze):
    from datetime import date

    from jobs.trades.pipeline import silver_trades
    from lake_schema.quarantine import QUARANTINE
    from lake_schema.trades import BARS_1M, BRONZE_TRADES, SILVER_TRADES

    lake.append(BRONZE_TRADES, bronze)
    untouched = silver_trades(lake, today=date(2010, 1, 4))  # 2010-01-04 is "today": the stream's
    assert untouched.tables == {} and lake.read(SILVER_TRADES).count() == 0
    built = silver_trades(lake, today=date(2010, 1, 5))
    assert built.tables == {SILVER_TRADES.name: 6, BARS_1M.name: 3}
    assert built.quarantined == {"duplicate_record": 1, "price_positive": 1, "not_from_future": 1}
    assert lake.read(QUARANTINE).count() == 3
    again = silver_trades(lake, today=date(2010, 1, 5))
    assert again.tables == {} and again.skipped == ["2010-01-04 already built"]
