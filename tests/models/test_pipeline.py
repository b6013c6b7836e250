"""Train, register, choose and score through a real Delta lake."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jobs.models import registry, steps
from jobs.models.features import build_samples
from jobs.models.lstm import LstmPredictor
from jobs.window import Window
from lake_schema.models import MODEL_RUNS, PREDICTIONS
from tests.models.synthetic import panel, tiny_config, write_features
from tests.windows import LATEST

pytestmark = pytest.mark.slow  # minutes of Spark work or a private service: `make test` runs it, `make test-fast` does not


def test_train_registers_a_run_and_score_writes_predictions_from_it(lake):
    write_features(lake, panel(days=130, seed=1))
    config = tiny_config()
    config.walk_forward.max_folds = 1
    report = steps.train_and_evaluate(lake, LATEST, config)
    assert report.tables == {MODEL_RUNS.name: 1}
    [run] = registry.runs(lake, "tiny")
    assert run["folds"] == 1 and run["n_tickers"] == 4 and run["model_kind"] == "global"
    assert run["train_end"] < run["data_end"] and run["eval_start"] <= run["eval_end"] <= run["data_end"]
    assert run["code_version"] and json.loads(run["hyperparameters"])["seed"] == 3
    metrics = json.loads(run["metrics_json"])["models"]
    assert set(metrics) == {"lstm", "random_walk", "drift", "yesterday", "linear"}
    assert metrics["random_walk"]["rmse"]["n"] == run["n_eval_rows"] > 0
    assert run["beat_random_walk"] == (run["rmse"] < run["random_walk_rmse"])
    model_dir = Path(run["model_uri"])
    assert model_dir.parent.parent == Path(lake.settings.lake_root) / "models"
    assert (model_dir / "global.keras").is_file() and (model_dir / "vocabulary.json").is_file()

    # a rerun on the same data does not train again (retrain schedule), nor does scoring twice write twice
    assert steps.train_and_evaluate(lake, LATEST, config).skipped
    scored = steps.score(lake, LATEST, "tiny")
    assert scored.tables == {PREDICTIONS.name: 4}
    assert steps.score(lake, LATEST, "tiny").skipped
    rows = lake.read(PREDICTIONS).toPandas()
    assert len(rows) == 4 and set(rows.ticker) == {"AAA", "BBB", "CCC", "DDD"}
    assert (rows.model_version == run["version"]).all() and rows.prob_up.between(0, 1).all()
    assert (rows.flagged == (not run["beat_random_walk"])).all()
    last = date(2010, 1, 4) + pd.offsets.BDay(129)
    assert (rows.as_of_date == last.date()).all() and (rows.target_date == (last + pd.offsets.BDay(1)).date()).all()

    # the saved model reproduces the in-memory one's predictions on the scoring rows
    samples = build_samples(panel(days=130, seed=1), config)
    latest = samples.take(samples.date == samples.date.max())
    reloaded, _ = registry.load_model(lake, run["model_uri"]).predict(latest)
    by_ticker = rows.set_index("ticker").predicted_return
    np.testing.assert_allclose(reloaded, by_ticker.loc[latest.ticker].to_numpy(), rtol=1e-5)


def test_a_backfill_of_an_old_window_never_scores_with_a_model_that_saw_later_days(lake):
    write_features(lake, panel(days=130, seed=1))
    config = tiny_config()
    config.walk_forward.max_folds = 1
    steps.train_and_evaluate(lake, LATEST, config)
    [newer] = registry.runs(lake, "tiny")
    old_end = (date(2010, 1, 4) + pd.offsets.BDay(109)).date()
    assert newer["data_end"] > old_end
    old = Window(date(2010, 5, 1), old_end, LATEST.as_of, source="test")

    refused = steps.score(lake, old, "tiny")  # the only model saw the 20 days after the window
    assert not refused.tables and f"no tiny model trained on data to {old_end}" in refused.notes[0]
    trained = steps.train_and_evaluate(lake, old, config)  # the newer run does not make the old one "not due"
    assert trained.tables == {MODEL_RUNS.name: 1} and not trained.skipped
    own = next(r for r in registry.runs(lake, "tiny") if r["version"] != newer["version"])
    assert own["data_end"] == old_end
    assert steps.score(lake, old, "tiny").tables == {PREDICTIONS.name: 4}
    rows = lake.read(PREDICTIONS).toPandas()
    assert (rows.model_version == own["version"]).all() and (rows.as_of_date == old_end).all()
    assert registry.choose_model(lake, "tiny").run["version"] == newer["version"]  # "latest" takes the newest


def _row(version: str, created: datetime, beat: bool) -> dict:
    day = date(2010, 1, 1)
    return dict(
        version=version, model_name="fam", config_fingerprint="f", model_kind="global", model_uri=f"/x/{version}",
        created_at=created, code_version="abc", train_start=day, train_end=day, data_end=day, eval_start=day,
        eval_end=day, folds=1, n_tickers=1, n_train_samples=1, hyperparameters="{}", rmse=0.02, mae=0.01,
        directional_accuracy=0.5, ic=0.0, ic_ci_low=-0.1, ic_ci_high=0.1, rank_ic=0.0, n_eval_rows=10,
        n_eval_days=5, random_walk_rmse=0.021 if beat else 0.019, beat_random_walk=beat, metrics_json="{}", seconds=1.0,
    )


def test_scoring_uses_the_newest_run_that_beat_the_random_walk_else_flags_the_newest(lake):
    assert registry.choose_model(lake, "fam") is None
    registry.register(lake, _row("v1", datetime(2024, 1, 1, tzinfo=timezone.utc), beat=False))
    choice = registry.choose_model(lake, "fam")
    assert choice.run["version"] == "v1" and choice.flagged and "random walk" in choice.reason
    registry.register(lake, _row("v2", datetime(2024, 2, 1, tzinfo=timezone.utc), beat=True))
    registry.register(lake, _row("v3", datetime(2024, 3, 1, tzinfo=timezone.utc), beat=False))
    choice = registry.choose_model(lake, "fam")
    assert choice.run["version"] == "v2" and not choice.flagged
    registry.register(lake, _row("v4", datetime(2024, 4, 1, tzinfo=timezone.utc), beat=True))
    assert registry.choose_model(lake, "fam").run["version"] == "v4"


def test_same_seed_same_model_and_per_ticker_models_only_score_their_own_ticker():
    config = tiny_config()
    samples = build_samples(panel(days=90, seed=7), config)
    train = samples.take(samples.labelled)
    first = LstmPredictor(config.network, config.window, samples.feature_names, config.seed).fit(train).predict(samples)
    second = LstmPredictor(config.network, config.window, samples.feature_names, config.seed).fit(train).predict(samples)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    other_seed = LstmPredictor(config.network, config.window, samples.feature_names, 99).fit(train).predict(samples)
    assert not np.array_equal(first[0], other_seed[0])

    per = config.network.model_copy(update={"kind": "per_ticker", "epochs": 1})
    two = train.take(np.isin(train.ticker, ["AAA", "BBB"]))
    predictor = LstmPredictor(per, config.window, samples.feature_names, config.seed).fit(two)
    assert sorted(predictor.models) == ["AAA", "BBB"]
    ret, up = predictor.predict(samples)
    known = np.isin(samples.ticker, ["AAA", "BBB"])
    assert np.isfinite(ret[known]).all() and np.isnan(ret[~known]).all() and np.isnan(up[~known]).all()


def test_training_without_gold_features_is_a_clear_error(lake):
    with pytest.raises(ValueError, match="gold.daily_features does not exist"):
        steps.train_and_evaluate(lake, LATEST, tiny_config())
