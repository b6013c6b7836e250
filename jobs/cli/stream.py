"""`pulselake stream`: keep today's trades, silver and 1-minute bars fresh from Kafka's finnhub.trades."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import datetime, timedelta
from typing import Optional

import typer
from rich.console import Console

app = typer.Typer(help="Micro-batch stream: Kafka's finnhub.trades -> bronze/silver trades and 1-minute bars, "
                       "exactly once (Spark Structured Streaming with a checkpoint).")
console = Console(stderr=True)


def _duration(text: str, option: str) -> timedelta:
    from jobs.ingest.reddit import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{option}: {exc}") from None


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code=1)


@app.callback(invoke_without_command=True)
def stream(
    ctx: typer.Context,
    trigger_interval: str = typer.Option("5s", help="how often a micro-batch starts, e.g. 1s, 10s, 1m"),
    watermark: str = typer.Option("10m", help="how late (in exchange time, behind the newest trade) a trade may "
                                              "arrive and still update its 1-minute bar"),
    max_records_per_trigger: Optional[int] = typer.Option(None, min=1, help="cap on Kafka records per micro-batch "
                                                                           "(default 20,000: a batch is held in memory)"),
    available_now: bool = typer.Option(False, "--available-now", help="take every record in the topic so far, then stop"),
    score: bool = typer.Option(True, "--score/--no-score",
                               help="beside the batches, predict the symbols whose bars moved with the newest intraday "
                                    "model (gold.live_predictions) and update gold.live_scorecard"),
    lake_root: Optional[str] = typer.Option(None, help="lake location; default $PULSELAKE_LAKE_ROOT or ./lake"),
) -> None:
    """Start the stream (runs until Ctrl-C/SIGTERM, or with --available-now until caught up).

    Killing it at any moment is safe: a restart with the same checkpoint resumes, losing and duplicating nothing.
    Subcommands: rebuild-bars.
    """
    if ctx.invoked_subcommand is not None:
        return
    from jobs.stream.query import StreamConfig

    interval = _duration(trigger_interval, "--trigger-interval")
    if interval.total_seconds() <= 0:
        raise typer.BadParameter("--trigger-interval must be positive")
    config = StreamConfig(trigger_seconds=interval.total_seconds(), available_now=available_now,
                          max_offsets_per_trigger=max_records_per_trigger, watermark=_duration(watermark, "--watermark"),
                          score=score)
    _run(config, lake_root)


def _run(config, lake_root: Optional[str]) -> None:
    from pyspark.errors import StreamingQueryException

    from jobs.cli.common import started_lake
    from jobs.ingest.consume import CheckpointBusy
    from jobs.stream.query import start_stream

    lake = started_lake(lake_root)

    def report(batch) -> None:
        print(batch.line(), flush=True)

    def scored(live) -> None:
        print(live.summary(), flush=True)

    try:
        stream = start_stream(lake, config, on_batch=report, on_score=scored)
    except CheckpointBusy as exc:
        _fail(str(exc))
        return
    mode = "until caught up" if config.available_now else f"every {config.trigger_seconds:g} s"
    console.print(f"streaming Kafka finnhub.trades -> bronze/silver trades, bars_1m"
                  f"{', live predictions' if config.score else ''} ({mode}); "
                  f"checkpoint {stream.checkpoint}; Ctrl-C or SIGTERM stops")
    stopping = threading.Event()

    def stop(*_: object) -> None:
        stopping.set()
        threading.Thread(target=stream.stop, daemon=True).start()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    try:
        stream.await_termination()
    except StreamingQueryException as exc:
        if not stopping.is_set():
            _fail(f"the stream stopped on an error: {str(exc).splitlines()[0]}")
    finally:
        stream.lock.release()
    console.print("stream stopped" + (" (caught up)" if config.available_now and not stopping.is_set() else ""))


@app.command("rebuild-bars")
def rebuild_bars(
    day: str = typer.Option(..., "--date", help="trade date whose 1-minute bars to rebuild (YYYY-MM-DD)"),
    lake_root: Optional[str] = typer.Option(None, help="lake location; default $PULSELAKE_LAKE_ROOT or ./lake"),
) -> None:
    """Recompute one day's 1-minute bars from silver.trades (fixes bars of trades that came beyond the watermark),
    and that day's gold daily bars from them."""
    from jobs.cli.common import started_lake
    from jobs.trades.bars import rebuild_bars_day
    from jobs.trades.gold import rebuild_trade_daily_day

    try:
        when = datetime.strptime(day, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"{day!r} is not a date in YYYY-MM-DD form") from None
    lake = started_lake(lake_root)
    for result in (rebuild_bars_day(lake, when), rebuild_trade_daily_day(lake, when)):
        console.print(f"{result.table} {when}: {result.rows} bars written (version {result.version})")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
