"""The live scorecard: each live prediction joined to its outcome once the price at its target time is known,
and the model's rolling record beside the random walk's. Pure pandas: the stream calls it on small frames.

A scope's window is its `window` most recent resolved predictions (by predicted_at); '*' pools every symbol's
window. The random walk forecasts a zero return, so its error on the same rows is the realised move itself.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from jobs.models.intraday import bar_features, prices_at

ALL = "*"
DEFAULT_WINDOW = 60


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


def _figures(rows: pd.DataFrame) -> dict:
    predicted, realised = rows["predicted_return"].to_numpy(float), rows["realised_return"].to_numpy(float)
    called = (predicted != 0) & (realised != 0)
    hits = (np.sign(predicted) == np.sign(realised))[called]
    spread = len(rows) >= 3 and predicted.std() > 0 and realised.std() > 0
    return {
        "resolved": len(rows),
        "rmse": float(np.sqrt(np.mean((predicted - realised) ** 2))),
        "random_walk_rmse": float(np.sqrt(np.mean(realised ** 2))),
        "mae": float(np.mean(np.abs(predicted - realised))),
        "hit_rate": float(hits.mean()) if len(hits) else None,
        "hit_n": int(len(hits)),
        "ic": float(np.corrcoef(predicted, realised)[0, 1]) if spread else None,
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
                         **figures, "beats_random_walk": figures["rmse"] < figures["random_walk_rmse"],
                         "updated_at": updated_at})
    return pd.DataFrame(rows)
