"""`pulselake ingest ...`: run the collectors into Kafka, and take the topics into bronze/silver."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime, timezone
from typing import Any, Callable, Optional

import typer
from rich.console import Console

app = typer.Typer(help="Collect Finnhub trades/quotes and Reddit posts into Kafka (KAFKA_BOOTSTRAP_SERVERS, "
                       "default the local broker of `make kafka`), and take the topics into the lake.",
                  no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)  # summary and error lines stay whole (scripts parse them)

_LAKE_ROOT = typer.Option(None, help="lake location; default $PULSELAKE_LAKE_ROOT or ./lake")


def _publisher(source: str, buffer: int = 100_000, out: Console | None = None):
    """A producer for `source`, the topics created; a clear error when Kafka cannot be reached."""
    from confluent_kafka import KafkaException

    from jobs.ingest.publish import Publisher
    from jobs.resources.kafka import get_kafka_settings

    settings = get_kafka_settings()
    try:
        return Publisher(settings, source, buffer_records=buffer)
    except (KafkaException, RuntimeError) as exc:
        _fail(f"cannot reach Kafka at {settings.bootstrap}: {exc} (start one with `make kafka`, "
              "or set KAFKA_BOOTSTRAP_SERVERS and KAFKA_SASL_USERNAME/PASSWORD)", out)


def _seconds(text: str) -> float:
    from jobs.ingest.reddit import parse_duration

    try:
        return parse_duration(text).total_seconds()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _fail(message: str, out: Console | None = None) -> None:
    (out or console).print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=1)


@app.command()
def trades(
    symbols: str = typer.Option(..., help="comma-separated symbols to subscribe to, e.g. AAPL,MSFT"),
    duration: Optional[str] = typer.Option(None, help="stop after this long (e.g. 60s, 10m); default: until SIGTERM/Ctrl-C"),
    url: Optional[str] = typer.Option(None, help="websocket URL; default $FINNHUB_WS_URL or wss://ws.finnhub.io"),
    buffer: int = typer.Option(10_000, help="frames held between socket and producer before the reader waits"),
    kafka_buffer: int = typer.Option(100_000, help="records the producer holds while Kafka is down or slow"),
    open_timeout: str = typer.Option("10s", help="give up on a handshake after this long (then retry)"),
    max_backoff: str = typer.Option("30s", help="longest wait between reconnects (a server's Retry-After included)"),
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="show connects, drops, retries and Kafka's client log live; they always go to "
                                      "the log file"),
) -> None:
    """Stream Finnhub trades over the websocket into the Kafka topic finnhub.trades (key from $FINNHUB_API_KEY).

    Failed handshakes and lost connections are retried until the run ends; the summary counts them by reason.
    Exit code 1 when the run never connected. The terminal shows the start and the summary; the rest goes to
    a log file (<lake>/_logs/ingest-trades-<time>.log) whose path it prints."""
    from jobs.cli.common import settings_for
    from jobs.resources.run_log import captured_output, run_log_path

    api_key = os.environ.get("FINNHUB_API_KEY", "")
    if not api_key:
        _fail("set FINNHUB_API_KEY (any value works against `pulselake replay finnhub`)")
    with captured_output(run_log_path(settings_for(None), "ingest-trades"), verbose) as out:
        _collect_trades(out, api_key, symbols, duration, url, buffer, kafka_buffer, open_timeout, max_backoff)


def _collect_trades(out: Console, api_key: str, symbols: str, duration: Optional[str], url: Optional[str],
                    buffer: int, kafka_buffer: int, open_timeout: str, max_backoff: str) -> None:
    from jobs.ingest.finnhub_ws import DEFAULT_WS_URL, AuthError, FinnhubTradeCollector, collect_trades
    from jobs.ingest.publish import PublishError

    say = lambda text: out.print(text, highlight=False, soft_wrap=True)  # noqa: E731
    try:
        collector = FinnhubTradeCollector(
            url or os.environ.get("FINNHUB_WS_URL") or DEFAULT_WS_URL, api_key, symbols.split(","),
            _publisher("finnhub-ws", kafka_buffer, out), buffer_size=buffer, open_timeout_s=_seconds(open_timeout),
            backoff_max_s=_seconds(max_backoff),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    say(f"collecting {', '.join(collector.symbols)} from {collector.safe_url}; Ctrl-C or SIGTERM stops and flushes")
    try:
        stats = asyncio.run(collect_trades(collector, _seconds(duration) if duration else None))
    except (AuthError, PublishError) as exc:
        say(json.dumps(collector.stats.summary()))
        _fail(str(exc), out)
        return
    say(json.dumps(stats.summary()))
    if not stats.connects:
        reasons = ", ".join(f"{reason} x{count}" for reason, count in stats.failures.most_common()) or "stopped first"
        _fail(f"never connected to {collector.safe_url} ({reasons})", out)


@app.command()
def reddit(
    subreddits: str = typer.Option("wallstreetbets,stocks", help="comma-separated subreddits"),
    listing: str = typer.Option("new", help="comma-separated listings: new, hot, top"),
    since: str = typer.Option("240h", help="look-back window, e.g. 24h, 240h, 30d"),
    as_of: Optional[str] = typer.Option(None, help="end of the window (YYYY-MM-DD[THH:MM]); default now. "
                                                   "The embedded corpus ends 2010-08-21"),
    comment_depth: int = typer.Option(3, help="comment levels to keep (0: posts only)"),
    comment_limit: int = typer.Option(500, help="most comments fetched per post"),
    max_posts: Optional[int] = typer.Option(None, help="most posts per subreddit and listing"),
) -> None:
    """Collect posts and comments with praw into reddit.posts / reddit.comments (REDDIT_CLIENT_ID/SECRET, REDDIT_OAUTH_URL, REDDIT_URL)."""
    from jobs.ingest.reddit import RedditCollectConfig, RedditCollectError, RedditCollector, parse_duration, reddit_from_env

    end = None
    if as_of:
        try:
            end = datetime.fromisoformat(as_of)
        except ValueError:
            raise typer.BadParameter(f"{as_of!r} is not YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
        end = end if end.tzinfo else end.replace(tzinfo=timezone.utc)
    try:
        window = parse_duration(since)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    config = RedditCollectConfig([s for s in subreddits.split(",") if s.strip()],
                                 tuple(x.strip() for x in listing.split(",") if x.strip()), window, end,
                                 comment_depth, comment_limit, max_posts)
    try:
        stats = RedditCollector(reddit_from_env(), _publisher("reddit")).collect(config)
    except RedditCollectError as exc:
        if exc.stats is not None:  # what Kafka acknowledged before the failure stays there
            console.print(json.dumps(exc.stats.summary()))
        _fail(str(exc))
        return
    console.print(json.dumps(stats.summary()))


def _rest():
    from jobs.ingest.finnhub_rest import FinnhubError, FinnhubRest

    try:
        return FinnhubRest.from_env()
    except FinnhubError as exc:
        _fail(str(exc))


def _fetch_and_publish(topic: str, calls: dict[str, Callable[[Any], dict]]) -> None:
    """One REST call per symbol (`calls[symbol](client)`), each answer produced to `topic` (key: the symbol)."""
    from jobs.ingest.finnhub_rest import FinnhubError
    from jobs.ingest.publish import PublishError, utc_now

    client, publisher = _rest(), _publisher("finnhub-rest")
    try:
        for done, (symbol, call) in enumerate(calls.items()):
            try:
                payload = call(client)
            except FinnhubError as exc:
                _fail(f"{exc} (published {done} of {len(calls)})")
            publisher.send(topic, symbol, json.dumps(payload), utc_now())
            console.print(json.dumps(payload))
    finally:
        try:
            publisher.close()
        except PublishError as exc:
            _fail(str(exc))
    console.print(f"{topic}: published {len(calls)} answers in {client.attempts} requests")


def _symbols(text: str) -> list[str]:
    return [s.strip().upper() for s in text.split(",") if s.strip()]


@app.command()
def quote(symbols: str = typer.Argument(..., help="comma-separated symbols")) -> None:
    """Fetch quotes over Finnhub REST (rate-limited, retried) into the topic finnhub.quotes."""
    _fetch_and_publish("finnhub.quotes", {s: (lambda c, s=s: c.quote(s)) for s in _symbols(symbols)})


@app.command()
def profile(symbols: str = typer.Argument(..., help="comma-separated symbols")) -> None:
    """Fetch company profiles over Finnhub REST into the topic finnhub.profiles."""
    _fetch_and_publish("finnhub.profiles", {s: (lambda c, s=s: c.profile(s)) for s in _symbols(symbols)})


@app.command()
def candles(
    symbol: str = typer.Argument(..., help="one symbol"),
    start: str = typer.Option(..., help="first day, YYYY-MM-DD"),
    end: str = typer.Option(..., help="last day, YYYY-MM-DD"),
) -> None:
    """Fetch daily candles (a paid Finnhub endpoint: a free key gets a clear 403 message) into finnhub.candles."""
    try:
        first, last = datetime.strptime(start, "%Y-%m-%d").date(), datetime.strptime(end, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter("dates are YYYY-MM-DD") from None
    _fetch_and_publish("finnhub.candles", {symbol.upper(): lambda c: c.candles(symbol, first, last)})


@app.command()
def load(lake_root: Optional[str] = _LAKE_ROOT) -> None:
    """Take every record the topics hold that bronze has not taken yet (trades on to silver and bars): the pipeline's
    steps that read Kafka (`pulselake graph`)."""
    from datetime import datetime, timezone

    from jobs.cli.common import require_broker, started_lake
    from jobs.ingest.checkpoint import OffsetsGone
    from jobs.ingest.consume import CheckpointBusy
    from jobs.pipeline.graph import select
    from jobs.window import Window

    require_broker()
    lake, window = started_lake(lake_root), Window.latest(datetime.now(timezone.utc))
    try:
        for chosen in select(reading_topics=True):
            console.print(chosen.run(lake, window).summary())
    except (CheckpointBusy, OffsetsGone) as exc:
        _fail(str(exc))


@app.command("reset-offsets")
def reset_offsets(
    topic: str = typer.Option(..., help="the topic whose checkpoint to move, e.g. finnhub.trades"),
    lake_root: Optional[str] = _LAKE_ROOT,
) -> None:
    """When the broker no longer holds the offsets a topic's checkpoint reads next (retention expired, a new
    broker): record each gap (topic, partition, offset range, records) in bronze.quarantine, then move the
    checkpoint to what the broker holds, so `ingest load` and `stream` go on. Does nothing when there is no gap."""
    from jobs.cli.common import require_broker, started_lake
    from jobs.ingest.consume import CheckpointBusy, reset_offsets as reset
    from jobs.pipeline.graph import topic_sinks

    sinks = {sink.topic: sink for sink in topic_sinks()}
    if topic not in sinks:
        raise typer.BadParameter(f"unknown topic {topic!r}; one of {', '.join(sinks)}")
    require_broker()
    try:
        report = reset(started_lake(lake_root), sinks[topic])
    except CheckpointBusy as exc:
        _fail(str(exc))
        return
    for note in report.notes:
        console.print(note, highlight=False)


@app.command()
def rebuild(
    topic: str = typer.Option(..., help="the topic whose bronze table to rebuild, e.g. finnhub.trades"),
    start: str = typer.Option(..., help="first receipt time, YYYY-MM-DD[THH:MM[:SS]] (UTC)"),
    end: str = typer.Option(..., help="end of the range, exclusive, same form"),
    lake_root: Optional[str] = _LAKE_ROOT,
) -> None:
    """Re-derive a bronze table's rows from the records Kafka retains in [start, end) and merge back the missing
    ones (idempotent: a second run changes nothing). Then `pulselake nightly` rebuilds the days whose bronze grew."""
    from jobs.cli.common import require_broker, started_lake
    from jobs.ingest.consume import rebuild as rebuild_range
    from jobs.pipeline.graph import topic_sinks

    sinks = {sink.topic: sink for sink in topic_sinks()}
    if topic not in sinks:
        raise typer.BadParameter(f"unknown topic {topic!r}; one of {', '.join(sinks)}")
    first, last = (_utc(value, name) for value, name in ((start, "--start"), (end, "--end")))
    if first >= last:
        raise typer.BadParameter("--start must be before --end")
    require_broker()
    report = rebuild_range(started_lake(lake_root), sinks[topic], first, last)
    console.print(f"{report.step}: {'; '.join(report.notes)} ({report.seconds:.1f} s)")


def _utc(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{option}: {text!r} is not YYYY-MM-DD[THH:MM[:SS]]") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
