"""Metrics carry n and an interval; baselines do what their names say."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jobs.models import baselines
from jobs.models.features import build_samples
from jobs.models.metrics import correlation_with_ci, daily_ic, directional_accuracy, error_metrics, evaluate, prob_from_sign
from tests.models.synthetic import panel, tiny_config


def test_error_metrics_match_the_formula_and_the_interval_brackets_them():
    rng = np.random.default_rng(0)
    days = np.repeat(np.arange(50), 8)
    y, pred = rng.normal(0, 0.02, 400), rng.normal(0, 0.01, 400)
    out = error_metrics(y, pred, days)
    assert out["rmse"]["value"] == pytest.approx(math.sqrt(np.mean((y - pred) ** 2)))
    assert out["mae"]["value"] == pytest.approx(np.mean(np.abs(y - pred)))
    for stat in out.values():
        assert stat["ci_low"] < stat["value"] < stat["ci_high"]
        assert (stat["n"], stat["days"]) == (400, 50)


def test_ic_is_one_for_a_perfect_ranking_and_undefined_for_a_constant_forecast():
    rng = np.random.default_rng(1)
    days = np.repeat(np.arange(30), 10)
    y = rng.normal(0, 0.02, 300)
    assert daily_ic(y, y * 3 + 1, days)["value"] == pytest.approx(1.0)
    assert daily_ic(y, y**3, days, rank=True)["value"] == pytest.approx(1.0)
    flat = daily_ic(y, np.zeros(300), days)
    assert flat["value"] is None and flat["n"] == 0
    noise = daily_ic(y, rng.normal(size=300), days)
    assert noise["days"] == 30 and noise["ci_low"] < noise["value"] < noise["ci_high"] and noise["ci_low"] < 0 < noise["ci_high"]


def test_directional_accuracy_counts_only_called_directions():
    y = np.array([0.01, -0.02, 0.03, -0.01, 0.0])
    days = np.array([1, 1, 2, 2, 3])
    acc = directional_accuracy(y, np.array([0.9, 0.2, 0.1, 0.5, 0.7]), days)
    assert (acc["value"], acc["n"]) == (pytest.approx(2 / 3), 3)  # the 0.5 call and the flat day do not count
    assert directional_accuracy(y, prob_from_sign(np.zeros(5)), days)["n"] == 0


def test_correlation_interval_narrows_with_more_data():
    rng = np.random.default_rng(2)
    x = rng.normal(size=2000)
    y = 0.3 * x + rng.normal(size=2000)
    small, big = correlation_with_ci(x[:50], y[:50]), correlation_with_ci(x, y)
    assert big["n"] == 2000 and big["ci_low"] < 0.3 / math.sqrt(1.09) < big["ci_high"]
    assert (big["ci_high"] - big["ci_low"]) < (small["ci_high"] - small["ci_low"])
    assert correlation_with_ci(x[:3], y[:3])["r"] is None


def test_baselines_predict_what_their_names_say():
    samples = build_samples(panel(days=120, seed=4), tiny_config())
    samples = samples.take(samples.labelled)
    train = samples.take(samples.date < np.sort(np.unique(samples.date))[60])
    test = samples.take(samples.date >= np.sort(np.unique(samples.date))[60])
    assert not baselines.random_walk(train, test).any()
    np.testing.assert_allclose(baselines.yesterdays_return(train, test), test.last_return)
    drift = baselines.drift(train, test)
    for ticker in ("AAA", "DDD"):
        assert drift[test.ticker == ticker][0] == pytest.approx(train.y[train.ticker == ticker].mean())
    # the planted signal (tomorrow leans on close_to_sma_20d today) is linear: ridge must find it
    linear = baselines.linear(train, test)
    assert np.corrcoef(linear, test.y)[0, 1] > 0.4
    scored = evaluate(test.y, linear, prob_from_sign(linear), test.date)
    assert scored["rmse"]["value"] < evaluate(test.y, np.zeros(len(test)), np.full(len(test), 0.5), test.date)["rmse"]["value"]
