"""The intraday model through a real lake: walk-forward train and register, live scoring from closed bars only,
and a scorecard that a plain pandas recomputation agrees with."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from jobs.models import live, registry
from jobs.models.intraday import latest_windows
from jobs.models.steps import score_live, train_intraday
from lake_schema.models import LIVE_PREDICTIONS, LIVE_SCORECARD, MODEL_RUNS
from lake_schema.trades import BARS_1M
from tests.models.intraday_data import (
    bars_frame, last_days, pandas_bars, replay_trades, tiny_intraday_config, train_tiny_model,
)
from tests.windows import LATEST

pytestmark = pytest.mark.slow  # TensorFlow training and a Delta lake: `make test` runs it, `make test-fast` does not

TRAIN_DAYS = 4
SCORECARD_WINDOW = 5


@pytest.fixture(scope="module")
def history(spark, tmp_path_factory):
    """A lake with TRAIN_DAYS days of bars and the tiny intraday model trained on them; and the next day's trades."""
    from jobs.resources.lake import Lake
    from jobs.resources.settings import Settings

    lake = Lake(spark, Settings(lake_root=str(tmp_path_factory.mktemp("intraday") / "lake"), spark_master="local[2]"))
    days = last_days(TRAIN_DAYS + 1)
    report = train_tiny_model(spark, lake, days[:TRAIN_DAYS])
    return lake, report, replay_trades(days[TRAIN_DAYS:])


def test_training_registers_a_run_judged_against_every_baseline(history):
    lake, report, _ = history
    assert report.tables == {MODEL_RUNS.name: 1}, report.notes
    [run] = registry.runs(lake, "intraday_test")
    metrics = json.loads(run["metrics_json"])["models"]
    assert set(metrics) == {"lstm", "random_walk", "drift", "yesterday", "linear"}
    assert run["n_eval_days"] == 2 and run["folds"] == 2  # max_folds=2 of days 3 and 4, each trained on days before
    assert metrics["random_walk"]["rmse"]["n"] == metrics["yesterday"]["rmse"]["n"] == run["n_eval_rows"] > 500
    assert run["beat_random_walk"] == (run["rmse"] < run["random_walk_rmse"])
    assert ("beats" if run["beat_random_walk"] else "does NOT beat") in report.notes[0]
    assert json.loads(run["hyperparameters"])["horizon_minutes"] == 5
    assert train_intraday(lake, LATEST, tiny_intraday_config()).skipped  # no new day: no retrain


def test_too_few_days_of_bars_train_nothing_and_say_why(spark, lake):
    lake.overwrite(BARS_1M, bars_frame(spark, replay_trades(last_days(2))))
    report = train_intraday(lake, LATEST, tiny_intraday_config())
    assert report.tables == {} and "needs more than min_train_days=2" in report.notes[0]


def _bars_until(trades: pd.DataFrame, minutes: int) -> pd.DataFrame:
    first = trades["trade_ts"].min().floor("min")
    return trades[trades["trade_ts"] < first + pd.Timedelta(minutes=minutes)]


def test_live_scoring_predicts_from_closed_bars_and_the_scorecard_matches_pandas(history, spark):
    lake, _, today = history
    day = today["trade_date"].iloc[0]
    config = tiny_intraday_config()
    live.LOADS.clear()
    live._CURRENT.clear()
    live._LOADED.clear()
    written = []
    steps = range(20, 41, 4)  # the session so far, four minutes more each time
    for minutes in steps:
        trades = _bars_until(today, minutes)
        lake.overwrite(BARS_1M, bars_frame(spark, trades), where=[("trade_date", "=", day)])
        report = score_live(lake, LATEST, config=config, scorecard_window=SCORECARD_WINDOW)
        written.append(report.tables.get(LIVE_PREDICTIONS.name, 0))
    [run] = registry.runs(lake, "intraday_test")
    assert live.LOADS == {run["version"]: 1}  # loaded once, however many times it scored
    lake.touched.clear()
    assert score_live(lake, LATEST, config=config).tables.get(LIVE_PREDICTIONS.name, 0) == 0  # nothing new
    declared = score_live.step  # the step touches what its declaration says, and the record is real
    assert lake.touched.read <= set(declared.reads) | set(declared.writes) and BARS_1M.name in lake.touched.read
    assert lake.touched.written <= set(declared.writes) and LIVE_SCORECARD.name in lake.touched.written
    predictions = lake.read_small(LIVE_PREDICTIONS)  # delta-rs: timestamps as aware UTC, as pandas_bars has them
    # At most one new prediction per symbol a call (a symbol whose newest closed bar did not change gets none),
    # each made once.
    assert all(0 <= n <= 3 for n in written) and sum(written) == len(predictions) >= 2 * len(written)
    assert not predictions.duplicated(["symbol", "predicted_at"]).any()

    bars = pandas_bars(_bars_until(today, steps[-1]))
    # Each prediction is exactly what the model gives on the window of bars closed by its time.
    model = live.current_model(lake, "intraday_test")
    for _, row in predictions.sample(6, random_state=1).iterrows():
        at = row["predicted_at"]
        window = latest_windows(bars[bars["symbol"] == row["symbol"]], at, model.config)
        predicted, prob_up = model.predictor.predict(window.samples)
        assert pd.Timestamp(window.at[0]).tz_localize("UTC") == at
        assert row["last_close"] == window.close[0]
        assert row["predicted_return"] == pytest.approx(float(predicted[0]), rel=1e-3)  # float32, other batch
        assert row["prob_up"] == pytest.approx(float(prob_up[0]), rel=1e-3)
        assert row["target_at"] - at == pd.Timedelta(minutes=5) and row["flagged"] == (not run["beat_random_walk"])
        # the bar still filling (the newest) was never used: the prediction time is at most the newest bar's start
        newest = bars[bars["symbol"] == row["symbol"]]["minute_start"].max()
        assert at <= newest

    assert_scorecard_matches(lake, predictions, bars, run["version"])


