"""Walk-forward: expanding, scheduled, never training on what it predicts; every model on the same rows."""

from __future__ import annotations

import numpy as np
import pytest

from jobs.models.features import build_samples
from jobs.models.walkforward import fold_schedule, format_metrics, walk_forward
from tests.models.synthetic import panel, tiny_config


def test_schedule_is_expanding_and_contiguous():
    config = tiny_config()
    config.walk_forward.max_folds = None
    samples = build_samples(panel(days=160), config)
    days = np.unique(samples.date[samples.labelled])
    folds = fold_schedule(samples, config)
    assert folds[0][0] == days[60]
    for (first, last), (next_first, _) in zip(folds, folds[1:]):
        assert np.searchsorted(days, next_first) == np.searchsorted(days, last) + 1
        assert np.searchsorted(days, next_first) - np.searchsorted(days, first) == 30
    assert folds[-1][1] == days[-1]
    config.walk_forward.min_train_days = len(days)
    with pytest.raises(ValueError, match="min_train_days"):
        fold_schedule(samples, config)


def test_walk_forward_trains_only_on_the_past_and_scores_every_model_on_the_same_rows():
    """One real (tiny) Keras fit per fold."""
    config = tiny_config()
    samples = build_samples(panel(days=150, seed=2), config)
    result = walk_forward(samples, config)
    assert len(result.folds) == 2
    labelled_dates = samples.date[samples.labelled]
    for fold in result.folds:
        assert fold.train_end < fold.test_start
        assert fold.train_samples == int((labelled_dates < fold.test_start).sum())  # expanding: everything before
    assert result.folds[1].train_samples > result.folds[0].train_samples
    rows = {m: result.metrics[m]["rmse"]["n"] for m in result.models}
    assert len(set(rows.values())) == 1 and rows["lstm"] == len(result.predictions)
    assert result.predictions["date"].min() == result.folds[0].test_start
    assert result.metrics["random_walk"]["directional_accuracy"]["n"] == 0
    assert 0 <= result.metrics["lstm"]["directional_accuracy"]["value"] <= 1
    assert result.predictions["lstm_up"].between(0, 1).all()
    table = format_metrics(result.metrics)
    assert all(name in table for name in ("lstm", "random_walk", "drift", "yesterday", "linear"))
