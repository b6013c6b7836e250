"""Pure pandas views of the gold tables, shared by the dashboard and the notebooks.

Each function takes frames as `Lake.read_small` returns them and gives back the
shape a chart or table needs, so the dashboard and a notebook never disagree
about what "the leaderboard" or "the freshness" is. No I/O here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from jobs.models.metrics import correlation_with_ci
from jobs.models.walkforward import MODEL

RANDOM_WALK = "random_walk"
_METRICS = ("rmse", "mae", "directional_accuracy", "ic", "rank_ic")
LEADERBOARD_COLUMNS = [
    "model_name", "version", "created_at", "data_end", "model", "is_model", "rmse", "rmse_ci_low", "rmse_ci_high",
    "rmse_vs_random_walk", "mae", "directional_accuracy", "ic", "ic_ci_low", "ic_ci_high", "rank_ic", "n", "days",
    "beats_random_walk",
]


# ------------------------------------------------------------------ models ---


def leaderboard(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (training run, model): the LSTM and every baseline, scored out of sample on
    the same rows (gold.model_runs.metrics_json), with its RMSE relative to the random walk's
    (rmse_vs_random_walk: -0.01 = 1% lower) and whether it beat it."""
    rows = []
    for run in runs.itertuples(index=False):
        models = json.loads(run.metrics_json or "{}").get("models", {})
        walk = (models.get(RANDOM_WALK, {}).get("rmse") or {}).get("value")
        for model, metrics in models.items():
            rmse = metrics.get("rmse") or {}
            ic = metrics.get("ic") or {}
            row = {
                "model_name": run.model_name, "version": run.version, "created_at": run.created_at,
                "data_end": run.data_end, "model": model, "is_model": model == MODEL,
                "rmse_ci_low": rmse.get("ci_low"), "rmse_ci_high": rmse.get("ci_high"),
                "ic_ci_low": ic.get("ci_low"), "ic_ci_high": ic.get("ci_high"),
                "n": rmse.get("n"), "days": rmse.get("days"),
            }
            row.update({name: (metrics.get(name) or {}).get("value") for name in _METRICS})
            row["rmse_vs_random_walk"] = row["rmse"] / walk - 1 if row["rmse"] is not None and walk else None
            row["beats_random_walk"] = (
                model != RANDOM_WALK and row["rmse"] is not None and walk is not None and row["rmse"] < walk
            )
            rows.append(row)
    frame = pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)
    for column in ("rmse", "rmse_ci_low", "rmse_ci_high", "rmse_vs_random_walk", "mae", "directional_accuracy", "ic", "ic_ci_low", "ic_ci_high", "rank_ic"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame.sort_values(["created_at", "rmse"], ascending=[False, True], ignore_index=True)


def latest_leaderboard(runs: pd.DataFrame, model_name: str | None = None) -> pd.DataFrame:
    """The newest run's leaderboard (of `model_name`, or of the newest run overall), best RMSE first."""
    if runs.empty:
        return leaderboard(runs)
    chosen = runs if model_name is None else runs[runs.model_name == model_name]
    if chosen.empty:
        return leaderboard(chosen)
    newest = chosen.sort_values(["created_at", "version"]).iloc[[-1]]
    return leaderboard(newest).sort_values("rmse", ignore_index=True, na_position="last")


def realized_predictions(predictions: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """Predictions next to what happened: the realized return on target_date (gold.daily_features'
    return_1d; NULL while that day has not traded yet), whether the direction was right, and the
    squared error of the model and of the random walk (which always predicts 0)."""
    realized = features[["ticker", "trade_date", "return_1d"]].rename(
        columns={"trade_date": "target_date", "return_1d": "realized_return"}
    )
    out = predictions.merge(realized, on=["ticker", "target_date"], how="left")
    known = out.realized_return.notna()
    out["hit"] = np.where(known, (out.prob_up > 0.5) == (out.realized_return > 0), np.nan)
    out["model_sq_error"] = (out.predicted_return - out.realized_return) ** 2
    out["random_walk_sq_error"] = out.realized_return**2
    return out


# --------------------------------------------------------------- sentiment ---


def sentiment_vs_returns(windows: pd.DataFrame, horizon: str = "return_1d", min_posts: int = 4) -> pd.DataFrame:
    """Per ticker: Pearson r of post sentiment with the return over `horizon` after the post
    (gold.post_price_windows; only prices at or after the post), its 95% interval and n."""
    rows = []
    for ticker, group in windows.groupby("ticker"):
        if len(group) < min_posts:
            continue
        stat = correlation_with_ci(group["sentiment"].to_numpy(float), group[horizon].to_numpy(float))
        rows.append({"ticker": ticker, "posts": len(group), "mean_return": group[horizon].mean(), **stat})
    columns = ["ticker", "posts", "mean_return", "r", "ci_low", "ci_high", "n"]
    return pd.DataFrame(rows, columns=columns).sort_values("n", ascending=False, ignore_index=True)


def returns_by_sentiment_bucket(windows: pd.DataFrame, horizon: str = "return_1d") -> pd.DataFrame:
    """Mean subsequent return by sentiment label (bearish / neutral / bullish), with n and a
    normal 95% interval: the simplest honest look at whether the label carries a signal."""
    known = windows.dropna(subset=[horizon])
    grouped = known.groupby("label")[horizon].agg(["mean", "std", "count"]).reindex(["bearish", "neutral", "bullish"])
    half = 1.96 * grouped["std"] / np.sqrt(grouped["count"])
    return pd.DataFrame({
        "label": grouped.index, "mean_return": grouped["mean"].to_numpy(), "ci_low": (grouped["mean"] - half).to_numpy(),
        "ci_high": (grouped["mean"] + half).to_numpy(), "n": grouped["count"].fillna(0).astype(int).to_numpy(),
    })


def lead_lag_curve(lead_lag: pd.DataFrame, measure: str = "mean_sentiment", ticker: str = "*") -> pd.DataFrame:
    """gold.sentiment_lead_lag for one measure and scope as a curve over signed horizon: negative
    k = returns lead sentiment (return t-k -> t), positive k = sentiment leads returns."""
    rows = lead_lag[(lead_lag.measure == measure) & (lead_lag.ticker == ticker)].copy()
    rows["lag"] = np.where(rows.direction == "sentiment_leads", rows.horizon_days, -rows.horizon_days)
    return rows.sort_values("lag", ignore_index=True)[["lag", "direction", "horizon_days", "r", "ci_low", "ci_high", "n"]]


# ------------------------------------------------------------------ stream ---


LIVE_WITHIN_S = 60.0  # a stream whose newest trade arrived longer ago than this is idle
REPLAY_AFTER_S = 86_400.0  # trades whose exchange time trails their receipt by more than this are a replay


@dataclass(frozen=True)
class Freshness:
    """The newest trade in silver: when the collector received it and its exchange time, against `now`."""
    received: datetime | None
    exchange: datetime | None
    now: datetime

    @property
    def receipt_age_s(self) -> float | None:
        return None if self.received is None else max((self.now - self.received).total_seconds(), 0.0)

    @property
    def exchange_lag_s(self) -> float | None:
        """How far the newest trade's exchange time trails its receipt (a live feed: seconds)."""
        if self.received is None or self.exchange is None:
            return None
        return max((self.received - self.exchange).total_seconds(), 0.0)

    @property
    def replay(self) -> bool:
        return (self.exchange_lag_s or 0.0) > REPLAY_AFTER_S

    @property
    def state(self) -> str:
        """'no trades', 'live' (a trade arrived within LIVE_WITHIN_S) or 'idle'."""
        if self.received is None:
            return "no trades"
        return "live" if (self.receipt_age_s or 0.0) <= LIVE_WITHIN_S else "idle"

    @property
    def text(self) -> str:
        if self.received is None:
            return "no trades yet"
        arrived = f"newest trade received {humanize_seconds(self.receipt_age_s or 0.0)} ago"
        if self.exchange is None:
            return arrived
        if self.replay:
            return f"{arrived}; a replay of {self.exchange:%Y-%m-%d} (exchange time {self.exchange:%H:%M:%S} UTC)"
        return (f"{arrived}; exchange time {self.exchange:%Y-%m-%d %H:%M:%S} UTC, "
                f"{humanize_seconds(self.exchange_lag_s or 0.0)} before it arrived")


def freshness(received: datetime | pd.Timestamp | None, exchange: datetime | pd.Timestamp | None = None,
              now: datetime | None = None) -> Freshness:
    """Freshness of the newest trade from its receipt and exchange times (naive stamps are UTC)."""
    return Freshness(_utc(received), _utc(exchange), now or datetime.now(timezone.utc))


def _utc(stamp) -> datetime | None:
    if stamp is None or pd.isna(stamp):
        return None
    stamp = pd.Timestamp(stamp)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()


def humanize_seconds(seconds: float) -> str:
    """A duration as a person reads it: 42 s, 7 min, 3 h 05 min, 4 days, 16.3 years."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        hours, minutes = divmod(int(round(seconds / 60)), 60)
        return f"{hours} h {minutes:02d} min"
    if seconds < 365 * 86400:
        return f"{seconds / 86400:.0f} days"
    return f"{seconds / (365.25 * 86400):.1f} years"


def provenance(runs: pd.DataFrame, version: str) -> str:
    """Which run made a prediction and from which data: the table versions it read, its seed, and how to get the
    same numbers again; a run registered before input versions were recorded says so."""
    found = runs[runs["version"] == version] if "version" in runs else runs.iloc[0:0]
    if found.empty:
        return f"Run {version} is not in gold.model_runs."
    run = found.iloc[0]
    recorded = run.get("input_versions")
    if not isinstance(recorded, str) or not recorded:
        return f"Run {version}: its input versions were not recorded, so it cannot be reproduced."
    inputs = ", ".join(f"{table} v{number}" for table, number in sorted(json.loads(recorded).items()))
    return (f"Run {version}, trained on {run['train_start']} .. {run['train_end']} with seed {run['seed']}, read "
            f"{inputs}; `pulselake models reproduce {version}` retrains it on exactly that data.")
