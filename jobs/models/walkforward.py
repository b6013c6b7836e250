"""Walk-forward evaluation: expanding training window, retrained every `retrain_every`
trading days, never a random split. Every baseline is fitted on the same training
samples and scored on the same test rows as the LSTM.

A sample dated t is labelled with the return from t to t+1, which is known at
the close of t+1; a fold whose first test day is d trains on samples dated
before d only, so every label it learns from was known when it predicts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from jobs.models import baselines
from jobs.models.config import ExperimentConfig
from jobs.models.features import Samples
from jobs.models.lstm import LstmPredictor
from jobs.models.metrics import evaluate, prob_from_sign

MODEL = "lstm"


@dataclass
class Fold:
    train_end: np.datetime64  # last sample date trained on
    test_start: np.datetime64
    test_end: np.datetime64
    train_samples: int
    test_samples: int
    seconds: float = 0.0


@dataclass
class WalkForwardResult:
    predictions: pd.DataFrame  # ticker, date, y, and <model>_pred / <model>_up per model
    folds: list[Fold]
    metrics: dict[str, dict[str, dict]] = field(default_factory=dict)  # model -> metric -> stat

    @property
    def models(self) -> list[str]:
        return [MODEL, *baselines.BASELINES]

    def beat_random_walk(self) -> bool:
        """The LSTM's out-of-sample RMSE is below the random walk's on the same rows."""
        mine, rw = self.metrics[MODEL]["rmse"]["value"], self.metrics["random_walk"]["rmse"]["value"]
        return mine is not None and rw is not None and mine < rw


def fold_schedule(samples: Samples, config: ExperimentConfig) -> list[tuple[np.datetime64, np.datetime64]]:
    """(first, last) test day of each fold, over the days that have labelled samples."""
    wf = config.walk_forward
    days = np.unique(samples.date[samples.labelled])
    if len(days) <= wf.min_train_days:
        raise ValueError(
            f"{len(days)} labelled trading days, but the walk-forward needs more than min_train_days={wf.min_train_days}"
        )
    starts = list(range(wf.min_train_days, len(days), wf.retrain_every))
    folds = [(days[s], days[min(s + wf.retrain_every, len(days)) - 1]) for s in starts]
    return folds[-wf.max_folds:] if wf.max_folds else folds


def walk_forward(samples: Samples, config: ExperimentConfig, on_fold: Callable[[int, int], None] | None = None,
                 threads: int | None = None) -> WalkForwardResult:
    labelled = samples.take(samples.labelled)
    schedule = fold_schedule(labelled, config)
    parts, folds = [], []
    for number, (first, last) in enumerate(schedule, 1):
        started = time.perf_counter()
        train = labelled.take(labelled.date < first)
        test = labelled.take((labelled.date >= first) & (labelled.date <= last))
        frame = pd.DataFrame({"ticker": test.ticker, "date": test.date, "y": test.y})
        lstm = LstmPredictor(config.network, config.window, samples.feature_names, config.seed, threads=threads).fit(train)
        frame[f"{MODEL}_pred"], frame[f"{MODEL}_up"] = lstm.predict(test)
        for name, baseline in baselines.BASELINES.items():
            pred = baseline(train, test, config.ridge_alpha) if name == "linear" else baseline(train, test)
            frame[f"{name}_pred"], frame[f"{name}_up"] = pred, prob_from_sign(pred)
        parts.append(frame)
        folds.append(Fold(train.date.max(), first, last, len(train), len(test), round(time.perf_counter() - started, 2)))
        if on_fold:
            on_fold(number, len(schedule))
    predictions = pd.concat(parts, ignore_index=True)
    result = WalkForwardResult(predictions, folds)
    # A per-ticker run cannot score tickers it never trained on: every model is judged on the same rows.
    scored = predictions[~predictions[f"{MODEL}_pred"].isna()]
    for model in result.models:
        result.metrics[model] = evaluate(
            scored["y"].to_numpy(), scored[f"{model}_pred"].to_numpy(), scored[f"{model}_up"].to_numpy(), scored["date"].to_numpy()
        )
    return result


def format_metrics(metrics: dict[str, dict[str, dict]]) -> str:
    """Markdown table: every model beside the others, each metric with its CI and n."""
    def cell(stat: dict, digits: int) -> str:
        if stat["value"] is None:
            return f"n/a (n={stat['n']})"
        ci = "" if stat["ci_low"] is None else f" [{stat['ci_low']:.{digits}f}, {stat['ci_high']:.{digits}f}]"
        return f"{stat['value']:.{digits}f}{ci}"

    lines = ["| model | RMSE | MAE | directional acc. | IC | rank IC | rows | IC days |", "|---|---|---|---|---|---|---|---|"]
    for model, s in metrics.items():
        lines.append(
            f"| {model} | {cell(s['rmse'], 5)} | {cell(s['mae'], 5)} | {cell(s['directional_accuracy'], 3)} "
            f"{'' if s['directional_accuracy']['value'] is None else '(n=' + str(s['directional_accuracy']['n']) + ')'} | {cell(s['ic'], 4)} | {cell(s['rank_ic'], 4)} | {s['rmse']['n']} | {s['ic']['days']} |"
        )
    return "\n".join(lines)
