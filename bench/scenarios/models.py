"""Scenario 4: the nightly LSTM over every ticker of the bundled S&P 500 data.

Builds the price layers (landing -> bronze -> silver -> gold features) in the bench lake, then
times the nightly config's train-and-evaluate (walk-forward against every baseline, final fit,
save, register) and its scoring step, forced so training really runs. Training throughput is a
separate, timed fit of the final network on all labelled windows (samples x epochs / seconds);
scoring latency is one in-memory predict over the latest day's windows (one per ticker).
The bench lake has no Reddit data, so the models train on price features only.
Knob: PULSELAKE_BENCH_MAX_TICKERS (default: every ticker) for a quick smoke run. `sizes` does not apply.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.timing import measured
from jobs.resources.lake import Lake
from jobs.resources.settings import Settings
from jobs.window import Window


def build_price_lake(lake: Lake, window) -> None:
    from jobs.pipeline.graph import select

    for step in select(groups=["prices"]):
        step.run(lake, window)


def run(spark, workdir: Path, sizes: list[int]) -> list[dict]:
    from jobs.models import registry
    from jobs.models.config import load_config
    from jobs.models.lstm import LstmPredictor
    from jobs.models.daily_inputs import load_samples
    from jobs.models.steps import score, train_and_evaluate

    lake = Lake(spark, Settings(lake_root=str(workdir / "models_lake"), spark_master=spark.sparkContext.master))
    config = load_config("nightly")
    # every ticker, whatever PULSELAKE_MODEL_MAX_TICKERS (the tests' slice) says
    config.universe.max_tickers = int(os.environ["PULSELAKE_BENCH_MAX_TICKERS"]) if os.environ.get("PULSELAKE_BENCH_MAX_TICKERS") else None
    row: dict = {"scenario": "models", "config": config.name}
    window = Window.latest(datetime.now(timezone.utc))
    with measured(row, "price_layers"):
        build_price_lake(lake, window)
    with measured(row, "train_evaluate"):
        trained = train_and_evaluate(lake, window, config, force=True)
    with measured(row, "score_step"):
        scored = score(lake, window, config.name)
    run_row = registry.runs(lake, config.name)[0]
    row.update(tickers=int(run_row["n_tickers"]), train_samples=int(run_row["n_train_samples"]),
               folds=int(run_row["folds"]), predictions=scored.tables.get("gold.predictions", 0),
               nightly_train_and_score_s=round(row["train_evaluate_s"] + row["score_step_s"], 1),
               beat_random_walk=bool(run_row["beat_random_walk"]))
    _, samples = load_samples(lake, config, with_sentiment=False)
    labelled = samples.take(samples.labelled)
    started = time.perf_counter()
    predictor = LstmPredictor(config.network, config.window, samples.feature_names, config.seed).fit(labelled)
    fit_s = time.perf_counter() - started
    row["fit_s"] = round(fit_s, 1)
    row["train_samples_per_s"] = round(len(labelled) * config.network.epochs / fit_s)
    latest = samples.take(samples.date == samples.date.max())
    predictor.predict(latest)  # first call traces the graph
    started = time.perf_counter()
    predictor.predict(latest)
    row["score_latency_ms_all_tickers"] = round((time.perf_counter() - started) * 1000, 1)
    row["score_windows"] = len(latest)
    row["notes"] = "; ".join(trained.notes[:1])
    return [row]
