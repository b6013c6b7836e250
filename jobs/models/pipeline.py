"""Model steps for the nightly run: train + walk-forward evaluate + register, then score.

Both read their inputs through the lake and write exactly one table each, and
both are idempotent: training is skipped until `retrain_every` new trading days
have arrived since the last run of the same config, scoring writes once per
(model version, as-of day).
"""

from __future__ import annotations

import json
import os
import time
from datetime import date

import numpy as np
import pandas as pd
from pyspark.sql import functions as F

from jobs.models import registry
from jobs.models.config import ExperimentConfig, load_config
from jobs.models.features import Samples, add_sentiment, build_samples, select_universe
from jobs.models.training import fit_and_register, retrain_not_due
from jobs.resources.lake import Lake, Txn
from jobs.steps import StepReport, timed
from jobs.window import Window
from lake_schema.gold_sentiment import SENTIMENT_DAILY
from lake_schema.models import PREDICTIONS
from lake_schema.prices import GOLD_DAILY_FEATURES

_FEATURE_COLUMNS = ["ticker", "trade_date", "return_1d", "return_5d", "return_20d", "volatility_20d", "range_pct",
                    "dollar_volume", "volume_z_20d", "close_to_sma_20d"]


def nightly_config() -> ExperimentConfig:
    """The config the nightly runs: PULSELAKE_MODEL_CONFIG (name or TOML path, default 'nightly'),
    cut to PULSELAKE_MODEL_MAX_TICKERS tickers when set (a quick `make run`)."""
    config = load_config(os.environ.get("PULSELAKE_MODEL_CONFIG", "nightly"))
    if os.environ.get("PULSELAKE_MODEL_MAX_TICKERS"):
        config.universe.max_tickers = int(os.environ["PULSELAKE_MODEL_MAX_TICKERS"])
    return config


def load_samples(lake: Lake, config: ExperimentConfig, with_sentiment: bool | None = None,
                 until: date | None = None) -> tuple[pd.DataFrame, Samples]:
    """The experiment's panel (from gold.daily_features) and its windows. Sentiment features are
    added when `with_sentiment` is True, or (None) when gold.sentiment_daily has rows inside the
    panel's dates; a model always scores with the feature set it was trained on."""
    if not lake.exists(GOLD_DAILY_FEATURES):
        raise ValueError("gold.daily_features does not exist yet: run the price steps first")
    features = lake.read(GOLD_DAILY_FEATURES).select(*_FEATURE_COLUMNS)
    if until is not None:  # a run for an old window sees only the days up to its end
        features = features.where(F.col("trade_date") <= F.lit(until))
    if config.universe.tickers:
        features = features.where(features.ticker.isin(config.universe.tickers))
    frame = select_universe(features.toPandas(), config)
    sentiment = None
    if config.use_sentiment and with_sentiment is not False and not frame.empty and lake.exists(SENTIMENT_DAILY):
        first, last = frame["trade_date"].min().date(), frame["trade_date"].max().date()
        sentiment = (
            lake.read(SENTIMENT_DAILY).where((F.col("day") >= F.lit(first)) & (F.col("day") <= F.lit(last)))
            .select("ticker", "day", "posts", "mean_sentiment", "weighted_sentiment", "bullish_share").toPandas()
        )
    if with_sentiment is None:
        with_sentiment = sentiment is not None and not sentiment.empty
    if with_sentiment:
        frame = add_sentiment(frame, sentiment)
    return frame, build_samples(frame, config, with_sentiment)


@timed
def train_and_evaluate(lake: Lake, window: Window, config: ExperimentConfig | None = None, force: bool = False) -> StepReport:
    """Walk-forward evaluate the config against every baseline on the days to the window's end, fit the final
    model on all labelled data, save it under <lake>/models and register the run."""
    started = time.perf_counter()
    config = config or nightly_config()
    report = StepReport(f"models: train + evaluate {config.name}")
    frame, samples = load_samples(lake, config, until=window.end)
    if not len(samples):
        report.notes.append("no complete feature windows: nothing to train on")
        return report
    data_end = frame["trade_date"].max().date()
    if not force and (reason := retrain_not_due(lake, config, frame["trade_date"], data_end)):
        report.skipped.append(reason)
        return report
    fit_and_register(lake, config, samples, data_end, started, report)
    return report


