"""What every model's train step shares: when a retrain is due, and walk-forward -> final fit -> register.

The daily and the intraday model differ only in their samples; both are judged by the same walk-forward against
the same baselines, saved the same way and registered as one gold.model_runs row.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timezone

import pandas as pd

from jobs.models import registry
from jobs.models.features import Samples
from jobs.models.lstm import LstmPredictor
from jobs.models.walkforward import MODEL, walk_forward
from jobs.resources.lake import Lake
from jobs.steps import StepReport


def retrain_not_due(lake: Lake, config, trade_dates: pd.Series, data_end: date) -> str | None:
    """Why training is skipped: the last run of the same config on data to `data_end` saw all but fewer than
    `retrain_every` of the trading days in `trade_dates`; None when a retrain is due. Runs on later data do not
    count: a backfill of an old window trains its own model rather than lean on one that saw the future."""
    fingerprint = config.fingerprint()
    same = [r for r in registry.runs(lake, config.name) if r["config_fingerprint"] == fingerprint]
    previous = registry.trained_by(same, data_end)
    if not previous:
        return None
    days = pd.to_datetime(pd.Series(trade_dates)).drop_duplicates()
    waited = int((days > pd.Timestamp(previous[0]["data_end"])).sum())
    if waited >= config.walk_forward.retrain_every:
        return None
    return (f"{config.name}: last trained on data to {previous[0]['data_end']}, {waited} new trading day(s) "
            f"< retrain_every={config.walk_forward.retrain_every}")


def library_versions() -> dict[str, str]:
    """The installed versions of the libraries a run's numbers depend on."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("tensorflow", "keras", "numpy", "pandas", "pyspark", "delta-spark"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "absent"
    return found


def fit_and_register(lake: Lake, config, samples: Samples, data_end: date, started: float,
                     report: StepReport, inputs: dict[str, int] | None = None) -> str:
    """Walk-forward evaluate `config` against every baseline, fit the final model on all labelled samples, save it
    under <lake>/models and register the run with the table versions it read (`inputs`, from `Lake.pinned`); the
    report gets the commit and the comparison. Returns the version."""
    threads = lake.settings.tf_threads
    result = walk_forward(samples, config, threads=threads)
    labelled = samples.take(samples.labelled)
    final = LstmPredictor(config.network, config.window, samples.feature_names, config.seed, threads=threads).fit(labelled)
    now = datetime.now(timezone.utc)  # the model's creation time: an audit fact, and part of its version
    version = registry.new_version(config.name, config.fingerprint(), now)
    uri = registry.save_model(lake, final, config.name, version)
    lstm, rw = result.metrics[MODEL], result.metrics["random_walk"]
    day = lambda value: pd.Timestamp(value).date()  # noqa: E731
    registered = registry.register(lake, {
        "version": version, "model_name": config.name, "config_fingerprint": config.fingerprint(),
        "model_kind": config.network.kind, "model_uri": uri, "created_at": now,
        "code_version": registry.code_version(),
        "train_start": day(labelled.date.min()), "train_end": day(labelled.date.max()), "data_end": data_end,
        "eval_start": day(result.folds[0].test_start), "eval_end": day(result.folds[-1].test_end),
        "folds": len(result.folds), "n_tickers": int(len(set(labelled.ticker))), "n_train_samples": len(labelled),
        "hyperparameters": json.dumps(config.model_dump(mode="json") | {"feature_names": list(samples.feature_names)},
                                      sort_keys=True),
        "rmse": lstm["rmse"]["value"], "mae": lstm["mae"]["value"],
        "directional_accuracy": lstm["directional_accuracy"]["value"],
        "ic": lstm["ic"]["value"], "ic_ci_low": lstm["ic"]["ci_low"], "ic_ci_high": lstm["ic"]["ci_high"],
        "rank_ic": lstm["rank_ic"]["value"], "n_eval_rows": lstm["rmse"]["n"], "n_eval_days": lstm["rmse"]["days"],
        "random_walk_rmse": rw["rmse"]["value"], "beat_random_walk": result.beat_random_walk(),
        "metrics_json": registry.metrics_json(result.metrics, result.folds),
        "seconds": round(time.perf_counter() - started, 2),
        "input_versions": json.dumps(inputs, sort_keys=True) if inputs is not None else None,
        "seed": int(config.seed), "library_versions": json.dumps(library_versions(), sort_keys=True),
    })
    report.add_written(registered)
    report.notes.append(
        f"{version}: {len(result.folds)} folds, {lstm['rmse']['n']:,} out-of-sample rows; RMSE {lstm['rmse']['value']:.6f} "
        f"vs random walk {rw['rmse']['value']:.6f} ({'beats' if result.beat_random_walk() else 'does NOT beat'} it); "
        + describe_ic(lstm["ic"])
    )
    report.notes.append("baselines RMSE / IC: " + ", ".join(
        f"{name} {m['rmse']['value']:.6f} / " + ("n/a" if m["ic"]["value"] is None else f"{m['ic']['value']:.4f}")
        for name, m in result.metrics.items() if name != MODEL
    ))
    return version


def describe_ic(ic: dict) -> str:
    """IC with its interval; a single day of IC has no interval, so none is printed."""
    if ic["value"] is None:
        return "IC n/a"
    interval = (f" [{ic['ci_low']:.4f}, {ic['ci_high']:.4f}]" if ic["ci_low"] is not None and ic["ci_high"] is not None
                else " (no interval)")
    return f"IC {ic['value']:.4f}{interval} over {ic['days']} days"

