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


@dataclass(frozen=True)
class Freshness:
    newest: datetime | None
    age_seconds: float | None

    @property
    def text(self) -> str:
        if self.newest is None:
            return "no trades yet"
        return f"newest trade {humanize_seconds(self.age_seconds or 0.0)} old ({self.newest:%Y-%m-%d %H:%M:%S} UTC)"


def freshness(newest: datetime | pd.Timestamp | None, now: datetime | None = None) -> Freshness:
    if newest is None or pd.isna(newest):
        return Freshness(None, None)
    stamp = pd.Timestamp(newest)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    now = now or datetime.now(timezone.utc)
    return Freshness(stamp.to_pydatetime(), max((pd.Timestamp(now) - stamp).total_seconds(), 0.0))


def humanize_seconds(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"
