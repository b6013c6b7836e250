"""Intraday model inputs: per symbol, the last `window` 1-minute bars of one trading day, labelled with the
return over the next `horizon_minutes`. Pure pandas/NumPy: the nightly trains on these, the stream scores them.

Point in time. A bar is known once its minute is over (`closed_at` = minute_start + 1 min). A window whose last
bar closed at t predicts from t: every value in it comes from bars closed at or before t. The label is the return
from that bar's close to the price at t + N, the close of the last bar of the same symbol and day closed by then,
and it exists only once a bar closing at or after t + N does (until then the price at t + N is not known). Labels
of a day are known within the day, and the walk-forward trains only on days before the one it predicts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from jobs.models.config import IntradayConfig
from jobs.models.features import Samples

BAR_FEATURES = ("return_1m", "range_pct", "log_volume", "close_to_vwap")
SENTIMENT_FEATURE = "sent_prev_day"
MINUTE = pd.Timedelta(minutes=1)
# Fixed, row-wise bounds: a bad print cannot steer the fit, and no bound peeks at other rows.
_CLIP = {"return_1m": (-0.2, 0.2), "range_pct": (0.0, 0.2), "log_volume": (0.0, 30.0), "close_to_vwap": (-0.2, 0.2)}
BAR_COLUMNS = ["symbol", "minute_start", "open", "high", "low", "close", "volume", "vwap", "trade_date"]


@dataclass
class IntradaySamples:
    """Windows (`samples.date` is the trading day: walk-forward folds are days) with when each predicts from."""

    samples: Samples
    at: np.ndarray  # datetime64[ns], UTC: the window's last bar closed then; the prediction is made from it
    close: np.ndarray  # that bar's close: the price the predicted return applies to

    def take(self, mask: np.ndarray) -> "IntradaySamples":
        return IntradaySamples(self.samples.take(mask), self.at[mask], self.close[mask])

    def __len__(self) -> int:
        return len(self.samples)


def feature_names(with_sentiment: bool) -> tuple[str, ...]:
    return BAR_FEATURES + ((SENTIMENT_FEATURE,) if with_sentiment else ())


def bar_features(bars: pd.DataFrame) -> pd.DataFrame:
    """silver.bars_1m rows -> one row per bar in (symbol, minute_start) order, with `closed_at` (naive UTC) and
    the bar features. The first bar of a day measures its return from its own open (no overnight gap)."""
    data = bars[BAR_COLUMNS].copy()
    data["minute_start"] = _naive_utc(data["minute_start"])
    data["trade_date"] = pd.to_datetime(data["trade_date"]).dt.normalize()
    data = data.sort_values(["symbol", "minute_start"]).reset_index(drop=True)
    data["closed_at"] = data["minute_start"] + MINUTE
    close = data["close"].astype(float)
    previous = data.groupby(["symbol", "trade_date"])["close"].shift(1).fillna(data["open"]).astype(float)
    data["return_1m"] = close / previous - 1
    data["range_pct"] = (data["high"].astype(float) - data["low"].astype(float)) / close
    data["log_volume"] = np.log1p(data["volume"].astype(float).clip(lower=0))
    data["close_to_vwap"] = (close / data["vwap"].astype(float) - 1).fillna(0.0)
    for name, (low, high) in _CLIP.items():
        data[name] = data[name].replace([np.inf, -np.inf], np.nan).clip(low, high)
    return data


def prices_at(features: pd.DataFrame, queries: pd.DataFrame) -> np.ndarray:
    """Per row of `queries` (symbol, trade_date, target): the price at `target`, the close of the last bar of that
    symbol and day (rows of `bar_features`) closed by then; NaN while no bar of theirs has closed at or after it
    (a later trade could still come before `target`) or none closed by then."""
    if queries.empty:
        return np.array([], dtype=float)
    asked = queries[["symbol", "trade_date", "target"]].copy()
    asked["target"] = _naive_utc(asked["target"])
    asked["trade_date"] = pd.to_datetime(asked["trade_date"]).dt.normalize()
    asked["_row"] = np.arange(len(asked))
    closes = features[["symbol", "trade_date", "closed_at", "close"]].rename(columns={"closed_at": "target"})
    joined = pd.merge_asof(asked.sort_values("target"), closes.sort_values("target"), on="target",
                           by=["symbol", "trade_date"], direction="backward").sort_values("_row")
    last = features.groupby(["symbol", "trade_date"])["closed_at"].max().rename("_last").reset_index()
    joined = joined.merge(last, on=["symbol", "trade_date"], how="left").sort_values("_row")
    known = (joined["_last"] >= joined["target"]).to_numpy()
    return np.where(known, joined["close"].to_numpy(float), np.nan)


def realised_returns(features: pd.DataFrame, horizon_minutes: int) -> np.ndarray:
    """Per row of `bar_features`: the return from its close to the price `horizon_minutes` after it closed (NaN
    while that price is not known)."""
    queries = features[["symbol", "trade_date"]].assign(
        target=features["closed_at"] + pd.Timedelta(minutes=horizon_minutes))
    return prices_at(features, queries) / features["close"].to_numpy(float) - 1


def previous_day_sentiment(features: pd.DataFrame, sentiment_daily: pd.DataFrame | None) -> np.ndarray:
    """Per bar: the mean sentiment of its symbol on the calendar day before its trading day (complete before the
    session opens); 0 where there is none."""
    if sentiment_daily is None or sentiment_daily.empty:
        return np.zeros(len(features))
    sent = pd.DataFrame({"symbol": sentiment_daily["ticker"],
                         "trade_date": pd.to_datetime(sentiment_daily["day"]).dt.normalize() + pd.Timedelta(days=1),
                         "value": sentiment_daily["mean_sentiment"].astype(float)})
    joined = features[["symbol", "trade_date"]].merge(sent, on=["symbol", "trade_date"], how="left")
    return joined["value"].fillna(0.0).to_numpy()


def build_intraday_samples(bars: pd.DataFrame, config: IntradayConfig, sentiment_daily: pd.DataFrame | None = None,
                           with_sentiment: bool = False) -> IntradaySamples:
    """A window for every bar preceded by `config.window - 1` bars of the same symbol and day."""
    names = feature_names(with_sentiment)
    data = bar_features(bars)
    if with_sentiment:
        data[SENTIMENT_FEATURE] = previous_day_sentiment(data, sentiment_daily)
    label = realised_returns(data, config.horizon_minutes)
    values = data[list(names)].to_numpy(dtype=np.float32)
    window, parts = config.window, []
    group = (data["symbol"] + "|" + data["trade_date"].astype(str)).to_numpy()
    starts = np.flatnonzero(group[1:] != group[:-1]) + 1
    for lo, hi in zip(np.r_[0, starts], np.r_[starts, len(data)]):
        if hi - lo >= window:
            parts.append((np.lib.stride_tricks.sliding_window_view(values[lo:hi], (window, len(names)))[:, 0],
                          np.arange(lo + window - 1, hi)))
    if not parts:
        empty = Samples(np.empty((0, window, len(names)), np.float32), np.array([], dtype=object),
                        np.array([], dtype="datetime64[D]"), np.array([]), np.array([]), names)
        return IntradaySamples(empty, np.array([], dtype="datetime64[ns]"), np.array([]))
    x = np.concatenate([p[0] for p in parts])
    ends = np.concatenate([p[1] for p in parts])
    samples = Samples(x, data["symbol"].to_numpy()[ends], data["trade_date"].to_numpy()[ends].astype("datetime64[D]"),
                      label[ends], data["return_1m"].to_numpy(float)[ends], names)
    out = IntradaySamples(samples, data["closed_at"].to_numpy()[ends], data["close"].to_numpy(float)[ends])
    return out.take(~np.isnan(x).any(axis=(1, 2)) & ~np.isnan(samples.last_return))


def latest_windows(bars: pd.DataFrame, at: pd.Timestamp | dict[str, pd.Timestamp], config: IntradayConfig,
                   sentiment_daily: pd.DataFrame | None = None, with_sentiment: bool = False) -> IntradaySamples:
    """Per symbol, the window ending at its last bar closed at or before `at` (one time, or one per symbol):
    what the model sees when it predicts then. Bars closed after `at` are dropped before any feature is computed,
    so nothing later can move a prediction."""
    data = bars.copy()
    data["_closed"] = _naive_utc(data["minute_start"]) + MINUTE
    if isinstance(at, dict):
        limit = data["symbol"].map({s: _naive_utc_scalar(t) for s, t in at.items()})
    else:
        limit = pd.Series(_naive_utc_scalar(at), index=data.index)
    known = data[limit.notna() & (data["_closed"] <= limit)].drop(columns="_closed")
    windows = build_intraday_samples(known, config, sentiment_daily, with_sentiment)
    if not len(windows):
        return windows
    frame = pd.DataFrame({"symbol": windows.samples.ticker, "at": windows.at})
    newest = frame.groupby("symbol")["at"].transform("max").to_numpy()
    return windows.take(windows.at == newest)


def _naive_utc(values: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(values)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.astype("datetime64[ns]")


def _naive_utc_scalar(value) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp
