"""A small synthetic panel shaped like gold.daily_features, with a planted signal:
tomorrow's return leans on today's close_to_sma_20d, so a model can learn something."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jobs.models.config import ExperimentConfig, Network, Universe, WalkForward
from lake_schema.prices import GOLD_DAILY_FEATURES


def panel(tickers=("AAA", "BBB", "CCC", "DDD"), days: int = 140, seed: int = 0, start: str = "2010-01-04") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(start, periods=days)
    frames = []
    for i, ticker in enumerate(tickers):
        signal = rng.normal(0, 0.02, days)
        noise = rng.normal(0, 0.01, days)
        ret = np.r_[0.0, 0.5 * signal[:-1]] + noise
        frames.append(pd.DataFrame({
            "ticker": ticker, "trade_date": dates,
            "return_1d": ret,
            "return_5d": pd.Series(ret).rolling(5).sum().to_numpy(),
            "return_20d": pd.Series(ret).rolling(20).sum().to_numpy(),
            "volatility_20d": pd.Series(ret).rolling(20).std().to_numpy(),
            "range_pct": np.abs(rng.normal(0.02, 0.005, days)),
            "dollar_volume": rng.uniform(1e6, 5e6, days) * (i + 1),
            "volume_z_20d": rng.normal(0, 1, days),
            "close_to_sma_20d": signal,
        }))
    return pd.concat(frames, ignore_index=True)


def tiny_config(**overrides) -> ExperimentConfig:
    base = dict(
        name="tiny", seed=3, window=5,
        universe=Universe(),
        network=Network(units=4, embedding_dim=2, epochs=2, batch_size=128),
        walk_forward=WalkForward(min_train_days=60, retrain_every=30, max_folds=2),
    )
    base.update(overrides)
    return ExperimentConfig(**base)


def write_features(lake, frame: pd.DataFrame) -> None:
    """A panel as gold.daily_features (the columns the models read, the rest filled plainly), replacing the table."""
    out = frame.copy()
    out["trade_date"] = out["trade_date"].dt.date
    out["trade_month"] = out["trade_date"].map(lambda d: d.strftime("%Y-%m"))
    out["sector"] = "Tech"
    out["adj_close"] = 100.0
    out["volume"] = 1000
    out["log_return_1d"] = np.log1p(out["return_1d"])
    out = out.astype(object).where(out.notna(), None)
    lake.overwrite(GOLD_DAILY_FEATURES, lake.spark.createDataFrame(
        out[GOLD_DAILY_FEATURES.column_names].to_dict("records"), schema=GOLD_DAILY_FEATURES.spark_ddl()))
