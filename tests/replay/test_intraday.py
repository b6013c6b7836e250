"""Synthetic intraday trades honour the real daily bars they come from."""

from __future__ import annotations

from datetime import date

import pytest

from jobs.local.replay.intraday import SESSION_SECONDS, daily_bars, day_trades, session_start, synthesize_day, trading_days


def test_paths_honour_open_high_low_close_and_volume():
    bars = daily_bars()
    days = trading_days()
    assert days[0] == date(2009, 8, 21) and days[-1] == date(2010, 8, 20)
    checked = 0
    for symbol in ("AAPL", "GS", "F", "XOM"):
        for day in days[::25]:
            bar = bars[symbol][day]
            trades = synthesize_day(bar, 120, seed=3)
            prices = [t.price for t in trades]
            assert prices[0] == bar.open and prices[-1] == bar.close
            assert max(prices) == max(bar.high, bar.open, bar.close)
            assert min(prices) == min(bar.low, bar.open, bar.close)
            assert sum(t.volume for t in trades) == bar.volume and all(t.volume >= 1 for t in trades)
            open_ms = int(session_start(day).timestamp() * 1000)
            assert trades[0].t_ms == open_ms and trades[-1].t_ms == open_ms + SESSION_SECONDS * 1000 - 1
            assert all(a.t_ms < b.t_ms for a, b in zip(trades, trades[1:]))
            checked += 1
    assert checked >= 40


def test_same_seed_same_trades_other_seed_other_path():
    bar = daily_bars()["MSFT"][date(2010, 1, 5)]
    assert synthesize_day(bar, 50, seed=1) == synthesize_day(bar, 50, seed=1)
    assert [t.price for t in synthesize_day(bar, 50, seed=1)] != [t.price for t in synthesize_day(bar, 50, seed=2)]


def test_day_trades_merge_symbols_in_time_order():
    trades = day_trades(["AAPL", "MSFT", "NOPE"], date(2010, 1, 5), 30)
    assert {t.symbol for t in trades} == {"AAPL", "MSFT"} and len(trades) == 60
    assert [t.t_ms for t in trades] == sorted(t.t_ms for t in trades)


def test_the_nightly_replays_the_days_the_environment_asks_for(monkeypatch):
    from jobs.resources.settings import Settings
    from jobs.sources.bundled import REPLAY_DAYS

    monkeypatch.delenv("PULSELAKE_REPLAY_DAYS", raising=False)
    assert Settings().replay_days == REPLAY_DAYS
    monkeypatch.setenv("PULSELAKE_REPLAY_DAYS", "5")
    assert Settings().replay_days == 5
    for bad in ("0", "three", "-2"):
        monkeypatch.setenv("PULSELAKE_REPLAY_DAYS", bad)
        with pytest.raises(ValueError, match="replay_days"):
            Settings()
