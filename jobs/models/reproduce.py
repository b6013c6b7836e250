"""Reproduce a registered model run: the same data (the Delta versions of the tables it read, by time travel), the
same config and seed, the same walk-forward and final fit; its numbers beside the recorded ones.

On the machine that trained it the numbers are equal: TensorFlow runs with op determinism and every fit starts
from the run's seed. A run registered before input versions were recorded, or one whose input versions VACUUM
has since deleted, cannot be reproduced, and the error says which table and version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from jobs.models import registry
from jobs.models.config import ExperimentConfig, IntradayConfig
from jobs.models.daily_inputs import load_samples
from jobs.models.intraday_inputs import load_intraday_samples
from jobs.models.lstm import LstmPredictor
from jobs.models.walkforward import walk_forward
from jobs.resources.lake import Lake
from lake_schema import TABLES
from lake_schema.models import PREDICTIONS


class CannotReproduce(ValueError):
    """The run lacks what reproducing it needs (recorded inputs, or their files)."""


@dataclass(frozen=True)
class Figure:
    model: str  # "lstm" or a baseline
    metric: str
    recorded: float | None
    reproduced: float | None

    @property
    def equal(self) -> bool:
        return self.recorded == self.reproduced


@dataclass
class Reproduction:
    run: dict
    inputs: dict[str, int]
    figures: list[Figure] = field(default_factory=list)
    predictions: pd.DataFrame | None = None  # recorded beside re-scored, per (ticker, as_of_date)
    notes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        same_predictions = self.predictions is None or bool(self.predictions["equal"].all())
        return all(f.equal for f in self.figures) and same_predictions


def find_run(lake: Lake, version: str) -> dict:
    for run in registry.runs(lake):
        if run["version"] == version:
            return run
    raise CannotReproduce(f"no run {version!r} in gold.model_runs (`pulselake models runs` lists them)")


def check_inputs(lake: Lake, inputs: dict[str, int]) -> None:
    """Every recorded table version still has its log entry and its data files, or a clear error names the
    first that does not."""
    for name, version in sorted(inputs.items()):
        spec = TABLES[name]
        try:
            missing = lake.missing_files(spec, version)
        except Exception as exc:  # noqa: BLE001 (delta-rs says why in its own words: the log entry is gone)
            raise CannotReproduce(f"{name} version {version} can no longer be read ({type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0]})") from None
        if missing:
            raise CannotReproduce(f"{name} version {version} is gone: VACUUM deleted {missing} of its data files "
                                  "(`pulselake vacuum` keeps the versions registered runs read unless told not to)")


def _config(run: dict) -> tuple[ExperimentConfig | IntradayConfig, tuple[str, ...]]:
    hyperparameters = json.loads(run["hyperparameters"])
    features = tuple(hyperparameters.pop("feature_names", ()))
    kind = IntradayConfig if "horizon_minutes" in hyperparameters else ExperimentConfig
    return kind.model_validate(hyperparameters), features


def reproduce(lake: Lake, version: str, score: bool = False) -> Reproduction:
    """Re-read the run's inputs at their recorded versions, rerun its walk-forward, and compare every model's
    metrics with the recorded ones; with `score`, also refit its final model and re-score the days it predicted
    (those in gold.predictions from this run), row by row."""
    run = find_run(lake, version)
    if not run.get("input_versions"):
        raise CannotReproduce(f"run {version} was registered without the versions of its inputs; train a new run "
                              "(`pulselake models train --force`) to get one that can be reproduced")
    inputs = json.loads(run["input_versions"])
    check_inputs(lake, inputs)
    config, features = _config(run)
    with lake.pinned(inputs) as read:
        if isinstance(config, IntradayConfig):
            _, windows = load_intraday_samples(lake, config, until=run["data_end"])
            samples = windows.samples
        else:
            with_sentiment = any(name.startswith("sent_") for name in features)
            _, samples = load_samples(lake, config, with_sentiment=with_sentiment, until=run["data_end"])
    done = Reproduction(run, inputs)
    if set(read) != set(inputs):
        done.notes.append(f"read tables the run did not record: {sorted(set(read) - set(inputs))}")
    if tuple(samples.feature_names) != features:
        raise CannotReproduce(f"the inputs give features {list(samples.feature_names)}, the run had {list(features)}")
    threads = lake.settings.tf_threads
    result = walk_forward(samples, config, threads=threads)
    recorded = json.loads(run["metrics_json"])["models"]
    reproduced = json.loads(json.dumps(result.metrics))  # the registry's own rounding through JSON
    for model in sorted(set(recorded) | set(reproduced)):
        for metric in sorted(set(recorded.get(model, {})) | set(reproduced.get(model, {}))):
            done.figures.append(Figure(model, metric, recorded.get(model, {}).get(metric, {}).get("value"),
                                       reproduced.get(model, {}).get(metric, {}).get("value")))
    if score:
        done.predictions = _rescore(lake, run, config, samples, threads)
    return done


def _rescore(lake: Lake, run: dict, config, samples, threads: int | None) -> pd.DataFrame:
    """The final model refitted from the seed on every labelled sample, predicting the days this run scored."""
    if not lake.exists(PREDICTIONS):
        return pd.DataFrame(columns=["ticker", "as_of_date", "recorded", "reproduced", "equal"])
    made = lake.read(PREDICTIONS, filters=[("model_version", "=", run["version"])]).select(
        "ticker", "as_of_date", "predicted_return").toPandas()
    labelled = samples.take(samples.labelled)
    final = LstmPredictor(config.network, config.window, samples.feature_names, config.seed, threads=threads).fit(labelled)
    rows = []
    for day in sorted(set(made["as_of_date"])):
        at = samples.take(samples.date == np.datetime64(day, "D"))
        predicted, _ = final.predict(at)
        again = dict(zip(at.ticker, predicted))
        for _, row in made[made["as_of_date"] == day].iterrows():
            value = again.get(row["ticker"])
            rows.append({"ticker": row["ticker"], "as_of_date": day, "recorded": row["predicted_return"],
                         "reproduced": None if value is None else float(value),
                         "equal": value is not None and float(value) == row["predicted_return"]})
    return pd.DataFrame(rows, columns=["ticker", "as_of_date", "recorded", "reproduced", "equal"])
