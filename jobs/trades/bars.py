"""1-minute bars kept current by the stream, and rebuilt whole for a day.

A bar is always recomputed from silver.trades (never patched incrementally), so
it equals what `build_bars_1m` gives over the same trades, however the trades
were split into micro-batches. The stream refreshes the bars of every
(symbol, minute) its batch touched at or after the watermark floor; a trade
older than the floor still lands in silver, but its bar is left alone until
`rebuild_bars_day` (``pulselake stream rebuild-bars``) recomputes the day.

The stream's batches are a few thousand trades: `bars_of_minutes` builds their bars
with Arrow on the driver, where a Spark job's fixed cost would be most of the
batch. It is `build_bars_1m` restated for Arrow (same open/close order, same
sums); tests hold the two to the same bars.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from jobs.resources.lake import CommitResult, Lake
from jobs.trades.silver import build_bars_1m
from lake_schema.trades import BARS_1M, SILVER_TRADES


def beyond(trades: pa.Table, floor: datetime | None) -> pa.ChunkedArray:
    """True for a trade whose minute lies before the watermark floor."""
    ts = trades.column("trade_ts")
    if floor is None:
        return pa.chunked_array([pa.repeat(False, trades.num_rows)])
    return pc.less(pc.floor_temporal(ts, unit="minute"), pa.scalar(floor, type=ts.type))


def watermark_floor(high_water: datetime | None, watermark: timedelta) -> datetime | None:
    """The first minute whose bar the stream still maintains (None: every minute)."""
    if high_water is None:
        return None
    return (high_water - watermark).replace(second=0, microsecond=0)


def bars_of_minutes(trades: pa.Table, batch: pa.Table) -> pa.Table:
    """Bars (silver.bars_1m rows) of the (symbol, minute) `batch`'s trades fall in, over `trades` (which must hold
    every trade of those minutes). Pure."""
    touched = pa.table({"symbol": batch.column("symbol"),
                        "minute_start": pc.floor_temporal(batch.column("trade_ts"), unit="minute")})
    price, volume = trades.column("price"), trades.column("volume")
    rows = pa.table({"symbol": trades.column("symbol"),
                     "minute_start": pc.floor_temporal(trades.column("trade_ts"), unit="minute"),
                     "trade_ts": trades.column("trade_ts"), "trade_key": trades.column("trade_key"),
                     "price": price, "volume": volume, "notional": pc.multiply(price, volume)})
    rows = rows.join(touched.group_by(["symbol", "minute_start"]).aggregate([]), ["symbol", "minute_start"],
                     join_type="left semi")
    # open and close by exchange time, ties broken by key (min_by/max_by over (trade_ts, trade_key) in Spark)
    rows = rows.sort_by([("symbol", "ascending"), ("minute_start", "ascending"), ("trade_ts", "ascending"),
                         ("trade_key", "ascending")])
    bars = rows.group_by(["symbol", "minute_start"], use_threads=False).aggregate([
        ("price", "first"), ("price", "max"), ("price", "min"), ("price", "last"), ("volume", "sum"),
        ("notional", "sum"), ("price", "count", pc.CountOptions(mode="all"))])
    total = bars.column("volume_sum")
    vwap = pc.if_else(pc.greater(total, 0), pc.divide(bars.column("notional_sum"), total), None)
    minute = bars.column("minute_start")
    return pa.table({"symbol": bars.column("symbol"), "minute_start": minute, "open": bars.column("price_first"),
                     "high": bars.column("price_max"), "low": bars.column("price_min"),
                     "close": bars.column("price_last"), "volume": total, "vwap": vwap,
                     "trade_count": bars.column("price_count"), "trade_date": pc.cast(minute, pa.date32())})


def rebuild_bars_day(lake: Lake, day: date) -> CommitResult:
    """Replace one day's bars with bars over all of that day's silver trades (the batch definition)."""
    where = [("trade_date", "=", day)]
    return lake.overwrite(BARS_1M, build_bars_1m(lake.read(SILVER_TRADES, where=where)), where=where)
