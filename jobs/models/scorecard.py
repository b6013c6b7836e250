"""The live scorecard: each live prediction joined to its outcome once the price at its target time is known,
and the model's rolling record beside the random walk's. Pure pandas: the stream calls it on small frames.

A scope's window is its `window` most recent resolved predictions (by predicted_at); '*' pools every symbol's
window. The random walk forecasts a zero return, so its error on the same rows is the realised move itself.
Whether the model beats it is a verdict only with evidence: at least `MIN_VERDICT` resolved predictions and a 95%
interval of the squared-error difference that excludes zero (Newey-West, since predictions a minute apart share
most of their horizon); until then `beats_random_walk` is NULL.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from jobs.models.intraday import bar_features, prices_at

ALL = "*"
DEFAULT_WINDOW = 60
MIN_VERDICT = 30  # resolved predictions a scope needs before it gets a verdict
Z95 = 1.959964


def outcomes(predictions: pd.DataFrame, bars: pd.DataFrame) -> pd.DataFrame:
    """`predictions` (gold.live_predictions rows) with `realised_return`: the return from last_close to the price at
    target_at from `bars` (silver.bars_1m rows of the same days), NaN while that price is not known."""
    out = predictions.copy()
    if out.empty:
        return out.assign(realised_return=pd.Series(dtype=float))
    queries = out[["symbol", "trade_date"]].assign(target=out["target_at"])
    price = prices_at(bar_features(bars), queries) if not bars.empty else np.full(len(out), np.nan)
    out["realised_return"] = price / out["last_close"].to_numpy(float) - 1
    return out


def _interval(values: np.ndarray, lags: int) -> tuple[float | None, float | None]:
    """95% interval of the mean of `values` (in predicted_at order), with a Newey-West variance over `lags`
    (overlapping horizons make neighbours correlated); (None, None) under two values or without spread."""
    n = len(values)
    if n < 2:
        return None, None
    centred = values - values.mean()
    variance = centred @ centred / n
    for lag in range(1, min(lags, n - 1) + 1):
        variance += 2 * (1 - lag / (lags + 1)) * (centred[lag:] @ centred[:-lag]) / n
    if not variance > 0:
        return None, None
    half = Z95 * float(np.sqrt(variance / n))
    return float(values.mean() - half), float(values.mean() + half)


def _figures(rows: pd.DataFrame) -> dict:
    rows = rows.sort_values("predicted_at")
    predicted, realised = rows["predicted_return"].to_numpy(float), rows["realised_return"].to_numpy(float)
    called = (predicted != 0) & (realised != 0)
    hits = (np.sign(predicted) == np.sign(realised))[called]
    spread = len(rows) >= 3 and predicted.std() > 0 and realised.std() > 0
    gain = (predicted - realised) ** 2 - realised ** 2  # the model's squared error less the random walk's
    low, high = _interval(gain, lags=max(int(rows["horizon_minutes"].iloc[0]) - 1, 0))
    verdict = None
    if len(rows) >= MIN_VERDICT and high is not None:
        verdict = True if high < 0 else False if low > 0 else None
    return {
        "resolved": len(rows),
        "rmse": float(np.sqrt(np.mean((predicted - realised) ** 2))),
        "random_walk_rmse": float(np.sqrt(np.mean(realised ** 2))),
        "mae": float(np.mean(np.abs(predicted - realised))),
        "hit_rate": float(hits.mean()) if len(hits) else None,
        "hit_n": int(len(hits)),
        "ic": float(np.corrcoef(predicted, realised)[0, 1]) if spread else None,
        "mse_diff": float(gain.mean()),
        "mse_diff_ci_low": low,
        "mse_diff_ci_high": high,
        "beats_random_walk": verdict,
        "first_predicted_at": rows["predicted_at"].min(),
        "last_predicted_at": rows["predicted_at"].max(),
    }


def scorecard(judged: pd.DataFrame, updated_at: datetime, window: int = DEFAULT_WINDOW) -> pd.DataFrame:
    """gold.live_scorecard rows from `outcomes(...)`: one per (symbol, model version) with a resolved prediction,
    and one '*' per model version over all of those symbols' windows."""
    rows = []
    for version, of_model in judged.groupby("model_version"):
        resolved = of_model[of_model["realised_return"].notna()].sort_values("predicted_at")
        recent = resolved.groupby("symbol", group_keys=False).tail(window)
        pending = of_model["realised_return"].isna().groupby(of_model["symbol"]).sum()
        horizon = int(of_model["horizon_minutes"].iloc[0])
        scopes = [(symbol, part, int(pending.get(symbol, 0))) for symbol, part in recent.groupby("symbol")]
        if not recent.empty:
            scopes.append((ALL, recent, int(pending.sum())))
        for scope, part, waiting in scopes:
            figures = _figures(part)
            rows.append({"scope": scope, "model_version": version, "horizon_minutes": horizon, "pending": waiting,
                         **figures, "updated_at": updated_at})
    return pd.DataFrame(rows)
