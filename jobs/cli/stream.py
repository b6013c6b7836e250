"""`pulselake stream`: keep today's trades, silver and 1-minute bars fresh from Kafka's finnhub.trades."""

from __future__ import annotations

import signal
import sys
import threading
import time
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
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="show Spark's and TensorFlow's logs live; they always go to the log file"),
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
    _run(config, lake_root, verbose)


FINISH_BATCH_S = 60.0  # how long Ctrl-C waits for the batch in progress before abandoning it


def _run(config, lake_root: Optional[str], verbose: bool) -> None:
    """The stream under a run log: batch and scoring lines on the terminal, Spark's and TensorFlow's output in
    the log file. Ctrl-C or SIGTERM lets the batch in progress finish (a second one abandons it) and stops."""
    from jobs.cli.common import settings_for
    from jobs.resources.run_log import captured_output, quiet_tensorflow, run_log_path

    quiet_tensorflow()
    with captured_output(run_log_path(settings_for(lake_root), "stream"), verbose) as out:
        from pyspark.errors import StreamingQueryException

        from jobs.cli.common import require_broker, started_lake
        from jobs.ingest.checkpoint import OffsetsGone
        from jobs.ingest.consume import CheckpointBusy
        from jobs.stream.query import start_stream

        require_broker(out)
        lake = started_lake(lake_root, out)
        say = lambda text: out.print(text, highlight=False, soft_wrap=True)  # noqa: E731
        try:
            stream = start_stream(lake, config, on_batch=lambda batch: say(batch.line()),
                                  on_score=lambda live: say(live.summary()))
        except (CheckpointBusy, OffsetsGone) as exc:
            out.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=1) from None
        mode = "until caught up" if config.available_now else f"every {config.trigger_seconds:g} s"
        say(f"streaming Kafka finnhub.trades -> bronze/silver trades, bars_1m"
            f"{', live predictions' if config.score else ''} ({mode}); checkpoint {stream.checkpoint}; "
            "Ctrl-C or SIGTERM stops")
        stopping, hurry, outcome = threading.Event(), threading.Event(), []

        def stop(*_: object) -> None:
            if stopping.is_set():
                hurry.set()
                return
            stopping.set()
            threading.Thread(target=stopper, daemon=True).start()  # no Spark call inside a signal handler

        def stopper() -> None:
            ended = None
            try:
                if stream.batch_running():
                    say("stopping after the batch in progress (Ctrl-C again abandons it) ...")
                ended = stream.stop(FINISH_BATCH_S, hurry)
            finally:
                outcome.append(ended)

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)
        try:
            stream.await_termination()
        except StreamingQueryException as exc:
            if not stopping.is_set():
                out.print(f"[red]error:[/red] the stream stopped on an error: {_first_line(exc)}")
                raise typer.Exit(code=1) from None
        finally:
            if not stopping.is_set():
                stream.stop()  # caught up, or failed: score what is left, release the checkpoint
            while stopping.is_set() and not outcome:  # the stopper is draining the scorer
                time.sleep(0.1)
        say("stream stopped" + (" (caught up)" if config.available_now and not stopping.is_set() else "") + {
            None: "", "finished": ": the batch in progress finished first",
            "abandoned": ": the batch in progress was abandoned; the next start replays it exactly once",
        }[outcome[0] if outcome else None])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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
