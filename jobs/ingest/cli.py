"""`pulselake ingest ...`: run the collectors, and load what they landed into bronze/silver."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import datetime, timezone
from typing import Optional

import typer
from rich.console import Console

app = typer.Typer(help="Collect Finnhub trades/quotes and Reddit posts into the landing zone, and load them into the lake.",
                  no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)  # summary and error lines stay whole (scripts parse them)

_LAKE_ROOT = typer.Option(None, help="lake location; default $PULSELAKE_LAKE_ROOT or ./lake (landing zone: <lake>/landing_zone)")


def _landing(lake_root: Optional[str]):
    from jobs.ingest.landing import landing_root
    from jobs.settings import Settings

    try:
        return landing_root(Settings(**({"lake_root": lake_root} if lake_root else {})))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _seconds(text: str) -> float:
    from jobs.ingest.reddit import parse_duration

    try:
        return parse_duration(text).total_seconds()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code=1)


@app.command()
def trades(
    symbols: str = typer.Option(..., help="comma-separated symbols to subscribe to, e.g. AAPL,MSFT"),
    duration: Optional[str] = typer.Option(None, help="stop after this long (e.g. 60s, 10m); default: until SIGTERM/Ctrl-C"),
    url: Optional[str] = typer.Option(None, help="websocket URL; default $FINNHUB_WS_URL or wss://ws.finnhub.io"),
    buffer: int = typer.Option(10_000, help="frames held between socket and disk before the reader waits"),
    max_file_mb: float = typer.Option(8.0, help="roll a landing file at this size"),
    max_file_age: str = typer.Option("60s", help="roll a landing file at this age"),
    open_timeout: str = typer.Option("10s", help="give up on a handshake after this long (then retry)"),
    max_backoff: str = typer.Option("30s", help="longest wait between reconnects (a server's Retry-After included)"),
    lake_root: Optional[str] = _LAKE_ROOT,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="log connects, drops and retries"),
) -> None:
    """Stream Finnhub trades over the websocket into the landing zone (key from $FINNHUB_API_KEY).

    Failed handshakes and lost connections are retried until the run ends; the summary counts them by reason.
    Exit code 1 when the run never connected."""
    from jobs.ingest.finnhub_ws import DEFAULT_WS_URL, AuthError, FinnhubTradeCollector, collect_trades

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(message)s")
    api_key = os.environ.get("FINNHUB_API_KEY", "")
    if not api_key:
        _fail("set FINNHUB_API_KEY (any value works against `pulselake replay finnhub`)")
    try:
        collector = FinnhubTradeCollector(
            url or os.environ.get("FINNHUB_WS_URL") or DEFAULT_WS_URL, api_key, symbols.split(","), _landing(lake_root),
            buffer_size=buffer, max_file_bytes=int(max_file_mb * (1 << 20)), max_file_age_s=_seconds(max_file_age),
            open_timeout_s=_seconds(open_timeout), backoff_max_s=_seconds(max_backoff),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    console.print(f"collecting {', '.join(collector.symbols)} from {collector.safe_url}; Ctrl-C or SIGTERM stops and flushes")
    try:
        stats = asyncio.run(collect_trades(collector, _seconds(duration) if duration else None))
    except AuthError as exc:
        _fail(str(exc))
        return
    console.print(json.dumps(stats.summary()))
    if not stats.connects:
        reasons = ", ".join(f"{reason} x{count}" for reason, count in stats.failures.most_common()) or "stopped first"
        _fail(f"never connected to {collector.safe_url} ({reasons})")


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
    lake_root: Optional[str] = _LAKE_ROOT,
) -> None:
    """Collect posts and comments with praw into the landing zone (REDDIT_CLIENT_ID/SECRET, REDDIT_OAUTH_URL, REDDIT_URL)."""
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
        stats = RedditCollector(reddit_from_env(), _landing(lake_root)).collect(config)
    except RedditCollectError as exc:
        if exc.stats is not None:  # what landed before the failure stays landed
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


def _land_rest(kind: str, symbol: str, payload: dict, lake_root: Optional[str]) -> None:
    from jobs.ingest.landing import LandingWriter, iso, utc_now

    now = utc_now()
    with LandingWriter(_landing(lake_root), f"finnhub/{kind}", prefix=kind) as writer:
        writer.write({"received_at": iso(now), "symbol": symbol, "payload": payload}, now.date())
    console.print(json.dumps(payload))


def _fetch_and_land(kind: str, symbols: str, fetch_name: str, lake_root: Optional[str]) -> None:
    """One REST call per symbol (client.<fetch_name>), each answer landed under finnhub/<kind>."""
    from jobs.ingest.finnhub_rest import FinnhubError

    client = _rest()
    fetch = getattr(client, fetch_name)
    wanted = [s for s in symbols.split(",") if s.strip()]
    for landed, symbol in enumerate(wanted):
        try:
            _land_rest(kind, symbol.strip().upper(), fetch(symbol.strip()), lake_root)
        except FinnhubError as exc:
            _fail(f"{exc} (landed {landed} of {len(wanted)} symbols)")
    console.print(f"{kind}: landed {len(wanted)} of {len(wanted)} symbols in {client.attempts} requests")


@app.command()
def quote(symbols: str = typer.Argument(..., help="comma-separated symbols"), lake_root: Optional[str] = _LAKE_ROOT) -> None:
    """Fetch quotes over Finnhub REST (rate-limited, retried) and land them under finnhub/quotes."""
    _fetch_and_land("quotes", symbols, "quote", lake_root)


@app.command()
def profile(symbols: str = typer.Argument(..., help="comma-separated symbols"), lake_root: Optional[str] = _LAKE_ROOT) -> None:
    """Fetch company profiles over Finnhub REST and land them under finnhub/profiles."""
    _fetch_and_land("profiles", symbols, "profile", lake_root)


@app.command()
def candles(
    symbol: str = typer.Argument(..., help="one symbol"),
    start: str = typer.Option(..., help="first day, YYYY-MM-DD"),
    end: str = typer.Option(..., help="last day, YYYY-MM-DD"),
    lake_root: Optional[str] = _LAKE_ROOT,
) -> None:
    """Fetch daily candles (a paid Finnhub endpoint: a free key gets a clear 403 message) into finnhub/candles."""
    from jobs.ingest.finnhub_rest import FinnhubError

    try:
        first, last = datetime.strptime(start, "%Y-%m-%d").date(), datetime.strptime(end, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter("dates are YYYY-MM-DD") from None
    try:
        _land_rest("candles", symbol.upper(), _rest().candles(symbol, first, last), lake_root)
    except FinnhubError as exc:
        _fail(str(exc))


@app.command()
def load(lake_root: Optional[str] = _LAKE_ROOT) -> None:
    """Take every newly landed trade and Reddit file into bronze (each file once), then merge Reddit into silver."""
    from jobs.cli import open_lake
    from jobs.reddit.pipeline import bronze_reddit, silver_reddit
    from jobs.trades.bronze import bronze_trades

    lake = open_lake(lake_root)
    for step in (bronze_trades, bronze_reddit, silver_reddit):
        report = step(lake)
        console.print(f"{report.step}: wrote {report.tables or 'nothing'}; quarantined {report.quarantined or 'none'}; "
                      f"{'; '.join(report.notes + report.skipped)} ({report.seconds:.1f} s)")
