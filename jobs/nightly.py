"""The nightly pipeline: collectors -> Kafka -> bronze -> silver -> gold, over the embedded data by default.

The bundled daily-bar files are a file drop, not a collector: they keep their landing folder. Every
collector (the Finnhub websocket and REST, Reddit) goes through Kafka."""

from __future__ import annotations

from datetime import date
from typing import Callable

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from jobs.gold_sentiment import pipeline as gold_sentiment
from jobs.models import pipeline as models
from jobs.prices import pipeline as prices
from jobs.reddit import pipeline as reddit
from jobs.resources.lake import Lake
from jobs.sentiment.spark_job import sentiment_step
from jobs.ingest.consume import take
from jobs.ingest.rest_answers import bronze_rest, collect_replay_rest
from jobs.steps import StepReport
from jobs.stream.batch import trades_sink
from jobs.trades.pipeline import REPLAY_DAY, REPLAY_SYMBOLS, collect_replay_trades, silver_trades
from lake_schema import TABLES


def run_nightly(lake: Lake, start: date | None = None, end: date | None = None, console: Console | None = None) -> list[StepReport]:
    console = console or Console(stderr=True)
    reports: list[StepReport] = []
    months: list[str] = []

    def months_step() -> StepReport:
        months.extend(prices.months_in_bronze(lake, start, end))
        report = StepReport("plan months")
        report.notes.append(f"{len(months)} months: {months[0]} .. {months[-1]}" if months else "no data in range")
        return report

    steps: list[tuple[str, Callable[[], StepReport]]] = [
        ("landing: bundled daily bar files", lambda: prices.land(lake)),
        ("bronze: parse landed lines", lambda: prices.bronze(lake)),
        ("silver: symbols reference", lambda: prices.symbols(lake)),
        ("plan: months to rebuild", months_step),
        ("silver: validate and deduplicate bars", lambda: prices.silver(lake, months)),
        ("gold: daily features", lambda: prices.gold(lake, months)),
        ("reddit: replay corpus -> Kafka (praw, loopback)", lambda: reddit.collect_replay_corpus(lake)),
        ("bronze: reddit posts and comments from Kafka", lambda: reddit.bronze_reddit(lake)),
        ("silver: reddit merged on id", lambda: reddit.silver_reddit(lake)),
        ("silver: post sentiment (default scorer)", lambda: sentiment_step(lake)),
        ("finnhub: a bundled trading day -> Kafka (websocket, loopback)", lambda: collect_replay_trades(lake)),
        ("finnhub: quotes, profiles, candles -> Kafka (REST, loopback)",
         lambda: collect_replay_rest(REPLAY_SYMBOLS, REPLAY_DAY.replace(day=1), REPLAY_DAY)),
        ("bronze: Finnhub REST answers from Kafka", lambda: bronze_rest(lake)),
        ("bronze + silver + bars: trades from Kafka", lambda: take(lake, trades_sink())),
        ("silver + gold: trades, 1-minute and daily bars for closed days", lambda: silver_trades(lake)),
        ("gold: sentiment per day, post price windows, lead-lag", lambda: gold_sentiment.build(lake)),
        ("models: walk-forward train + evaluate + register", lambda: models.train_and_evaluate(lake)),
        ("models: score next day", lambda: models.score(lake)),
    ]
    # No redirect: a step's print() and warnings go to fds 1/2 (the run log under `pulselake nightly`), not above the bars.
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=False,
                  redirect_stdout=False, redirect_stderr=False) as progress:
        overall = progress.add_task("nightly", total=len(steps))
        for label, step in steps:
            progress.update(overall, description=f"[{len(reports) + 1}/{len(steps)}] {label}")
            reports.append(step())
            progress.advance(overall)
        progress.update(overall, description="nightly pipeline finished")
    return reports


def table_row_counts(lake: Lake, names: list[str]) -> dict[str, int]:
    """Live row counts read from the Delta log statistics (no data scan)."""
    return {name: lake.row_count(TABLES[name]) for name in names}


def topic_summary() -> str:
    """How many records each topic holds (everything the collectors sent through Kafka and it retains)."""
    from jobs.ingest.topics import ALL_TOPICS, record_count
    from jobs.resources.kafka import get_kafka_settings

    kafka = get_kafka_settings()
    return "Kafka records per topic: " + ", ".join(f"{t}={record_count(kafka, t):,}" for t in ALL_TOPICS)


def print_summary(lake: Lake, reports: list[StepReport], console: Console) -> None:
    written: dict[str, int] = {}
    quarantined: dict[str, int] = {}
    warnings: dict[str, int] = {}
    for report in reports:
        for name, rows in report.tables.items():
            written[name] = written.get(name, 0) + rows
        for reason, rows in report.quarantined.items():
            quarantined[reason] = quarantined.get(reason, 0) + rows
        for rule, rows in report.warnings.items():
            warnings[rule] = warnings.get(rule, 0) + rows
    names = [n for n in TABLES if lake.exists(TABLES[n])]
    totals = table_row_counts(lake, names)

    tables = Table(title=f"Lake at {lake.settings.lake_root} (locations below are relative to it)")
    tables.add_column("table", no_wrap=True, min_width=max((len(n) for n in names), default=5))
    tables.add_column("written this run", justify="right")
    tables.add_column("rows now", justify="right")
    tables.add_column("location", overflow="fold")
    for name in names:
        location = lake.uri(TABLES[name]).removeprefix(lake.settings.lake_root).lstrip("/")
        tables.add_row(name, f"{written.get(name, 0):,}", f"{totals[name]:,}", location)
    console.print(tables)

    steps = Table(title="Steps")
    for column in ("step", "seconds", "notes"):
        steps.add_column(column)
    for report in reports:
        notes = "; ".join(report.notes + report.skipped[:3] + ([f"+{len(report.skipped) - 3} more skipped"] if len(report.skipped) > 3 else []))
        steps.add_row(report.step, f"{report.seconds:.1f}", notes)
    console.print(steps)
    console.print(topic_summary())
    if quarantined:
        console.print("Quarantined this run (bronze.quarantine): " + ", ".join(f"{k}={v:,}" for k, v in sorted(quarantined.items())))
    else:
        console.print("Quarantined this run: none")
    if warnings:
        console.print("Kept with warnings: " + ", ".join(f"{k}={v:,}" for k, v in sorted(warnings.items())))