def _next_weekday(day) -> object:
    return pd.Timestamp(np.busday_offset(np.datetime64(day, "D"), 1, roll="forward")).date()


@timed
def score(lake: Lake, window: Window, model_name: str | None = None) -> StepReport:
    """Predict the next day for every ticker with a full window on the window's last trading day, using the
    registry's chosen model among those trained on data to the window's end (flagged when none beat the random
    walk)."""
    model_name = model_name or nightly_config().name
    report = StepReport(f"models: score {model_name}")
    choice = registry.choose_model(lake, model_name, window.end)
    if choice is None:
        trained = f" on data to {window.end}" if window.bounded else ""
        report.notes.append(f"no {model_name} model trained{trained} in gold.model_runs: nothing to score")
        return report
    run = choice.run
    hyperparameters = json.loads(run["hyperparameters"])
    hyperparameters.pop("feature_names", None)
    config = ExperimentConfig.model_validate(hyperparameters)
    predictor = registry.load_model(lake, run["model_uri"])
    trained_with_sentiment = any(name.startswith("sent_") for name in predictor.feature_names)
    frame, samples = load_samples(lake, config, with_sentiment=trained_with_sentiment, until=window.end)
    as_of_day = frame["trade_date"].max().to_datetime64().astype("datetime64[D]")
    if run["data_end"] > pd.Timestamp(as_of_day).date():
        raise ValueError(f"model {run['version']} saw data to {run['data_end']}, after {as_of_day}, the day it "
                         "would score: gold.model_runs or the features changed under this run")
    latest = samples.take(samples.date == as_of_day)
    txn = Txn(app_id=f"predictions:{run['version']}:{as_of_day}", version=1)
    if lake.exists(PREDICTIONS) and (lake.txn_version(PREDICTIONS, txn.app_id) or 0) >= 1:
        report.skipped.append(f"{model_name} {run['version']} already scored as of {as_of_day}")
        return report
    if tuple(predictor.feature_names) != tuple(latest.feature_names):
        raise ValueError(f"model {run['version']} was trained on features {predictor.feature_names}, "
                         f"the lake now gives {latest.feature_names}: retrain it (pulselake models train --force)")
    predicted, prob_up = predictor.predict(latest)
    as_of_date = pd.Timestamp(as_of_day).date()
    keep = ~(np.isnan(predicted) | np.isnan(prob_up))  # a per-ticker run has no model for new tickers
    target_date = _next_weekday(as_of_date)
    rows = [
        {"ticker": str(t), "as_of_date": as_of_date, "target_date": target_date,
         "as_of_month": as_of_date.strftime("%Y-%m"), "predicted_return": float(r), "prob_up": float(p),
         "model_version": run["version"], "as_of": window.as_of, "flagged": choice.flagged, "flag_reason": choice.reason}
        for t, r, p in zip(latest.ticker[keep], predicted[keep], prob_up[keep])
    ]
    if not rows:
        report.notes.append(f"no ticker has a complete {config.window}-day window on {as_of_date}: nothing scored")
        return report
    frame_out = lake.spark.createDataFrame(rows, schema=PREDICTIONS.spark_ddl())
    result = lake.merge(PREDICTIONS, frame_out, txn=txn)
    report.add_written(result)
    report.notes.append(
        f"{len(rows)} predictions as of {as_of_date} from {run['version']}"
        + (f" (FLAGGED: {choice.reason})" if choice.flagged else " (beat the random walk out of sample)")
    )
    if choice.flagged:
        report.warnings["predictions_flagged_no_model_beat_random_walk"] = len(rows)
    return report
