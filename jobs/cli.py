"""The `pulselake` command line. Every command has --help."""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="pulselake: a batch-first stock data lake (Delta tables on Spark with delta-spark).",
                  no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
console = Console(stderr=True)


def _date(value: Optional[str]) -> Optional[date]:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form") from None


def _settings(lake_root: Optional[str] = None):
    from jobs.settings import Settings

    return Settings(**({"lake_root": lake_root} if lake_root else {}))


def open_lake(lake_root: Optional[str] = None, out: Optional[Console] = None):
    """Settings + shared Spark session + Lake, for any command that touches tables."""
    from jobs.resources.lake import Lake
    from jobs.resources.run_log import spinner
    from jobs.resources.spark import get_spark

    settings = _settings(lake_root)
    with spinner(out or console, "starting Spark"):
        spark = get_spark(settings)
    return Lake(spark, settings)


@app.command()
def nightly(
    start: Optional[str] = typer.Option(None, help="first trade date to rebuild (YYYY-MM-DD); default: all data"),
    end: Optional[str] = typer.Option(None, help="last trade date to rebuild (YYYY-MM-DD); default: all data"),
    lake_root: Optional[str] = typer.Option(None, help="lake location; default $PULSELAKE_LAKE_ROOT or ./lake"),
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="show Spark, TensorFlow and worker logs live; they always go to the log file"),
) -> None:
    """Run the nightly pipeline (collectors -> Kafka -> bronze -> silver -> gold) and print a summary.

    Kafka: KAFKA_BOOTSTRAP_SERVERS, else the local broker on 127.0.0.1:KAFKA_PORT (started for the run when none
    answers). Spark, TensorFlow and worker output goes to a log file in <lake>/_logs/ (./logs/ for a remote lake), whose path is printed last."""
    from jobs.resources.run_log import captured_output, quiet_tensorflow, run_log_path

    began = time.perf_counter()
    first, last = _date(start), _date(end)
    if first and last and first > last:
        raise typer.BadParameter("--start is after --end")
    quiet_tensorflow()  # before anything imports TensorFlow; Spark's workers inherit it
    with captured_output(run_log_path(_settings(lake_root), "nightly"), verbose) as out:
        from jobs.nightly import print_summary, run_nightly
        from jobs.resources.kafka import get_kafka_settings
        from jobs.resources.local_kafka import kafka_for_run

        with kafka_for_run(get_kafka_settings()) as broker:
            out.print(broker)
            lake = open_lake(lake_root, out)
            reports = run_nightly(lake, first, last, out)
            print_summary(lake, reports, out)
        out.print(f"nightly finished in {time.perf_counter() - began:.1f} s")


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
    _maintenance_report(optimize_tables(open_lake(lake_root), specs))


@app.command()
def vacuum(
    table: Optional[list[str]] = typer.Option(None, help="a table name (repeatable); default: every table"),
    retain_hours: float = typer.Option(168.0, min=0, help="keep files any version of the last N hours needs "
                                       "(Delta's default 168; less breaks time travel beyond it)"),
    lake_root: Optional[str] = typer.Option(None, help="lake location; default $PULSELAKE_LAKE_ROOT or ./lake"),
) -> None:
    """Delete files no recent table version references (Delta VACUUM): replaced data and killed writers' leftovers."""
    from jobs.maintenance import vacuum_tables

    specs = _tables(table)
    _maintenance_report(vacuum_tables(open_lake(lake_root), specs, retain_hours))


@app.command()
def status(
    lake_root: Optional[str] = typer.Option(None, help="lake location; default $PULSELAKE_LAKE_ROOT or ./lake"),
) -> None:
    """Per Kafka topic: records retained, records bronze has not taken yet (consumer lag), and the age of the
    newest record. Needs no Spark."""
    from confluent_kafka import KafkaException

    from jobs.ingest.lag import all_sinks, topic_lags
    from jobs.insights.views import humanize_seconds
    from jobs.resources.kafka import get_kafka_settings
    from jobs.resources.lake import Lake

    kafka = get_kafka_settings()
    try:
        lags = topic_lags(Lake(None, _settings(lake_root)), kafka, all_sinks())
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


from jobs.ingest.cli import app as _ingest_app  # noqa: E402 - sub-apps register after the core commands
from jobs.replay.cli import app as _replay_app  # noqa: E402

app.add_typer(_ingest_app, name="ingest")
app.add_typer(_replay_app, name="replay")
from jobs.models.cli import app as _models_app  # noqa: E402

app.add_typer(_models_app, name="models")
from jobs.sentiment.cli import app as _sentiment_app  # noqa: E402

app.add_typer(_sentiment_app, name="sentiment")
from jobs.stream.cli import app as _stream_app  # noqa: E402

app.add_typer(_stream_app, name="stream")


if __name__ == "__main__":
    app()
