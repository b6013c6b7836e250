"""1-minute bars kept current by the stream, and rebuilt whole for a day.

A bar is always recomputed from silver.trades (never patched incrementally), so
it equals what `build_bars_1m` gives over the same trades, however the trades
were split into micro-batches. The stream refreshes the bars of every
(symbol, minute) its batch touched at or after the watermark floor; a trade
older than the floor still lands in silver, but its bar is left alone until
`rebuild_bars_day` (``pulselake stream rebuild-bars``) recomputes the day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.resources.lake import CommitResult, Lake, Txn
from jobs.trades.silver import build_bars_1m
from lake_schema.trades import BARS_1M, SILVER_TRADES


def _minute() -> F.Column:
    return F.date_trunc("minute", "trade_ts")


def beyond(floor: datetime | None) -> F.Column:
    """True for a trade whose minute lies before the watermark floor."""
    if floor is None:
        return F.lit(False)
    return _minute() < F.lit(floor).cast("timestamp")


def watermark_floor(high_water: datetime | None, watermark: timedelta) -> datetime | None:
    """The first minute whose bar the stream still maintains (None: every minute)."""
    if high_water is None:
        return None
    return (high_water - watermark).replace(second=0, microsecond=0)


def minutes_of(trades: DataFrame) -> DataFrame:
    """The distinct (symbol, minute_start) a set of trades falls in. Pure."""
    return trades.select("symbol", _minute().alias("minute_start")).distinct()


def bars_for(silver: DataFrame, touched: DataFrame) -> DataFrame:
    """Bars of exactly the (symbol, minute_start) rows of `touched`, computed over `silver` (which must
    hold every trade of those minutes). Pure: the same `build_bars_1m` the batch path uses."""
    in_touched = silver.withColumn("minute_start", _minute()).join(touched, ["symbol", "minute_start"], "left_semi")
    return build_bars_1m(in_touched.drop("minute_start"))


def upsert_bars(lake: Lake, bars: DataFrame, days: list[date], txn: Txn | None = None) -> CommitResult:
    """`lake.merge` on (symbol, minute_start) for days the caller already knows: the `days` partitions are
    rewritten with `bars` winning. Knowing the days (and that `bars` is unique by construction) saves
    merge's two planning jobs, which dominate a small micro-batch."""
    where = [("trade_date", "in", days)]
    key = list(BARS_1M.merge_key)
    kept = lake.read(BARS_1M, where=where).join(bars.select(*key), key, "left_anti")
    return lake.overwrite(BARS_1M, kept.unionByName(bars.select(*BARS_1M.column_names)), where=where, txn=txn)


def rebuild_bars_day(lake: Lake, day: date) -> CommitResult:
    """Replace one day's bars with bars over all of that day's silver trades (the batch definition)."""
    where = [("trade_date", "=", day)]
    return lake.overwrite(BARS_1M, build_bars_1m(lake.read(SILVER_TRADES, where=where)), where=where)