def assert_scorecard_matches(lake, predictions: pd.DataFrame, bars: pd.DataFrame, version: str) -> None:
    """Recompute every scorecard figure with plain loops over the two tables' rows."""
    closes = {(s, t + pd.Timedelta(minutes=1)): c for s, t, c in zip(bars["symbol"], bars["minute_start"], bars["close"])}
    last = bars.groupby("symbol")["minute_start"].max() + pd.Timedelta(minutes=1)
    resolved, pending = {}, {}
    for row in predictions.sort_values("predicted_at").itertuples():
        if last[row.symbol] < row.target_at:
            pending[row.symbol] = pending.get(row.symbol, 0) + 1
            continue
        price = max(((t, c) for (s, t), c in closes.items() if s == row.symbol and t <= row.target_at))[1]
        resolved.setdefault(row.symbol, []).append((row.predicted_return, price / row.last_close - 1, row.predicted_at))
    expected = {symbol: rows[-SCORECARD_WINDOW:] for symbol, rows in resolved.items()}
    expected["*"] = [r for rows in expected.values() for r in rows]
    card = lake.read_small(LIVE_SCORECARD).set_index("scope")
    assert set(card.index) == set(expected) and (card["model_version"] == version).all()
    for scope, rows in expected.items():
        got = card.loc[scope]
        errors = [p - y for p, y, _ in rows]
        assert got["resolved"] == len(rows)
        assert got["pending"] == (sum(pending.values()) if scope == "*" else pending.get(scope, 0))
        assert got["rmse"] == pytest.approx(math.sqrt(sum(e * e for e in errors) / len(rows)))
        assert got["random_walk_rmse"] == pytest.approx(math.sqrt(sum(y * y for _, y, _ in rows) / len(rows)))
        assert got["mae"] == pytest.approx(sum(abs(e) for e in errors) / len(rows))
        called = [(p > 0) == (y > 0) for p, y, _ in rows if p != 0 and y != 0]
        assert got["hit_n"] == len(called)
        assert got["hit_rate"] == pytest.approx(sum(called) / len(called)) if called else pd.isna(got["hit_rate"])
        ic = pd.Series([p for p, _, _ in rows]).corr(pd.Series([y for _, y, _ in rows]))
        assert got["ic"] == pytest.approx(ic) if len(rows) >= 3 and not np.isnan(ic) else pd.isna(got["ic"])
        gains = [(p - y) ** 2 - y ** 2 for p, y, _ in rows]
        assert got["mse_diff"] == pytest.approx(sum(gains) / len(gains))
        assert pd.isna(got["beats_random_walk"])  # a window of SCORECARD_WINDOW: too few for a verdict
        assert got["last_predicted_at"] == max(t for _, _, t in rows)


def test_a_prediction_that_breaks_a_rule_is_quarantined_and_the_rest_land(spark, lake):
    from datetime import date, datetime, timezone

    from lake_schema.quarantine import QUARANTINE

    at = datetime(2010, 8, 20, 15, 30, tzinfo=timezone.utc)
    row = dict(symbol="AAPL", predicted_at=at, target_at=at.replace(minute=35), horizon_minutes=5, last_close=250.0,
               predicted_return=0.001, prob_up=0.6, model_version="v1", flagged=False, flag_reason=None,
               scored_at=at, trade_date=date(2010, 8, 20))
    good = live.append_predictions(lake, [row], None)
    assert good.rows == 1 and lake.read_small(LIVE_PREDICTIONS)["symbol"].tolist() == ["AAPL"]
    live.append_predictions(lake, [{**row, "symbol": "MSFT"}, {**row, "symbol": "IBM", "prob_up": 1.5}], None)
    assert sorted(lake.read_small(LIVE_PREDICTIONS)["symbol"]) == ["AAPL", "MSFT"]
    refused = lake.read_small(QUARANTINE, filters=[("target_table", "=", LIVE_PREDICTIONS.name)])
    assert refused["reason"].tolist() == ["live_prob_in_unit_interval"] and "IBM" in refused["record"].iloc[0]
