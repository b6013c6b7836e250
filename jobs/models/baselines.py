"""The baselines every model must beat, fitted on exactly the LSTM's training samples.

Each takes (train, test) Samples and returns predicted next-day returns for test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jobs.models.features import Samples


def random_walk(train: Samples, test: Samples) -> np.ndarray:
    """Zero return: tomorrow's price is today's."""
    return np.zeros(len(test))


def drift(train: Samples, test: Samples) -> np.ndarray:
    """Each ticker's mean daily return over its training history (pooled mean for new tickers)."""
    labelled = train.labelled
    means = pd.Series(train.y[labelled]).groupby(train.ticker[labelled]).mean()
    pooled = float(np.nanmean(train.y[labelled])) if labelled.any() else 0.0
    return pd.Series(test.ticker).map(means).fillna(pooled).to_numpy(dtype=float)


def yesterdays_return(train: Samples, test: Samples) -> np.ndarray:
    """Momentum of one day: tomorrow repeats today."""
    return test.last_return.astype(float)


def linear(train: Samples, test: Samples, alpha: float = 1.0) -> np.ndarray:
    """Ridge regression on the whole standardised window (the LSTM's exact inputs, flattened)."""
    labelled = train.labelled
    x = train.x[labelled].reshape(int(labelled.sum()), -1).astype(np.float64)
    y = train.y[labelled]
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    z = (x - mean) / std
    y_mean = y.mean()
    gram = z.T @ z + alpha * len(z) * 1e-3 * np.eye(z.shape[1])
    beta = np.linalg.solve(gram, z.T @ (y - y_mean))
    zt = (test.x.reshape(len(test), -1).astype(np.float64) - mean) / std
    return zt @ beta + y_mean


BASELINES = {
    "random_walk": random_walk,
    "drift": drift,
    "yesterday": yesterdays_return,
    "linear": linear,
}
