"""Gold daily bars from the tick path: rolling up 1-minute bars must equal aggregating the trades directly."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from jobs.trades.gold import build_trade_daily
from jobs.trades.silver import build_bars_1m


def _random_trades(seed: int = 3, rows: int = 4_000) -> pd.DataFrame:
    """Silver-shaped trades over two days and three symbols, some with zero volume."""
    rng = np.random.default_rng(seed)
    opens = [datetime(2024, 3, 4, 14, 30, tzinfo=timezone.utc), datetime(2024, 3, 5, 14, 30, tzinfo=timezone.utc)]
    stamps = [opens[d] + timedelta(microseconds=int(us)) for d, us in
              zip(rng.integers(0, 2, rows), rng.integers(0, 6.5 * 3600 * 1e6, rows))]
    frame = pd.DataFrame({
        "symbol": rng.choice(["AAA", "BBB", "CCC"], rows),
        "price": np.round(rng.uniform(10, 20, rows), 2),
        "volume": rng.choice([0, 1, 5, 100], rows).astype(float),
        "trade_ts": pd.to_datetime(stamps, utc=True),
    })
    frame["trade_key"] = list(range(rows))
    frame["trade_date"] = frame["trade_ts"].dt.date
    return frame


def _direct_daily(trades: pd.DataFrame) -> pd.DataFrame:
    ordered = trades.sort_values(["trade_ts", "trade_key"])
    grouped = ordered.groupby(["symbol", "trade_date"])
    daily = grouped.agg(open=("price", "first"), high=("price", "max"), low=("price", "min"), close=("price", "last"),
                        volume=("volume", "sum"), trade_count=("price", "size"))
    notional = (ordered["price"] * ordered["volume"]).groupby([ordered["symbol"], ordered["trade_date"]]).sum()
    daily["vwap"] = (notional / daily["volume"]).where(daily["volume"] > 0)
    daily["bar_minutes"] = grouped["trade_ts"].apply(lambda ts: ts.dt.floor("min").nunique())
    return daily.reset_index()


def test_daily_bars_from_minute_bars_equal_the_trades_rolled_up_directly(spark):
    trades = _random_trades()
    silver = spark.createDataFrame(trades.assign(trade_ts=trades["trade_ts"].dt.tz_convert(None)))
    got = build_trade_daily(build_bars_1m(silver)).toPandas().sort_values(["symbol", "trade_date"]).reset_index(drop=True)
    want = _direct_daily(trades).sort_values(["symbol", "trade_date"]).reset_index(drop=True)
    assert len(got) == len(want) == 6
    for column in ("open", "high", "low", "close", "volume", "trade_count", "bar_minutes"):
        assert got[column].tolist() == want[column].tolist(), column
    assert got["vwap"].to_numpy() == pytest.approx(want["vwap"].to_numpy())


def test_a_day_without_volume_has_no_vwap(spark):
    trades = _random_trades(rows=50).assign(volume=0.0)
    silver = spark.createDataFrame(trades.assign(trade_ts=trades["trade_ts"].dt.tz_convert(None)))
    daily = build_trade_daily(build_bars_1m(silver)).collect()
    assert daily and all(row.vwap is None and row.volume == 0 for row in daily)
