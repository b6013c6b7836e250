"""Intraday samples (pure): labels from the price N minutes later, and windows that see only closed bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobs.models.config import load_intraday_config
from jobs.models.intraday import bar_features, build_intraday_samples, latest_windows, realised_returns
from tests.models.intraday_data import last_days, pandas_bars, replay_trades, tiny_intraday_config


def bars_at(symbol: str, minutes: list[int], closes: list[float], day: str = "2010-08-20") -> pd.DataFrame:
    start = pd.Timestamp(f"{day} 13:30", tz="UTC")
    return pd.DataFrame({"symbol": symbol, "minute_start": [start + pd.Timedelta(minutes=m) for m in minutes],
                         "open": closes, "high": closes, "low": closes, "close": closes, "volume": 10.0,
                         "vwap": closes, "trade_date": pd.Timestamp(day).date()})


def test_the_label_is_the_price_at_the_horizon_known_only_once_a_bar_closes_at_or_after_it():
    # Bars at minutes 0, 1, 2, 4, 9 (none at 3, 5-8): minute m's bar closes at m + 1.
    features = bar_features(bars_at("AAPL", [0, 1, 2, 4, 9], [100.0, 101.0, 102.0, 104.0, 109.0]))
    got = realised_returns(features, horizon_minutes=3)
    # closed 1 -> price at 4 = close of the bar closed by 4 (minute 2's? no: minute 2 closes at 3; minute 4 closes
    # at 5) = 102; closed 2 -> at 5: minute 4's bar closed at 5 -> 104; closed 3 -> at 6: still 104 (known: minute
    # 9 closes at 10 >= 6); closed 5 -> at 8: 104; closed 10 -> at 13: no bar closes at or after 13 -> unknown.
    expected = [102 / 100 - 1, 104 / 101 - 1, 104 / 102 - 1, 104 / 104 - 1, np.nan]
    np.testing.assert_allclose(got, expected)


def test_a_label_never_crosses_into_another_symbol_or_day():
    both = pd.concat([bars_at("AAPL", [0, 1], [100.0, 101.0]), bars_at("MSFT", [2, 3, 4], [50.0, 60.0, 70.0]),
                      bars_at("AAPL", [0, 5], [10.0, 20.0], day="2010-08-23")])
    got = realised_returns(bar_features(both), horizon_minutes=2)
    # AAPL day 1 closes at 1 and 2: no AAPL bar of that day closes at 3 or 4 (MSFT's do) -> both unknown.
    # MSFT closes at 3, 4, 5: only the first's target (5) is known -> 70 / 50. AAPL day 2 closes at 1 and 6: the
    # first's target, 3, is known (minute 5's bar closed at 6) and its price is still 10 (no trade until minute 5).
    # (rows come in symbol, then time order: AAPL's two days, then MSFT)
    assert np.isnan(got).tolist() == [True, True, False, True, False, True, True]
    assert got[~np.isnan(got)].tolist() == pytest.approx([0.0, 70 / 50 - 1])


def test_windows_hold_one_trading_day_of_one_symbol_and_predict_from_their_last_close():
    config = tiny_intraday_config(window=5)
    bars = pandas_bars(replay_trades(last_days(2), ["AAPL", "MSFT"], 200))
    samples = build_intraday_samples(bars, config)
    assert len(samples) == sum(max(0, len(g) - 4) for _, g in bars.groupby(["symbol", "trade_date"]))
    assert samples.samples.x.shape[1:] == (5, 4) and not np.isnan(samples.samples.x).any()
    features = bar_features(bars).set_index(["symbol", "closed_at"])
    for i in range(0, len(samples), 97):
        row = features.loc[(samples.samples.ticker[i], pd.Timestamp(samples.at[i]))]
        assert samples.close[i] == row["close"] and samples.samples.x[i, -1, 0] == pytest.approx(row["return_1m"])
        assert pd.Timestamp(samples.at[i]).date() == pd.Timestamp(samples.samples.date[i]).date()


def test_scoring_sees_only_bars_closed_by_the_prediction_time():
    """Change every bar after t: nothing the model is given at t moves."""
    config = tiny_intraday_config(window=8)
    bars = pandas_bars(replay_trades(last_days(1), ["AAPL", "JPM"], 390))
    t = pd.Timestamp(bars["minute_start"].sort_values().iloc[len(bars) // 2]) + pd.Timedelta(seconds=30)
    before = latest_windows(bars, t, config)
    later = pd.to_datetime(bars["minute_start"]) + pd.Timedelta(minutes=1) > t
    assert later.any() and (~later).any()
    changed = bars.copy()
    changed.loc[later, ["open", "high", "low", "close", "vwap"]] *= 3.0
    changed.loc[later, "volume"] += 1e6
    after = latest_windows(changed, t, config)
    assert len(before) == 2 and (before.at <= t.tz_convert(None).to_datetime64()).all()
    np.testing.assert_array_equal(before.samples.x, after.samples.x)
    np.testing.assert_array_equal(before.at, after.at)
    np.testing.assert_array_equal(before.close, after.close)
    # ...and a bar at or before t does move it.
    earlier = changed.copy()
    earlier.loc[~later, "close"] *= 1.01
    assert not np.array_equal(latest_windows(earlier, t, config).samples.x, before.samples.x)


def test_the_shipped_intraday_config_loads():
    config = load_intraday_config("intraday")
    assert config.horizon_minutes == 5 and config.window == 30 and config.network.kind == "global"
    assert config.fingerprint() != tiny_intraday_config().fingerprint()
