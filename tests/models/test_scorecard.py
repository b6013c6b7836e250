"""The live scorecard's verdict needs evidence: enough resolved predictions and an interval clear of zero."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from jobs.models.live import session_close
from jobs.models.scorecard import ALL, MIN_VERDICT, scorecard

NOW = datetime(2010, 8, 20, 20, 0, tzinfo=timezone.utc)


def judged(predicted: np.ndarray, realised: np.ndarray, horizon: int = 5) -> pd.DataFrame:
    """Resolved predictions of one symbol, a minute apart."""
    at = pd.date_range("2010-08-20 14:00", periods=len(predicted), freq="min", tz="UTC")
    return pd.DataFrame({"symbol": "AAPL", "model_version": "v1", "horizon_minutes": horizon, "predicted_at": at,
                         "predicted_return": predicted, "realised_return": realised})


def overall(frame: pd.DataFrame) -> pd.Series:
    card = scorecard(frame, NOW, window=500)
    return card[card.scope == ALL].iloc[0]


def test_a_clearly_better_model_gets_its_verdict_only_with_enough_predictions():
    rng = np.random.default_rng(3)
    realised = rng.normal(0, 0.002, 200)
    close_to_truth = realised + rng.normal(0, 0.0003, 200)  # far smaller errors than a zero forecast
    few = overall(judged(close_to_truth[:MIN_VERDICT - 1], realised[:MIN_VERDICT - 1]))
    assert few.rmse < few.random_walk_rmse and pd.isna(few.beats_random_walk)  # better, but too few to say
    assert few.mse_diff_ci_high < 0  # the interval already excludes zero: n alone withholds the verdict
    many = overall(judged(close_to_truth, realised))
    assert many.resolved == 200 and many.beats_random_walk == True  # noqa: E712
    assert many.mse_diff_ci_low <= many.mse_diff <= many.mse_diff_ci_high < 0


def test_a_worse_model_loses_and_a_coin_flip_gets_no_verdict():
    rng = np.random.default_rng(4)
    realised = rng.normal(0, 0.002, 300)
    assert overall(judged(-realised, realised)).beats_random_walk == False  # noqa: E712  (always wrong by 2x)
    # Tiny forecasts barely differ from the random walk's zero: the interval straddles 0, no verdict at n=300.
    noise = overall(judged(rng.normal(0, 1e-5, 300), realised))
    assert noise.mse_diff_ci_low < 0 < noise.mse_diff_ci_high and pd.isna(noise.beats_random_walk)


def test_the_interval_widens_for_overlapping_horizons():
    """Predictions a minute apart with a 5-minute horizon share errors; Newey-West widens the interval for it."""
    rng = np.random.default_rng(5)
    shocks = rng.normal(0, 0.001, 305)
    realised = np.convolve(shocks, np.ones(5), "valid")[:300]  # overlapping 5-minute returns: autocorrelated
    predicted = realised * 0.5 + rng.normal(0, 0.001, 300)
    wide = overall(judged(predicted, realised, horizon=5))
    narrow = overall(judged(predicted, realised, horizon=1))
    assert (wide.mse_diff_ci_high - wide.mse_diff_ci_low) > (narrow.mse_diff_ci_high - narrow.mse_diff_ci_low)


@pytest.mark.parametrize("day, close_utc", [("2010-08-20", "20:00"), ("2010-12-20", "21:00")])
def test_the_session_closes_at_four_in_new_york_whatever_the_season(day, close_utc):
    assert session_close(pd.Timestamp(day).date()).strftime("%H:%M") == close_utc
