"""Running the declared steps (jobs.pipeline.graph): the nightly, a single step, or any subset, with a progress
bar and one summary at the end.

`pulselake nightly` runs every step over the embedded data: the collectors feed Kafka from the replay servers,
the bundled daily-bar files are a file drop (they keep their landing folder), and every later step reads
through the lake."""

from __future__ import annotations

from typing import Iterable

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from jobs.pipeline.graph import NIGHTLY, Step
from jobs.resources.lake import Lake
from jobs.steps import StepReport
from jobs.window import Window
from lake_schema import TABLES


def run_steps(lake: Lake, window: Window, steps: Iterable[Step] = NIGHTLY, console: Console | None = None,
              **options) -> list[StepReport]:
    """Run `steps` in order for `window`; each report as it finishes. A failing step stops the run (its
    transaction left nothing half-written; a rerun picks up where it failed)."""
    console = console or Console(stderr=True)
    steps = list(steps)
    reports: list[StepReport] = []
    # No redirect: a step's print() and warnings go to fds 1/2 (the run log under `pulselake nightly`), not above the bars.
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=False,
                  redirect_stdout=False, redirect_stderr=False) as progress:
        overall = progress.add_task("pipeline", total=len(steps))
        for number, step in enumerate(steps, 1):
            progress.update(overall, description=f"[{number}/{len(steps)}] {step.name}: {step.description}")
            lake.touched.clear()
            report = step.run(lake, window, **options)
            report.step = step.name
            report.tables_read, report.tables_written = set(lake.touched.read), set(lake.touched.written)
            reports.append(report)
            progress.advance(overall)
        progress.update(overall, description=f"{len(steps)} steps finished ({window})")
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


def print_summary(lake: Lake, reports: list[StepReport], console: Console, topics: bool = True) -> None:
    """Tables written and their row counts, each step's time and notes, records per topic (when `topics`: the run
    used Kafka), what was quarantined or kept with warnings."""
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
    if topics:
        console.print(topic_summary())
    if quarantined:
        console.print("Quarantined this run (bronze.quarantine): " + ", ".join(f"{k}={v:,}" for k, v in sorted(quarantined.items())))
    else:
        console.print("Quarantined this run: none")
    if warnings:
        console.print("Kept with warnings: " + ", ".join(f"{k}={v:,}" for k, v in sorted(warnings.items())))
