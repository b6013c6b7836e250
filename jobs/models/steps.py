"""The models' steps: train + walk-forward evaluate + register the daily LSTM and the intraday model, score the
next day with the daily one, and score live with the intraday one beside the stream's batches.

Training is skipped until `retrain_every` new trading days have arrived since the last run of the same config on
data to the window's end; scoring writes once per (model version, as-of day) with a model trained on data up to
the day it scores; a live prediction is made once.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING

from jobs.steps import StepReport, step, timed
from jobs.window import Window
from lake_schema.gold_sentiment import SENTIMENT_DAILY
from lake_schema.models import LIVE_PREDICTIONS, LIVE_SCORECARD, MODEL_RUNS, PREDICTIONS
from lake_schema.prices import GOLD_DAILY_FEATURES
from lake_schema.trades import BARS_1M

if TYPE_CHECKING:
    from jobs.models.config import ExperimentConfig, IntradayConfig
    from jobs.resources.lake import Lake, Txn


@step("models.intraday_train", reads=[BARS_1M, SENTIMENT_DAILY], writes=[MODEL_RUNS], windowed=True,
      description="walk-forward train + evaluate the intraday model on 1-minute bars to the window's end, register")
@timed
def train_intraday(lake: Lake, window: Window, config: IntradayConfig | None = None, force: bool = False) -> StepReport:
    """Walk-forward evaluate the intraday config on the 1-minute bars to the window's end, fit the final model on
    every labelled window and register it; a lake with too few trading days of bars says so and trains nothing."""
    import pandas as pd

    from jobs.models.intraday_inputs import intraday_config, load_intraday_samples
    from jobs.models.training import fit_and_register, retrain_not_due

    started = time.perf_counter()
    config = config or intraday_config(lake.settings)
    report = StepReport(f"models: train + evaluate {config.name} (next {config.horizon_minutes} min)")
    if not lake.exists(BARS_1M):
        report.notes.append("silver.bars_1m does not exist yet: nothing to train on")
        return report
    with lake.pinned() as inputs:  # the table versions this run reads, recorded with it
        bars, windows = load_intraday_samples(lake, config, until=window.end)
    days = pd.to_datetime(bars["trade_date"]).drop_duplicates() if not bars.empty else pd.Series([], dtype="datetime64[ns]")
    needed = config.walk_forward.min_train_days
    labelled_days = len(set(windows.samples.date[windows.samples.labelled]))
    if labelled_days <= needed:
        report.notes.append(f"{labelled_days} trading day(s) of labelled 1-minute bars; the walk-forward needs more "
                            f"than min_train_days={needed}: nothing trained")
        return report
    data_end = days.max().date()
    if not force and (reason := retrain_not_due(lake, config, days, data_end)):
        report.skipped.append(reason)
        return report
    fit_and_register(lake, config, windows.samples, data_end, started, report, inputs)
    return report


@step("models.train", reads=[GOLD_DAILY_FEATURES, SENTIMENT_DAILY], writes=[MODEL_RUNS], windowed=True,
      description="walk-forward train + evaluate on data to the window's end, register")
@timed
def train_and_evaluate(lake: Lake, window: Window, config: ExperimentConfig | None = None, force: bool = False) -> StepReport:
    """Walk-forward evaluate the config against every baseline on the days to the window's end, fit the final
    model on all labelled data, save it under <lake>/models and register the run."""
    from jobs.models.daily_inputs import load_samples, nightly_config
    from jobs.models.training import fit_and_register, retrain_not_due

    started = time.perf_counter()
    config = config or nightly_config(lake.settings)
    report = StepReport(f"models: train + evaluate {config.name}")
    with lake.pinned() as inputs:  # the table versions this run reads, recorded with it
        frame, samples = load_samples(lake, config, until=window.end)
    if not len(samples):
        report.notes.append("no complete feature windows: nothing to train on")
        return report
    data_end = frame["trade_date"].max().date()
    if not force and (reason := retrain_not_due(lake, config, frame["trade_date"], data_end)):
        report.skipped.append(reason)
        return report
    fit_and_register(lake, config, samples, data_end, started, report, inputs)
    return report


@step("models.score", reads=[MODEL_RUNS, GOLD_DAILY_FEATURES, SENTIMENT_DAILY], writes=[PREDICTIONS], windowed=True,
      description="predict the day after the window's last trading day")
@timed
def score(lake: Lake, window: Window, model_name: str | None = None) -> StepReport:
    """Predict the next day for every ticker with a full window on the window's last trading day, using the
    registry's chosen model among those trained on data to the window's end (flagged when none beat the random
    walk)."""
    import numpy as np
    import pandas as pd

    from jobs.models import registry
    from jobs.models.config import ExperimentConfig
    from jobs.models.daily_inputs import load_samples, next_weekday, nightly_config
    from jobs.resources.lake import Txn

    model_name = model_name or nightly_config(lake.settings).name
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
    target_date = next_weekday(as_of_date)
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


@step("models.live", reads=[BARS_1M, MODEL_RUNS, SENTIMENT_DAILY], writes=[LIVE_PREDICTIONS, LIVE_SCORECARD],
      windowed=False, kind="live",
      description="predict the next minutes for symbols whose bars moved (newest intraday model); judge arrived outcomes")
@timed
def score_live(lake: Lake, window: Window, symbols: list[str] | None = None, days: list[date] | None = None,
               txn: Txn | None = None, config: IntradayConfig | None = None,
               scorecard_window: int | None = None, at: dict[str, datetime] | None = None) -> StepReport:
    """Predict for `symbols` (default: every symbol with bars) on `days` (default: the newest day of bars) from
    their bars closed by their newest bar's start (that bar may still be filling), or by the minute `at` names for
    the symbol (what one stream batch saw as newest); skip predictions already made; then rewrite the scorecard rows
    of the model (over each symbol's `scorecard_window` newest resolved predictions, default DEFAULT_WINDOW).
    `window` is not used: live scoring is always "latest"."""
    import pandas as pd
    import pyarrow as pa

    from jobs.models.intraday import BAR_COLUMNS
    from jobs.models.intraday_inputs import intraday_config
    from jobs.models.live import (EXCHANGE_CLOSE, append_predictions, as_python, current_model, daily_sentiment, newest_day,
                                  predict_rows, predictions_made, scorecard_days, session_close)
    from jobs.models.scorecard import DEFAULT_WINDOW, outcomes, scorecard

    name = (config or intraday_config(lake.settings)).name
    report = StepReport(f"live: score {name}")
    model = current_model(lake, name)
    if model is None:
        report.notes.append(f"no {name} model in gold.model_runs: nothing scored (run the models.intraday_train step)")
        return report
    days = days or ([day] if (day := newest_day(lake)) else [])
    if not days:
        report.notes.append("silver.bars_1m has no bars: nothing scored")
        return report
    where = [("trade_date", "in", list(days))]
    bars = lake.read_small(BARS_1M, where=where, columns=BAR_COLUMNS)
    if at is None:
        moved = bars if symbols is None else bars[bars["symbol"].isin(symbols)]
        at = moved.groupby("symbol")["minute_start"].max().to_dict()
    at = {s: pd.Timestamp(t) for s, t in at.items()}
    sentiment = daily_sentiment(lake, days) if model.with_sentiment else None
    rows = predict_rows(model, bars, at, sentiment, datetime.now(timezone.utc))
    made = predictions_made(lake, where, model.version)
    rows = [r for r in rows if (r["symbol"], pd.Timestamp(r["predicted_at"])) not in made]
    after_close = [r for r in rows if r["target_at"] > session_close(r["trade_date"])]
    rows = [r for r in rows if r not in after_close]  # the session's last minutes: no price will come to judge them
    if rows:
        report.add_written(append_predictions(lake, rows, txn))
    report.notes.append(f"{len(rows)} prediction(s) from {model.version}" + (" (FLAGGED)" if model.flagged else "")
                        + (f"; {len(after_close)} not made: their target is after the session's close "
                           f"({EXCHANGE_CLOSE:%H:%M} New York)" if after_close else ""))
    recent = scorecard_days(lake, days)
    if recent != sorted(days):
        bars = lake.read_small(BARS_1M, where=[("trade_date", "in", recent)], columns=BAR_COLUMNS)
    judged = outcomes(lake.read_small(LIVE_PREDICTIONS, where=[("trade_date", "in", recent)],
                                      filters=[("model_version", "=", model.version)]), bars)
    card = scorecard(judged, datetime.now(timezone.utc), scorecard_window or DEFAULT_WINDOW)
    if not card.empty:
        records = [{k: as_python(v) for k, v in row.items()} for row in card.to_dict("records")]
        schema = LIVE_SCORECARD.arrow_schema()
        rows_card = pa.Table.from_pylist(records, schema=pa.schema([schema.field(c) for c in card.columns]))
        report.add_written(lake.merge_rows(LIVE_SCORECARD, rows_card, txn=txn))
    return report
