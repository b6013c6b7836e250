"""Out-of-sample metrics, each with its sample size and a 95% confidence interval.

Errors of different tickers on the same day are correlated (one market), so
intervals treat the *day* as the independent unit: error metrics use a
day-clustered standard error, IC and rank IC are per-day correlations whose
mean gets a t-style interval over days.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd

Z95 = NormalDist().inv_cdf(0.975)


def _stat(value: float | None, low: float | None, high: float | None, n: int, days: int) -> dict:
    clean = lambda v: None if v is None or not math.isfinite(v) else float(v)  # noqa: E731
    return {"value": clean(value), "ci_low": clean(low), "ci_high": clean(high), "n": int(n), "days": int(days)}


def clustered_mean(values: np.ndarray, days: np.ndarray) -> tuple[float, float, int, int]:
    """Mean of `values` and its day-clustered standard error: (mean, se, n, days)."""
    frame = pd.DataFrame({"v": values, "d": days}).dropna()
    if frame.empty:
        return math.nan, math.nan, 0, 0
    sums = frame.groupby("d")["v"].agg(["sum", "count"])
    total, n, d = sums["sum"].sum(), sums["count"].sum(), len(sums)
    mean = total / n
    if d < 2:
        return mean, math.nan, int(n), d
    resid = sums["sum"] - mean * sums["count"]
    se = math.sqrt((resid**2).sum() * d / (d - 1)) / n
    return mean, se, int(n), d


def error_metrics(y: np.ndarray, pred: np.ndarray, days: np.ndarray) -> dict[str, dict]:
    mse, se, n, d = clustered_mean((pred - y) ** 2, days)
    rmse = _stat(math.sqrt(mse) if n else None, math.sqrt(max(mse - Z95 * se, 0)) if n else None,
                 math.sqrt(mse + Z95 * se) if n else None, n, d)
    mae, se, n, d = clustered_mean(np.abs(pred - y), days)
    return {"rmse": rmse, "mae": _stat(mae, mae - Z95 * se, mae + Z95 * se, n, d)}


def directional_accuracy(y: np.ndarray, prob_up: np.ndarray, days: np.ndarray) -> dict:
    """Share of days called right, counting only rows where the model calls a direction
    (prob_up != 0.5) and the price moved; a model that never calls one gets n = 0."""
    called = (prob_up != 0.5) & (y != 0) & ~np.isnan(prob_up)
    hits = ((prob_up > 0.5) == (y > 0)).astype(float)
    mean, se, n, d = clustered_mean(np.where(called, hits, np.nan), days)
    return _stat(mean if n else None, mean - Z95 * se, mean + Z95 * se, n, d)


def daily_ic(y: np.ndarray, pred: np.ndarray, days: np.ndarray, rank: bool = False, min_tickers: int = 3) -> dict:
    """Mean over days of the cross-sectional correlation between prediction and outcome.
    Days with fewer than `min_tickers` or a constant prediction have no IC and are not counted."""
    frame = pd.DataFrame({"y": y, "p": pred, "d": days})
    if rank:
        frame["y"] = frame.groupby("d")["y"].rank()
        frame["p"] = frame.groupby("d")["p"].rank()
    per_day = []
    rows = 0
    for _, day in frame.groupby("d"):
        if len(day) < min_tickers or day["p"].std() == 0 or day["y"].std() == 0:
            continue
        per_day.append(np.corrcoef(day["p"], day["y"])[0, 1])
        rows += len(day)
    if not per_day:
        return _stat(None, None, None, 0, 0) | {"icir": None}
    ics = np.array(per_day)
    mean = ics.mean()
    se = ics.std(ddof=1) / math.sqrt(len(ics)) if len(ics) > 1 else math.nan
    icir = mean / ics.std(ddof=1) if len(ics) > 1 and ics.std(ddof=1) > 0 else None
    return _stat(mean, mean - Z95 * se, mean + Z95 * se, rows, len(ics)) | {"icir": icir}


def evaluate(y: np.ndarray, pred: np.ndarray, prob_up: np.ndarray, days: np.ndarray) -> dict[str, dict]:
    """All metrics of one model on one set of out-of-sample rows."""
    out = error_metrics(y, pred, days)
    out["directional_accuracy"] = directional_accuracy(y, prob_up, days)
    out["ic"] = daily_ic(y, pred, days)
    out["rank_ic"] = daily_ic(y, pred, days, rank=True)
    return out


def correlation_with_ci(x: np.ndarray, y: np.ndarray) -> dict:
    """Pearson r with its Fisher-z 95% interval and sample size (used by the lead-lag tables)."""
    mask = ~(np.isnan(x) | np.isnan(y))
    x, y = x[mask], y[mask]
    n = len(x)
    if n < 4 or np.std(x) == 0 or np.std(y) == 0:
        return {"r": None, "ci_low": None, "ci_high": None, "n": n}
    r = float(np.clip(np.corrcoef(x, y)[0, 1], -0.999999, 0.999999))
    z, half = math.atanh(r), Z95 / math.sqrt(n - 3)
    return {"r": r, "ci_low": math.tanh(z - half), "ci_high": math.tanh(z + half), "n": n}


def prob_from_sign(pred: np.ndarray) -> np.ndarray:
    """A point forecast's implied direction: 1 if up, 0 if down, 0.5 when it calls none."""
    return np.where(pred > 0, 1.0, np.where(pred < 0, 0.0, 0.5))
