"""Silver trades and 1-minute bars from a small bronze fixture (see the CSV beside this file)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from jobs.trades.silver import build_bars_1m, build_silver_trades
from tests.stream.helpers import rows


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


def test_the_streams_arrow_bars_equal_the_batch_bars_for_the_minutes_it_touched(spark):
    """`bars_of_minutes` (the stream's, in Arrow) is `build_bars_1m` restated: same open/close order with ties in
    exchange time, same sums, no VWAP without volume; only the minutes the batch touched."""
    import random
    from datetime import datetime, timedelta, timezone

    from jobs.trades.bars import bars_of_minutes
    from lake_schema.trades import SILVER_TRADES

    rng, start = random.Random(5), datetime(2010, 1, 4, 14, 30, tzinfo=timezone.utc)
    trades = [{"trade_key": key, "symbol": rng.choice(["AAPL", "MSFT"]), "price": round(rng.uniform(99, 101), 2),
               "volume": float(rng.choice([0, 0, 3, 10])), "trade_ts": start + timedelta(seconds=rng.randrange(0, 300, 7)),
               "conditions": ["1"], "received_at": start + timedelta(minutes=6), "trade_date": start.date()}
              for key in rng.sample(range(-10**6, 10**6), 400)]
    table = pa.Table.from_pylist(trades, schema=SILVER_TRADES.arrow_schema())
    batch = table.filter(pc.less(table.column("trade_ts"), pa.scalar(start + timedelta(minutes=2), type=pa.timestamp("us", "UTC"))))
    arrow_bars = spark.createDataFrame(bars_of_minutes(table, batch))
    expected = build_bars_1m(spark.createDataFrame(table)).where(f"minute_start < '{start + timedelta(minutes=2):%Y-%m-%d %H:%M:%S}'")
    assert arrow_bars.count() == expected.count() == 4  # two symbols, two touched minutes
    assert rows(arrow_bars) == rows(expected)


@pytest.mark.slow
def test_the_nightly_builds_closed_days_once_and_leaves_today_to_the_stream(lake, bronze):
    from datetime import datetime, timezone

    from jobs.trades.steps import silver_trades
    from jobs.window import Window
    from lake_schema.quarantine import QUARANTINE
    from lake_schema.trades import BARS_1M, BRONZE_TRADES, GOLD_TRADE_DAILY, SILVER_TRADES

    lake.append(BRONZE_TRADES, bronze)
    untouched = silver_trades(lake, Window.latest(datetime(2010, 1, 4, 18, tzinfo=timezone.utc)))  # 2010-01-04 is "today": the stream's
    assert untouched.tables == {} and lake.read(SILVER_TRADES).count() == 0
    built = silver_trades(lake, Window.latest(datetime(2010, 1, 5, tzinfo=timezone.utc)))
    assert built.tables == {SILVER_TRADES.name: 6, BARS_1M.name: 3, GOLD_TRADE_DAILY.name: 2}
    assert built.quarantined == {"duplicate_record": 1, "price_positive": 1, "not_from_future": 1}
    assert lake.read(QUARANTINE).count() == 3
    again = silver_trades(lake, Window.latest(datetime(2010, 1, 5, tzinfo=timezone.utc)))
    assert again.tables == {} and again.skipped == ["2010-01-04 already built into silver.trades"]
