"""The `pulselake` command line. Every command has --help."""

from __future__ import annotations

import time
from contextlib import nullcontext
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from jobs.cli.common import LAKE_ROOT_HELP, console, parse_date, settings_for, started_lake

app = typer.Typer(help="pulselake: a batch-first stock data lake (Delta tables on Spark with delta-spark).",
                  no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)


_START = typer.Option(None, help="first trade date of the window (YYYY-MM-DD); default: all data (\"latest\")")
_END = typer.Option(None, help="last trade date of the window (YYYY-MM-DD, inclusive); give both or neither")
_LAKE_ROOT = typer.Option(None, help=LAKE_ROOT_HELP)
_PRICE_FILES = typer.Option(None, "--price-file", metavar="SOURCE=PATH",
                            help="land this file (in SOURCE's format: quandl_wiki or sp500_2009) instead of the bundled "
                            "files; repeatable")
_VERBOSE = typer.Option(False, "--verbose", "-v",
                        help="show Spark, TensorFlow and worker logs live; they always go to the log file")


def _window(start: Optional[str], end: Optional[str]):
    """The run's window; the wall clock is read here, at the edge, and nowhere in the steps."""
    from datetime import datetime, timezone

    from jobs.window import Window

    try:
        return Window(parse_date(start), parse_date(end), datetime.now(timezone.utc))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _run_steps(steps, start, end, lake_root, verbose, price_files, label: str) -> None:
    """Run graph steps under a run log, with Kafka (KAFKA_BOOTSTRAP_SERVERS, else a local broker started for the run
    when none answers), then print the summary."""
    from jobs.resources.run_log import captured_output, quiet_tensorflow, run_log_path

    began, window = time.perf_counter(), _window(start, end)
    quiet_tensorflow()  # before anything imports TensorFlow; Spark's workers inherit it
    with captured_output(run_log_path(settings_for(lake_root), label), verbose) as out:
        from jobs.pipeline.run import print_summary, run_steps
        from jobs.resources.kafka import get_kafka_settings
        from jobs.local.broker_for_run import kafka_for_run

        from jobs.pipeline.graph import TOPIC

        touches_kafka = any(name.startswith(TOPIC) for step in steps for name in (*step.reads, *step.writes))
        with kafka_for_run(get_kafka_settings()) if touches_kafka else nullcontext("Kafka: not needed") as broker:
            out.print(broker)
            lake = started_lake(lake_root, out)
            out.print(f"window: {window}")
            try:
                reports = run_steps(lake, window, steps, out, price_files=price_files or None)
            except ValueError as exc:  # bad input named by a step (e.g. a price file that does not exist)
                out.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(code=2) from None
            print_summary(lake, reports, out, topics=touches_kafka)
        out.print(f"{label} finished in {time.perf_counter() - began:.1f} s")


@app.command()
def nightly(start: Optional[str] = _START, end: Optional[str] = _END, lake_root: Optional[str] = _LAKE_ROOT,
            price_file: Optional[list[str]] = _PRICE_FILES, verbose: bool = _VERBOSE,
            replay: bool = typer.Option(True, help="first feed Kafka from the local replay servers (Reddit's corpus, "
                                        "the bundled trading days, Finnhub's REST answers); --no-replay takes only "
                                        "what the topics already hold")) -> None:
    """Run every step of the pipeline (Kafka -> bronze -> silver -> gold -> models; `pulselake graph` lists them)
    for the window, after the replay sources, and print a summary.

    Spark, TensorFlow and worker output goes to a log file in <lake>/_logs/ (./logs/ for a remote lake), whose path
    is printed last."""
    from jobs.local.sources import REPLAY_SOURCES
    from jobs.pipeline.graph import NIGHTLY

    _run_steps([*(REPLAY_SOURCES if replay else ()), *NIGHTLY], start, end, lake_root, verbose, price_file, "nightly")


@app.command()
def step(name: str = typer.Argument(..., help="a step name from `pulselake graph`, e.g. prices.silver"),
         start: Optional[str] = _START, end: Optional[str] = _END, lake_root: Optional[str] = _LAKE_ROOT,
         price_file: Optional[list[str]] = _PRICE_FILES, verbose: bool = _VERBOSE) -> None:
    """Run one step of the pipeline for the window (what an Airflow task of the same name runs)."""
    from jobs.pipeline.graph import step as find_step

    try:
        chosen = find_step(name)
    except KeyError as exc:
        raise typer.BadParameter(exc.args[0], param_hint="NAME") from None
    _run_steps([chosen], start, end, lake_root, verbose, price_file, f"step-{name}")


