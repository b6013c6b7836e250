"""Seeded intraday trades synthesised from real daily bars.

The bundled S&P 500 file (2009-08-21 .. 2010-08-20) gives each ticker's daily
open, high, low, close and volume. For one ticker and day we draw a random
path through the regular session (09:30-16:00 New York) that starts at the
open, ends at the close, touches the high and the low exactly and never leaves
them, with trade sizes summing to the day's volume. The same seed, ticker and
day always give the same trades, so replays are reproducible.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from jobs.sources.bundled import bundled_bar_files

NEW_YORK = ZoneInfo("America/New_York")
SESSION_OPEN = time(9, 30)
SESSION_SECONDS = 6 * 3600 + 30 * 60
REPLAY_SOURCE = "sp500_2009"


@dataclass(frozen=True)
class DailyBar:
    symbol: str
    day: date
    open: float
    high: float
    low: float
    close: float
    volume: int


@dataclass(frozen=True)
class Trade:
    symbol: str
    t_ms: int  # exchange time, ms since the epoch (Finnhub's "t")
    price: float
    volume: int
    conditions: tuple[str, ...]

    def to_wire(self) -> dict:
        return {"s": self.symbol, "p": self.price, "t": self.t_ms, "v": self.volume, "c": list(self.conditions)}


@lru_cache(maxsize=1)
def daily_bars() -> dict[str, dict[date, DailyBar]]:
    """All bars of the bundled S&P 500 file, by symbol then day (read once, ~140k rows)."""
    source = next(f for f in bundled_bar_files() if f.source == REPLAY_SOURCE)
    frame = pd.read_csv(source.path, dtype={"Date": str, "Symbol": str})
    frame["Date"] = pd.to_datetime(frame["Date"], format="%Y%m%d", errors="coerce").dt.date
    numeric = ["Open", "High", "Low", "Close", "Volume"]
    frame[numeric] = frame[numeric].apply(pd.to_numeric, errors="coerce")
    frame = frame.dropna()  # the replay only needs usable bars; bronze reports the bad lines
    bars: dict[str, dict[date, DailyBar]] = {}
    for row in frame.itertuples(index=False):
        bar = DailyBar(str(row.Symbol).strip().upper(), row.Date, float(row.Open), float(row.High), float(row.Low),
                       float(row.Close), int(row.Volume))
        bars.setdefault(bar.symbol, {})[bar.day] = bar
    return bars


def trading_days(start: date | None = None, end: date | None = None) -> list[date]:
    days = sorted({d for by_day in daily_bars().values() for d in by_day})
    return [d for d in days if (start is None or d >= start) and (end is None or d <= end)]


def session_start(day: date) -> datetime:
    return datetime.combine(day, SESSION_OPEN, tzinfo=NEW_YORK)


def _rng(seed: int, symbol: str, day: date) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}:{symbol}:{day.isoformat()}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _bridge(rng: np.random.Generator, start: float, end: float, steps: int, scale: float) -> np.ndarray:
    """A Brownian bridge of `steps` intervals from `start` to `end` (both included)."""
    if steps <= 0:
        return np.array([start])
    walk = np.concatenate([[0.0], np.cumsum(rng.normal(0.0, scale, steps))])
    frac = np.linspace(0.0, 1.0, steps + 1)
    return start + walk - frac * walk[-1] + frac * (end - start)


def synthesize_day(bar: DailyBar, trades_per_day: int, seed: int = 0) -> list[Trade]:
    """Trades for one bar: first at the open, last at the close, extremes at high and low, volumes summing up."""
    if bar.volume <= 0:
        return []
    high = max(bar.high, bar.open, bar.close)
    low = min(bar.low, bar.open, bar.close)
    n = int(min(max(trades_per_day, 4), bar.volume))
    rng = _rng(seed, bar.symbol, bar.day)
    if n < 4:  # too little volume for four prints: open, extremes and close share prints
        anchors = [(0, bar.open), (n - 1, bar.close)]
    else:
        i_high, i_low = (int(i) for i in rng.choice(np.arange(1, n - 1), size=2, replace=False))
        anchors = sorted([(0, bar.open), (i_high, high), (i_low, low), (n - 1, bar.close)])
    prices = np.empty(n)
    scale = max(high - low, 0.01) / max(np.sqrt(n), 1.0)
    for (i0, p0), (i1, p1) in zip(anchors, anchors[1:]):
        prices[i0:i1 + 1] = _bridge(rng, p0, p1, i1 - i0, scale)
    prices = np.clip(np.round(prices, 4), low, high)
    for i, p in anchors:  # exact, unrounded anchors
        prices[i] = p

    # Strictly increasing times from the open print (0) to the closing print (last ms of the session).
    span_ms = SESSION_SECONDS * 1000 - 1
    if n >= 2:
        gaps = 1 + rng.multinomial(span_ms - (n - 1), rng.dirichlet(np.ones(n - 1)))
        offsets_ms = np.concatenate([[0], np.cumsum(gaps)])
    else:
        offsets_ms = np.array([0])
    volumes = 1 + rng.multinomial(bar.volume - n, rng.dirichlet(np.ones(n))) if n > 1 else np.array([bar.volume])
    base_ms = int(session_start(bar.day).timestamp() * 1000)
    conditions = (("1",), ("1", "12"), ("12",), ())
    picks = rng.choice(len(conditions), size=n, p=[0.7, 0.1, 0.1, 0.1])
    return [
        Trade(bar.symbol, base_ms + int(offsets_ms[i]), float(prices[i]), int(volumes[i]), conditions[int(picks[i])])
        for i in range(n)
    ]


def day_trades(symbols: list[str], day: date, trades_per_day: int, seed: int = 0) -> list[Trade]:
    """All trades of `symbols` on `day`, in exchange-time order (symbols without a bar that day send nothing)."""
    bars = daily_bars()
    out: list[Trade] = []
    for symbol in symbols:
        bar = bars.get(symbol, {}).get(day)
        if bar is not None:
            out.extend(synthesize_day(bar, trades_per_day, seed))
    out.sort(key=lambda t: (t.t_ms, t.symbol))
    return out
