"""Model inputs: per ticker, a window of the last `window` days of features ending at day t,
labelled with the return from t's close to the next trading day's close.

Point in time: every value in a window ending at t comes from a row dated at or
before t (gold.daily_features is itself look-ahead free, transforms here are
row-wise, and sentiment is taken from the *previous* calendar day, whose
aggregate is complete before the US close of t). Only the label looks forward,
and labels are used for training strictly before the days being predicted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from jobs.models.config import ExperimentConfig

# Sentiment aggregates the model takes when a daily sentiment frame is given
# (the columns of gold.sentiment_daily, see lake_schema/gold_sentiment.py).
SENTIMENT_FEATURES = ("sent_posts_log", "sent_mean", "sent_weighted", "sent_bullish_share")

# Fixed, row-wise bounds: robust to bad prints without peeking at other days.
_CLIP = {
    "return_1d": (-0.5, 0.5), "return_5d": (-0.8, 0.8), "return_20d": (-0.9, 1.5),
    "volatility_20d": (0.0, 0.3), "range_pct": (0.0, 0.5), "volume_z_20d": (-5.0, 5.0),
    "close_to_sma_20d": (-0.5, 0.5), "log_dollar_volume": (0.0, 30.0),
}


@dataclass
class Samples:
    """Windows and labels. `y` is NaN where the next day is not known yet (scoring rows)."""

    x: np.ndarray  # (n, window, features) float32
    ticker: np.ndarray  # (n,) str
    date: np.ndarray  # (n,) datetime64[D]: the last day in the window, when the prediction is made
    y: np.ndarray  # (n,) float64 next-day return
    last_return: np.ndarray  # (n,) float64 return_1d on `date` (for the yesterday's-return baseline)
    feature_names: tuple[str, ...]

    def take(self, mask: np.ndarray) -> "Samples":
        return Samples(self.x[mask], self.ticker[mask], self.date[mask], self.y[mask], self.last_return[mask], self.feature_names)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def labelled(self) -> np.ndarray:
        return ~np.isnan(self.y)


def select_universe(features: pd.DataFrame, config: ExperimentConfig) -> pd.DataFrame:
    """Rows of gold.daily_features the experiment covers (tickers, dates, day coverage)."""
    universe = config.universe
    frame = features.copy()
    frame["trade_date"] = pd.to_datetime(frame["trade_date"]).dt.normalize()
    if universe.tickers:
        frame = frame[frame["ticker"].isin(universe.tickers)]
    if universe.max_tickers:
        keep = sorted(frame["ticker"].unique())[: universe.max_tickers]
        frame = frame[frame["ticker"].isin(keep)]
    if universe.start:
        frame = frame[frame["trade_date"] >= pd.Timestamp(universe.start)]
    if universe.end:
        frame = frame[frame["trade_date"] <= pd.Timestamp(universe.end)]
    if universe.min_day_coverage > 0 and not frame.empty:
        per_day = frame.groupby("trade_date")["ticker"].transform("size")
        frame = frame[per_day >= universe.min_day_coverage * frame["ticker"].nunique()]
    return frame.sort_values(["ticker", "trade_date"]).reset_index(drop=True)


def add_sentiment(frame: pd.DataFrame, sentiment_daily: pd.DataFrame | None) -> pd.DataFrame:
    """Join the previous calendar day's sentiment aggregate to each (ticker, trade_date); 0 where none."""
    out = frame.copy()
    if sentiment_daily is None or sentiment_daily.empty:
        for name in SENTIMENT_FEATURES:
            out[name] = 0.0
        return out
    sent = sentiment_daily.copy()
    sent["trade_date"] = pd.to_datetime(sent["day"]).dt.normalize() + pd.Timedelta(days=1)
    sent = pd.DataFrame({
        "ticker": sent["ticker"], "trade_date": sent["trade_date"],
        "sent_posts_log": np.log1p(sent["posts"].astype(float)),
        "sent_mean": sent["mean_sentiment"].astype(float),
        "sent_weighted": sent["weighted_sentiment"].astype(float),
        "sent_bullish_share": sent["bullish_share"].astype(float),
    })
    out = out.merge(sent, on=["ticker", "trade_date"], how="left")
    out[list(SENTIMENT_FEATURES)] = out[list(SENTIMENT_FEATURES)].fillna(0.0)
    return out


def feature_names(config: ExperimentConfig, with_sentiment: bool) -> tuple[str, ...]:
    return tuple(config.features) + (SENTIMENT_FEATURES if with_sentiment else ())


def build_samples(frame: pd.DataFrame, config: ExperimentConfig, with_sentiment: bool = False) -> Samples:
    """Windows for every (ticker, day) with `window` complete rows ending at that day."""
    names = feature_names(config, with_sentiment)
    data = frame.sort_values(["ticker", "trade_date"]).reset_index(drop=True)
    data["log_dollar_volume"] = np.log1p(data["dollar_volume"].astype(float).clip(lower=0))
    for name, (low, high) in _CLIP.items():
        data[name] = data[name].astype(float).clip(low, high)
    # Label: the ticker's next row, only if it is the panel's next trading day.
    calendar = np.sort(data["trade_date"].unique())
    next_day = pd.Series(np.append(calendar[1:], np.datetime64("NaT")), index=calendar)
    following_date = data.groupby("ticker")["trade_date"].shift(-1)
    following_return = data.groupby("ticker")["return_1d"].shift(-1)
    is_next = following_date.to_numpy() == next_day.reindex(data["trade_date"]).to_numpy()
    label = np.where(is_next, following_return.to_numpy(dtype=float), np.nan)
    # The last row of every ticker is unlabelled, and scored; anything else missing a label is dropped later.
    values = data[list(names)].to_numpy(dtype=np.float32)
    window = config.window
    xs, tickers, dates, ys, last = [], [], [], [], []
    starts = np.flatnonzero(data["ticker"].to_numpy()[1:] != data["ticker"].to_numpy()[:-1]) + 1
    bounds = zip(np.r_[0, starts], np.r_[starts, len(data)])
    for lo, hi in bounds:
        if hi - lo < window:
            continue
        windows = np.lib.stride_tricks.sliding_window_view(values[lo:hi], (window, len(names)))[:, 0]
        ends = np.arange(lo + window - 1, hi)
        xs.append(windows)
        tickers.append(data["ticker"].to_numpy()[ends])
        dates.append(data["trade_date"].to_numpy()[ends].astype("datetime64[D]"))
        ys.append(label[ends])
        last.append(data["return_1d"].to_numpy(dtype=float)[ends])
    if not xs:
        empty = np.empty((0, window, len(names)), np.float32)
        return Samples(empty, np.array([], dtype=object), np.array([], dtype="datetime64[D]"), np.array([]), np.array([]), names)
    x = np.concatenate(xs)
    complete = ~np.isnan(x).any(axis=(1, 2))
    samples = Samples(x, np.concatenate(tickers), np.concatenate(dates), np.concatenate(ys), np.concatenate(last), names)
    return samples.take(complete & ~np.isnan(samples.last_return))
