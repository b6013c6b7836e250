"""The `pulselake` command line. Every command has --help."""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="pulselake: a batch-first stock data lake (Delta tables via delta-rs, computed by Spark).",
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


def open_lake(lake_root: Optional[str] = None):
    """Settings + shared Spark session + Lake, for any command that touches tables."""
    from jobs.resources.lake import Lake
    from jobs.resources.spark import get_spark
    from jobs.settings import Settings

    settings = Settings(**({"lake_root": lake_root} if lake_root else {}))
    with console.status("starting Spark"):
        spark = get_spark(settings)
    return Lake(spark, settings)


@app.command()
def nightly(
    start: Optional[str] = typer.Option(None, help="first trade date to rebuild (YYYY-MM-DD); default: all data"),
    end: Optional[str] = typer.Option(None, help="last trade date to rebuild (YYYY-MM-DD); default: all data"),
    lake_root: Optional[str] = typer.Option(None, help="lake location; default $PULSELAKE_LAKE_ROOT or ./lake"),
) -> None:
    """Run the nightly pipeline (landing -> bronze -> silver -> gold) and print a summary."""
    from jobs.nightly import print_summary, run_nightly

    began = time.perf_counter()
    first, last = _date(start), _date(end)
    if first and last and first > last:
        raise typer.BadParameter("--start is after --end")
    lake = open_lake(lake_root)
    reports = run_nightly(lake, first, last, console)
    print_summary(lake, reports, console)
    console.print(f"nightly finished in {time.perf_counter() - began:.1f} s")


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
