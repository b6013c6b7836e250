"""`pulselake replay ...`: start the local Finnhub and Reddit stand-ins (real protocols, loopback)."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime, timezone
from typing import Optional

import typer
from rich.console import Console

from jobs.cli.common import LAKE_ROOT_HELP, parse_date, settings_for

app = typer.Typer(help="Serve offline stand-ins for Finnhub (websocket + REST) and Reddit (praw's API subset).",
                  no_args_is_help=True)
console = Console(stderr=True)


@app.command()
def finnhub(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8765, help="port (0: any free port)"),
    symbols: Optional[str] = typer.Option(None, help="comma-separated universe; default: whatever clients subscribe to"),
    start: Optional[str] = typer.Option(None, help="first trading day to replay (2009-08-21 .. 2010-08-20); default "
                                                   "the bundled day after the lake's newest trade day, so the "
                                                   "stream gets new bars (the last bundled day for a lake without "
                                                   "trades)"),
    days: int = typer.Option(1, help="trading days to replay"),
    trades_per_day: int = typer.Option(390, help="synthetic trades per symbol and day"),
    speedup: float = typer.Option(390.0, help="market seconds per wall second (0: as fast as possible)"),
    seed: int = typer.Option(0, help="seed of the intraday paths"),
    api_key: Optional[str] = typer.Option(None, help="only accept this token (default: any)"),
    loop: bool = typer.Option(False, help="start over after the last day"),
    lake_root: Optional[str] = typer.Option(None, help=LAKE_ROOT_HELP + " (read for the default --start)"),
) -> None:
    """Finnhub's trade websocket, streaming trades synthesised from the bundled daily bars (ws://HOST:PORT)."""
    from jobs.local.replay.finnhub_ws import FinnhubReplayConfig, serve_forever

    first, why = (parse_date(start), "--start") if start else _day_after_the_lake(lake_root)
    config = FinnhubReplayConfig(symbols=symbols.split(",") if symbols else None, start=first, days=days,
                                 trades_per_day=trades_per_day, speedup=speedup, seed=seed, api_key=api_key, loop=loop)

    def ready(server) -> None:
        from jobs.sources.bundled import REPLAY_SYMBOLS

        console.print(f"Finnhub replay of {first} ({why}) on {server.url}; Ctrl-C stops\n"
                      f"  collect it: FINNHUB_API_KEY=x pulselake ingest trades --url {server.url} "
                      f"--symbols {','.join(REPLAY_SYMBOLS)}", soft_wrap=True, highlight=False)

    async def main() -> None:
        task = asyncio.create_task(serve_forever(config, host, port, ready))
        loop_ = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop_.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(main())


def _day_after_the_lake(lake_root: Optional[str]):
    """(first day to replay, why): the bundled trading day after silver.trades' newest day, so what the stream
    takes is newer than the lake's watermark; the last bundled day when the lake has no trades."""
    from jobs.local.replay.intraday import trading_days
    from jobs.resources.spark import open_lake
    from jobs.sources.bundled import LAST_BUNDLED_DAY
    from lake_schema.trades import SILVER_TRADES

    settings = settings_for(lake_root)
    newest = open_lake(settings, spark=False).newest_partition(SILVER_TRADES)
    if newest is None:
        return LAST_BUNDLED_DAY, f"the last bundled day; {settings.lake_root} has no trades yet"
    later = [day for day in trading_days() if day > newest]
    if not later:
        console.print(f"[red]error:[/red] {settings.lake_root} already has trades of {newest}, the last bundled "
                      f"trading day: there is no later day to replay. Pass --start YYYY-MM-DD to replay an earlier "
                      f"one (its trades arrive behind the stream's watermark: silver keeps them, their bars wait "
                      f"for `pulselake stream rebuild-bars`).", soft_wrap=True, highlight=False)
        raise typer.Exit(code=1)
    return later[0], f"the day after the lake's newest trade day, {newest}"


@app.command("finnhub-rest")
def finnhub_rest(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8766, help="port (0: any free port)"),
    candles_allowed: bool = typer.Option(False, help="serve candles instead of the free tier's 403"),
    calls_per_minute: Optional[int] = typer.Option(None, help="answer 429 with Retry-After past this many calls a minute"),
    api_key: Optional[str] = typer.Option(None, help="only accept this token (default: any)"),
) -> None:
    """Finnhub's REST API (quote, stock/profile2, stock/candle) answered from the bundled bars."""
    from jobs.local.replay.finnhub_rest import FinnhubRestConfig, FinnhubRestFake

    fake = FinnhubRestFake(FinnhubRestConfig(api_key=api_key, candles_allowed=candles_allowed,
                                             calls_per_minute=calls_per_minute), host, port)
    console.print(f"Finnhub REST stand-in on {fake.url}  (export FINNHUB_API_URL={fake.url}); Ctrl-C stops")
    try:
        fake.serve_forever()
    except KeyboardInterrupt:
        pass


@app.command()
def reddit(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8767, help="port (0: any free port)"),
    client_id: Optional[str] = typer.Option(None, help="only accept this app id (default: any credentials)"),
    client_secret: Optional[str] = typer.Option(None, help="secret that goes with --client-id"),
    now: Optional[str] = typer.Option(None, help="the server's clock (YYYY-MM-DD): later posts are not visible yet"),
) -> None:
    """Reddit's OAuth token endpoint, /r/<sub>/new|hot|top and /comments/<id>, over the synthetic CC0 corpus."""
    from jobs.local.replay.reddit_server import RedditReplayServer, RedditServerConfig

    clock = None
    if now:
        clock = datetime.combine(parse_date(now), datetime.max.time(), tzinfo=timezone.utc)
    server = RedditReplayServer(RedditServerConfig(client_id=client_id, client_secret=client_secret, now=clock), host, port)
    console.print(f"Reddit stand-in on {server.url}: {len(server.posts)} posts, {len(server.comments)} comments\n"
                  f"  export REDDIT_OAUTH_URL={server.url} REDDIT_URL={server.url} REDDIT_CLIENT_ID=... REDDIT_CLIENT_SECRET=...")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


@app.command()
def corpus(
    seed: int = typer.Option(7, help="generator seed"),
    posts: int = typer.Option(2000, help="number of posts"),
) -> None:
    """Regenerate the synthetic Reddit corpus (jobs/local/replay/corpus/data) from its templates."""
    from jobs.local.replay.corpus.generate import CORPUS_PATH, Generator, write_corpus

    items = Generator(seed).corpus(posts)
    write_corpus(items)
    count = sum(1 for i in items if i["kind"] == "t3")
    console.print(f"wrote {count} posts and {len(items) - count} comments to {CORPUS_PATH}")
