"""`pulselake models ...`: train, evaluate, score and inspect the registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Next-day return models: walk-forward evaluation, registry, scoring.", no_args_is_help=True)
console = Console(stderr=True)


def _config(name: str, max_tickers: Optional[int]):
    from jobs.models.config import load_config

    try:
        config = load_config(name)
    except (FileNotFoundError, ValueError) as error:
        raise typer.BadParameter(str(error)) from None
    if max_tickers:
        config.universe.max_tickers = max_tickers
    return config


def _print(report) -> None:
    for line in report.notes + report.skipped:
        console.print(line)
    console.print(f"{report.step}: {report.seconds:.1f} s")


def _latest():
    """Everything in the lake, as of now (the clock is read here, at the edge)."""
    from datetime import datetime, timezone

    from jobs.window import Window

    return Window.latest(datetime.now(timezone.utc))


@app.command()
def train(
    config: str = typer.Option("nightly", help="experiment name in jobs/models/configs, or a TOML path"),
    max_tickers: Optional[int] = typer.Option(None, help="train on the first N tickers only (a quick run)"),
    force: bool = typer.Option(False, help="train even if the retrain schedule says it is not due"),
    lake_root: Optional[str] = typer.Option(None, help="lake location; default $PULSELAKE_LAKE_ROOT or ./lake"),
) -> None:
    """Walk-forward evaluate against every baseline, fit, save under <lake>/models and register the run."""
    from jobs.cli.common import started_lake
    from jobs.models.steps import train_and_evaluate

    experiment = _config(config, max_tickers)
    try:
        _print(train_and_evaluate(started_lake(lake_root), _latest(), experiment, force=force))
    except ValueError as error:
        console.print(f"[red]cannot train:[/red] {error}")
        raise typer.Exit(1) from None


@app.command()
def score(
    model: str = typer.Option("lstm_global", help="model name (the config's `name`) to score with"),
    lake_root: Optional[str] = typer.Option(None, help="lake location"),
) -> None:
    """Write next-day predictions to gold.predictions with the registry's chosen model."""
    from jobs.cli.common import started_lake
    from jobs.models.steps import score as score_step

    try:
        _print(score_step(started_lake(lake_root), _latest(), model))
    except (ValueError, FileNotFoundError) as error:
        console.print(f"[red]cannot score:[/red] {error}")
        raise typer.Exit(1) from None


@app.command()
def evaluate(
    config: str = typer.Option(..., help="experiment name in jobs/models/configs, or a TOML path"),
    max_tickers: Optional[int] = typer.Option(None, help="evaluate on the first N tickers only"),
    out: Optional[Path] = typer.Option(None, help="write metrics (JSON) here"),
    lake_root: Optional[str] = typer.Option(None, help="lake location"),
) -> None:
    """Walk-forward evaluation only (no registry write): the LSTM beside every baseline."""
    from jobs.cli.common import started_lake
    from jobs.models.daily_inputs import load_samples
    from jobs.models.walkforward import format_metrics, walk_forward

    experiment = _config(config, max_tickers)
    try:
        _, samples = load_samples(started_lake(lake_root), experiment)
        result = walk_forward(samples, experiment, on_fold=lambda i, n: console.print(f"fold {i}/{n} done"))
    except ValueError as error:
        console.print(f"[red]cannot evaluate:[/red] {error}")
        raise typer.Exit(1) from None
    Console().print(format_metrics(result.metrics))
    if out:
        out.write_text(json.dumps(result.metrics, indent=1))


@app.command()
def runs(
    model: Optional[str] = typer.Option(None, help="only this model name"),
    lake_root: Optional[str] = typer.Option(None, help="lake location"),
) -> None:
    """List the registry (gold.model_runs), newest first."""
    from jobs.cli.common import started_lake
    from jobs.models.registry import runs as registry_runs

    table = Table(title="gold.model_runs")
    for column in ("version", "trained on", "eval days", "RMSE", "random walk", "IC [95% CI]", "beat RW"):
        table.add_column(column)
    for run in registry_runs(started_lake(lake_root), model):
        ic = "n/a" if run["ic"] is None else f"{run['ic']:.4f} [{run['ic_ci_low']:.4f}, {run['ic_ci_high']:.4f}]"
        table.add_row(run["version"], f"{run['train_start']}..{run['train_end']}", str(run["n_eval_days"]),
                      f"{run['rmse']:.5f}", f"{run['random_walk_rmse']:.5f}", ic, "yes" if run["beat_random_walk"] else "NO")
    Console().print(table)


@app.command()
def reproduce(
    run_id: str = typer.Argument(..., help="a version from `pulselake models runs`"),
    score: bool = typer.Option(False, "--score", help="also refit the final model and re-score the days the run "
                               "predicted, row by row against gold.predictions"),
    lake_root: Optional[str] = typer.Option(None, help="lake location"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="show Spark's and TensorFlow's logs live; they "
                                 "always go to the log file"),
) -> None:
    """Retrain and re-evaluate a registered run on the exact table versions it read (Delta time travel), with its
    config and seed, and print its metrics beside the recorded ones; exit 1 when anything differs."""
    from jobs.cli.common import settings_for, started_lake
    from jobs.models.reproduce import CannotReproduce, reproduce as run_again
    from jobs.resources.run_log import captured_output, quiet_tensorflow, run_log_path

    quiet_tensorflow()
    with captured_output(run_log_path(settings_for(lake_root), "models-reproduce"), verbose) as out:
        try:
            done = run_again(started_lake(lake_root, out), run_id, score=score)
        except CannotReproduce as error:
            out.print(f"[red]cannot reproduce:[/red] {error}")
            raise typer.Exit(1) from None
        out.print(f"{run_id}: inputs " + ", ".join(f"{t} v{v}" for t, v in sorted(done.inputs.items()))
                  + f"; seed {done.run['seed']}; trained on {done.run['train_start']}..{done.run['train_end']}")
        table = Table(title="recorded vs reproduced (out-of-sample metrics, 12 significant digits shown)")
        for column in ("model", "metric", "recorded", "reproduced", "same"):
            table.add_column(column, no_wrap=True)
        for figure in done.figures:
            table.add_row(figure.model, figure.metric, _number(figure.recorded), _number(figure.reproduced),
                          "yes" if figure.equal else "[red]NO[/red]")
        out.print(table)
        if done.predictions is not None:
            rows = len(done.predictions)
            out.print(f"predictions: {int(done.predictions['equal'].sum())} of {rows} re-scored rows equal "
                      "gold.predictions" if rows else "predictions: this run wrote none to gold.predictions")
        for note in done.notes:
            out.print(f"note: {note}")
        out.print("identical" if done.identical else "[red]NOT identical[/red]")
        if not done.identical:
            raise typer.Exit(1)


def _number(value) -> str:
    return "-" if value is None else f"{value:.12g}"
