"""The replay sources: the local stand-ins' data into Kafka, through the real collectors.

`pulselake nightly` runs them before the pipeline's steps (unless `--no-replay`): the embedded Reddit server's
corpus through praw, the bundled trading days through the embedded Finnhub websocket server and the trade
collector, and quotes, profiles and candles through the embedded Finnhub REST server and its client. In
production the same topics are fed by the collectors running against the real services (`pulselake ingest ...`,
the Reddit DAG); the pipeline's steps cannot tell the difference. Each source skips when its topic already holds
records, so a rerun changes nothing.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from jobs.ingest.topics import (FINNHUB_CANDLES, FINNHUB_PROFILES, FINNHUB_QUOTES, FINNHUB_TRADES, REDDIT_COMMENTS,
                                REDDIT_POSTS, record_count)
from jobs.resources.kafka import get_kafka_settings
from jobs.resources.ratelimit import TokenBucket
from jobs.resources.settings import Settings
from jobs.sources.bundled import REPLAY_DAY, REPLAY_SYMBOLS
from jobs.steps import StepReport, step, timed, topic
from jobs.window import Window

if TYPE_CHECKING:
    from jobs.resources.lake import Lake

SUBREDDITS = ("wallstreetbets", "stocks", "investing", "options")
CORPUS_END = datetime(2010, 8, 21, 23, 59, tzinfo=timezone.utc)


@step("replay.reddit", writes=[topic(REDDIT_POSTS), topic(REDDIT_COMMENTS)], windowed=False, kind="source",
      description="the embedded Reddit server's corpus -> Kafka (praw over loopback)")
@timed
def collect_replay_corpus(lake: Lake | None, window: Window | None = None, comment_depth: int = 10) -> StepReport:
    """Start the embedded Reddit server on loopback and collect the whole corpus with praw into
    Kafka: every post of the four subreddits over the corpus window, with all its comments
    (the corpus nests at most five levels deep)."""
    from jobs.ingest.publish import Publisher
    from jobs.ingest.reddit import RedditCollectConfig, RedditCollector, reddit_from_env
    from jobs.local.replay.reddit_server import RedditReplayServer, RedditServerConfig

    report = StepReport("collect reddit (embedded server)")
    kafka = get_kafka_settings()
    if record_count(kafka, REDDIT_POSTS):
        # Re-collecting is normal (silver merges it), but a nightly rerun over a fixed corpus should change nothing.
        report.skipped.append("reddit.posts already holds the corpus; `pulselake ingest reddit` re-collects on demand")
        return report
    with RedditReplayServer(RedditServerConfig(client_id="pulselake", client_secret="replay")) as server:
        env = {"REDDIT_CLIENT_ID": "pulselake", "REDDIT_CLIENT_SECRET": "replay",
               "REDDIT_OAUTH_URL": server.url, "REDDIT_URL": server.url}
        collector = RedditCollector(reddit_from_env(env), Publisher(kafka, "reddit"))
        result = collector.collect(RedditCollectConfig(list(SUBREDDITS), since=timedelta(days=400), as_of=CORPUS_END,
                                                       comment_depth=comment_depth))
        report.notes.append(f"{result.posts} posts and {result.comments} comments into Kafka "
                            f"({server.requests} HTTP requests)")
    return report


@step("replay.trades", writes=[topic(FINNHUB_TRADES)], windowed=False, kind="source",
      description="a bundled trading day -> Kafka (Finnhub websocket over loopback)")
@timed
def collect_replay_trades(lake: Lake | None, window: Window | None = None, trades_per_day: int = 1_000,
                          days: int | None = None) -> StepReport:
    """The last `days` bundled trading days (to REPLAY_DAY; default the settings' `replay_days`) of
    REPLAY_SYMBOLS, replayed as fast as the socket allows by the embedded Finnhub websocket server and collected
    into Kafka (finnhub.trades) by the real collector. 1,000 trades a symbol and day: most minutes of the session
    get a bar."""
    from jobs.ingest.finnhub_ws import FinnhubTradeCollector
    from jobs.ingest.publish import Publisher
    from jobs.local.replay.finnhub_ws import FinnhubReplayConfig, FinnhubReplayThread
    from jobs.local.replay.intraday import trading_days

    report = StepReport("collect trades (embedded Finnhub websocket)")
    days = days or (lake.settings if lake is not None else Settings()).replay_days
    kafka = get_kafka_settings()
    if record_count(kafka, FINNHUB_TRADES):
        report.skipped.append("finnhub.trades already holds records; `pulselake ingest trades` collects more")
        return report
    first = trading_days(end=REPLAY_DAY)[-days]
    config = FinnhubReplayConfig(symbols=list(REPLAY_SYMBOLS), start=first, days=days,
                                 trades_per_day=trades_per_day, speedup=0, api_key="replay")
    with FinnhubReplayThread(config) as server:
        collector = FinnhubTradeCollector(server.url, "replay", list(REPLAY_SYMBOLS), Publisher(kafka, "finnhub-ws"))

        async def session() -> None:
            stop = asyncio.Event()
            running = asyncio.create_task(collector.run(stop))
            while not server.finished.is_set() and not running.done():
                await asyncio.sleep(0.2)
            stop.set()  # the closing handshake reads every frame the server sent before it
            await running

        asyncio.run(session())
        stats = collector.stats
        report.notes.append(f"{first} .. {REPLAY_DAY} ({days} days): the server sent {len(server.sent):,} trades, {stats.trades:,} trades in "
                            f"{stats.trade_frames:,} frames went to Kafka")
    return report


@step("replay.rest", writes=[topic(FINNHUB_QUOTES), topic(FINNHUB_PROFILES), topic(FINNHUB_CANDLES)],
      windowed=False, kind="source", description="quotes, profiles and candles -> Kafka (Finnhub REST over loopback)")
@timed
def collect_replay_rest(lake: Lake | None = None, window: Window | None = None, symbols: tuple[str, ...] = REPLAY_SYMBOLS,
                        candles_from: date = REPLAY_DAY.replace(day=1), candles_to: date = REPLAY_DAY) -> StepReport:
    """Quotes, profiles and daily candles of `symbols` from the embedded Finnhub REST server, through the real
    client, into their Kafka topics (skipped when finnhub.quotes already holds records)."""
    from jobs.ingest.finnhub_rest import FinnhubRest
    from jobs.ingest.publish import Publisher, utc_now
    from jobs.local.replay.finnhub_rest import FinnhubRestConfig, FinnhubRestFake

    report = StepReport("collect Finnhub REST answers (embedded server)")
    kafka = get_kafka_settings()
    if record_count(kafka, FINNHUB_QUOTES):
        report.skipped.append("finnhub.quotes already holds records; `pulselake ingest quote` fetches more")
    else:
        with FinnhubRestFake(FinnhubRestConfig(api_key="replay", candles_allowed=True)) as server:
            client, publisher = FinnhubRest("replay", server.url, bucket=TokenBucket(6_000, capacity=1)), Publisher(kafka, "finnhub-rest")
            for symbol in symbols:
                publisher.send(FINNHUB_QUOTES, symbol, json.dumps(client.quote(symbol)), utc_now())
                publisher.send(FINNHUB_PROFILES, symbol, json.dumps(client.profile(symbol)), utc_now())
                publisher.send(FINNHUB_CANDLES, symbol, json.dumps(client.candles(symbol, candles_from, candles_to)),
                               utc_now())
            publisher.close()
        report.notes.append(f"{len(symbols)} symbols x quote, profile, candles ({client.attempts} requests)")
    return report


REPLAY_SOURCES = tuple(function.step for function in (collect_replay_corpus, collect_replay_trades, collect_replay_rest))
