"""The shared views (dashboard + notebooks) on small hand-made frames shaped like the gold tables."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from jobs.insights import views

UTC = timezone.utc


def stat(value, n=100, low=None, high=None):
    return {"value": value, "ci_low": low, "ci_high": high, "n": n, "days": 10}


def run(version, created, rmse_lstm, rmse_walk, ic=0.01):
    models = {
        "lstm": {"rmse": stat(rmse_lstm), "mae": stat(0.01), "directional_accuracy": stat(0.52), "ic": stat(ic, low=-0.02, high=0.04),
                 "rank_ic": stat(0.0)},
        "random_walk": {"rmse": stat(rmse_walk), "mae": stat(0.01), "directional_accuracy": stat(None, n=0),
                        "ic": stat(None, n=0), "rank_ic": stat(None, n=0)},
        "drift": {"rmse": stat(rmse_walk * 1.01), "mae": stat(0.01), "directional_accuracy": stat(0.5), "ic": stat(0.0),
                  "rank_ic": stat(0.0)},
    }
    return {"version": version, "model_name": "nightly", "created_at": created, "data_end": created.date(),
            "metrics_json": json.dumps({"models": models, "folds": []})}


def test_leaderboard_has_every_model_of_every_run_and_marks_who_beat_the_random_walk():
    runs = pd.DataFrame([run("v1", datetime(2024, 1, 1, tzinfo=UTC), 0.021, 0.020),
                         run("v2", datetime(2024, 2, 1, tzinfo=UTC), 0.019, 0.020)])
    board = views.leaderboard(runs)
    assert len(board) == 6 and set(board.model) == {"lstm", "random_walk", "drift"}
    beat = {(r.version, r.model): r.beats_random_walk for r in board.itertuples()}
    assert beat[("v1", "lstm")] is False and beat[("v2", "lstm")] is True
    assert beat[("v2", "random_walk")] is False and beat[("v2", "drift")] is False
    assert board[board.model == "random_walk"].directional_accuracy.isna().all()

    latest = views.latest_leaderboard(runs)
    assert set(latest.version) == {"v2"} and latest.model.tolist() == ["lstm", "random_walk", "drift"]
    assert latest.is_model.tolist() == [True, False, False]
    assert latest.rmse_vs_random_walk.tolist() == pytest.approx([-0.05, 0.0, 0.01])
    assert views.latest_leaderboard(runs.iloc[0:0]).empty


def test_realized_predictions_score_only_days_that_traded():
    predictions = pd.DataFrame({"ticker": ["A", "B", "A"], "target_date": [date(2024, 1, 2)] * 2 + [date(2024, 1, 3)],
                                "predicted_return": [0.01, -0.02, 0.0], "prob_up": [0.6, 0.3, 0.5]})
    features = pd.DataFrame({"ticker": ["A", "B"], "trade_date": [date(2024, 1, 2)] * 2, "return_1d": [0.02, 0.01]})
    out = views.realized_predictions(predictions, features).set_index(["ticker", "target_date"])
    assert out.loc[("A", date(2024, 1, 2))].hit == 1.0 and out.loc[("B", date(2024, 1, 2))].hit == 0.0
    assert np.isnan(out.loc[("A", date(2024, 1, 3))].hit)
    assert out.loc[("A", date(2024, 1, 2))].model_sq_error == pytest.approx(0.0001)
    assert out.loc[("B", date(2024, 1, 2))].random_walk_sq_error == pytest.approx(0.0001)


def test_sentiment_vs_returns_finds_a_planted_link_and_buckets_by_label():
    rng = np.random.default_rng(0)
    sentiment = rng.uniform(-1, 1, 200)
    windows = pd.DataFrame({
        "ticker": ["AAA"] * 100 + ["BBB"] * 100, "sentiment": sentiment,
        "return_1d": np.r_[0.02 * sentiment[:100], rng.normal(0, 0.02, 100)] + rng.normal(0, 0.002, 200),
    })
    windows["label"] = np.where(windows.sentiment > 0.2, "bullish", np.where(windows.sentiment < -0.2, "bearish", "neutral"))
    table = views.sentiment_vs_returns(windows).set_index("ticker")
    assert table.loc["AAA"].r > 0.9 and table.loc["AAA"].ci_low > 0 and table.loc["AAA"].n == 100
    assert table.loc["BBB"].ci_low < 0 < table.loc["BBB"].ci_high
    buckets = views.returns_by_sentiment_bucket(windows).set_index("label")
    assert buckets.n.sum() == 200 and buckets.loc["bullish"].mean_return > buckets.loc["bearish"].mean_return


def test_lead_lag_curve_puts_returns_leading_on_negative_lags():
    rows = pd.DataFrame({"ticker": "*", "measure": "mean_sentiment", "direction": ["sentiment_leads", "returns_lead"] * 2,
                         "horizon_days": [1, 1, 5, 5], "r": [0.1, 0.2, 0.3, 0.4], "ci_low": 0.0, "ci_high": 0.5, "n": 50})
    curve = views.lead_lag_curve(rows)
    assert curve.lag.tolist() == [-5, -1, 1, 5] and curve.r.tolist() == [0.4, 0.2, 0.1, 0.3]


def test_freshness_is_the_newest_trades_receipt_age_and_its_exchange_lag_in_human_units():
    assert views.freshness(None).text == "no trades yet" and views.freshness(None).state == "no trades"
    assert views.freshness(pd.NaT).text == "no trades yet"
    now = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)
    live = views.freshness(pd.Timestamp("2024-01-02 14:59:58"), pd.Timestamp("2024-01-02 14:59:57.5"), now)  # naive: UTC
    assert live.receipt_age_s == 2 and live.exchange_lag_s == 0.5 and live.state == "live" and not live.replay
    assert live.text == "newest trade received 2 s ago; exchange time 2024-01-02 14:59:57 UTC, 0 s before it arrived"
    idle = views.freshness(now - timedelta(minutes=7), now - timedelta(minutes=7, seconds=3), now)
    assert idle.state == "idle" and idle.text.startswith("newest trade received 7 min ago")
    # A replay of an old day, received just now: live, and labelled a replay, not "stale" by sixteen years.
    replay = views.freshness(now - timedelta(seconds=4), datetime(2010, 8, 20, 15, 31, tzinfo=UTC), now)
    assert replay.state == "live" and replay.replay
    assert replay.text == "newest trade received 4 s ago; a replay of 2010-08-20 (exchange time 15:31:00 UTC)"


@pytest.mark.parametrize("seconds, text", [(0, "0 s"), (89, "89 s"), (90, "2 min"), (3600, "60 min"),
                                           (3 * 3600 + 5 * 60, "3 h 05 min"), (4 * 86400, "4 days"),
                                           (5952.7 * 86400, "16.3 years")])
def test_durations_read_as_a_person_says_them(seconds, text):
    assert views.humanize_seconds(seconds) == text