@app.command()
def graph(mermaid: bool = typer.Option(False, help="print a Mermaid flowchart (steps and tables) instead")) -> None:
    """Print the pipeline: every step, what it reads and writes, whether it takes a window, what it waits on."""
    from jobs.pipeline.graph import STEPS, mermaid as as_mermaid, upstream

    if mermaid:
        print(as_mermaid())
        return
    out = Table(title="pulselake pipeline (run in this order by `pulselake nightly`; stream steps by `pulselake stream`)")
    for column in ("step", "window", "reads", "writes", "after"):
        out.add_column(column, overflow="fold")
    for item in STEPS:
        out.add_row(item.name + (" (stream)" if item.live else ""),
                    "range" if item.windowed else "latest",
                    "\n".join(item.reads) or "-", "\n".join(item.writes),
                    ", ".join(s.name for s in upstream(item)) or "-")
    Console().print(out)


def _tables(names: Optional[list[str]]):
    """lake_schema specs by name (all when none), an unknown name being a usage error."""
    from jobs.maintenance import chosen_tables

    try:
        return chosen_tables(names)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _maintenance_report(report) -> None:
    for line in [*report.notes, *(f"skipped {s}" for s in report.skipped)]:
        console.print(f"  {line}")
    console.print(f"{report.step} finished in {report.seconds:.1f} s")


@app.command()
def optimize(
    table: Optional[list[str]] = typer.Option(None, help="a table name (repeatable); default: every table"),
    lake_root: Optional[str] = typer.Option(None, help="lake location; default $PULSELAKE_LAKE_ROOT or ./lake"),
) -> None:
    """Compact each table's small files (Delta OPTIMIZE); the maintenance DAG runs it daily."""
    from jobs.maintenance import optimize_tables

    specs = _tables(table)
    _maintenance_report(optimize_tables(started_lake(lake_root), specs))


@app.command()
def vacuum(
    table: Optional[list[str]] = typer.Option(None, help="a table name (repeatable); default: every table"),
    retain_hours: float = typer.Option(168.0, min=0, help="keep files any version of the last N hours needs "
                                       "(Delta's default 168; less breaks time travel beyond it)"),
    keep_model_inputs: bool = typer.Option(True, help="keep every table version a registered model run read, so "
                                           "`pulselake models reproduce` can still read it"),
    lake_root: Optional[str] = typer.Option(None, help="lake location; default $PULSELAKE_LAKE_ROOT or ./lake"),
) -> None:
    """Delete files no recent table version references (Delta VACUUM): replaced data and killed writers' leftovers."""
    from jobs.maintenance import vacuum_tables

    specs = _tables(table)
    _maintenance_report(vacuum_tables(started_lake(lake_root), specs, retain_hours, keep_model_inputs))


@app.command()
def status(
    lake_root: Optional[str] = typer.Option(None, help="lake location; default $PULSELAKE_LAKE_ROOT or ./lake"),
) -> None:
    """Per Kafka topic: records retained, records bronze has not taken yet (consumer lag), and the age of the
    newest record. Needs no Spark."""
    from confluent_kafka import KafkaException

    from jobs.ingest.lag import topic_lags
    from jobs.pipeline.graph import topic_sinks
    from jobs.insights.views import humanize_seconds
    from jobs.resources.kafka import get_kafka_settings
    from jobs.resources.spark import open_lake

    kafka = get_kafka_settings()
    try:
        lags = topic_lags(open_lake(settings_for(lake_root), spark=False), kafka, topic_sinks())
    except (KafkaException, RuntimeError) as exc:
        console.print(f"[red]error:[/red] cannot reach Kafka at {kafka.bootstrap}: {exc}")
        raise typer.Exit(code=1) from None
    out = Table(title=f"Kafka at {kafka.bootstrap} -> lake")
    for column in ("topic", "bronze table", "records", "not yet taken", "newest record"):
        out.add_column(column, justify="right" if column in ("records", "not yet taken") else "left")
    for lag in lags:
        age = "-" if lag.newest_age_s is None else f"{humanize_seconds(lag.newest_age_s)} ago"
        out.add_row(lag.topic, lag.table, f"{lag.retained:,}", f"{lag.waiting:,}", age)
    Console().print(out)


@app.command()
def tables() -> None:
    """List every table lake_schema defines: layer, partitioning, key and description."""
    from lake_schema import TABLES

    out = Table(title="lake_schema tables")
    out.add_column("table", no_wrap=True, min_width=max(len(n) for n in TABLES))
    for column in ("partitioned by", "merge key", "rules", "description"):
        out.add_column(column)
    for name, spec in TABLES.items():
        out.add_row(name, ", ".join(spec.partition_by), ", ".join(spec.merge_key), str(len(spec.rules)), spec.description)
    Console().print(out)


from jobs.cli.ingest import app as _ingest_app  # noqa: E402 - sub-apps register after the core commands
from jobs.cli.replay import app as _replay_app  # noqa: E402

app.add_typer(_ingest_app, name="ingest")
app.add_typer(_replay_app, name="replay")
from jobs.cli.models import app as _models_app  # noqa: E402

app.add_typer(_models_app, name="models")
from jobs.cli.sentiment import app as _sentiment_app  # noqa: E402

app.add_typer(_sentiment_app, name="sentiment")
from jobs.cli.stream import app as _stream_app  # noqa: E402

app.add_typer(_stream_app, name="stream")

