"""The nightly's half of the tick path: a replayed session into Kafka, the topic into bronze (and on to
silver and bars, `jobs.stream.batch`), then closed days of bronze trades -> silver trades, 1-minute bars
and gold daily bars.

The stream keeps *today* fresh; the nightly rebuilds every earlier day whose
bronze grew since it was last built (keyed by a Delta app transaction whose
version is that day's bronze row count, which only grows), so a file the
nightly took gets silver and bars too, and a rerun writes nothing.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timezone

from pyspark.sql import functions as F

from jobs.ingest.topics import FINNHUB_TRADES, record_count
from jobs.quality import quarantine_batches, to_quarantine, write_quarantine
from jobs.resources.lake import Lake, Txn
from jobs.resources.kafka import get_kafka_settings
from jobs.steps import StepReport
from jobs.stream.bars import rebuild_bars_day
from jobs.trades.gold import rebuild_trade_daily_day
from jobs.trades.silver import build_silver_trades
from lake_schema.trades import BRONZE_TRADES, SILVER_TRADES


REPLAY_SYMBOLS = ("AAPL", "MSFT", "GOOG", "AMZN", "JPM")
REPLAY_DAY = date(2010, 8, 20)  # the last bundled trading day, beside the Reddit corpus' end


def collect_replay_trades(lake: Lake, trades_per_day: int = 2_000) -> StepReport:
    """One bundled trading day of REPLAY_SYMBOLS, replayed as fast as the socket allows by the embedded Finnhub
    websocket server and collected into Kafka (finnhub.trades) by the real collector."""
    from jobs.ingest.finnhub_ws import FinnhubTradeCollector
    from jobs.ingest.publish import Publisher
    from jobs.replay.finnhub_ws import FinnhubReplayConfig, FinnhubReplayThread

    started, report = time.perf_counter(), StepReport("collect trades (embedded Finnhub websocket)")
    kafka = get_kafka_settings()
    if record_count(kafka, FINNHUB_TRADES):
        report.skipped.append("finnhub.trades already holds records; `pulselake ingest trades` collects more")
        report.seconds = round(time.perf_counter() - started, 2)
        return report
    config = FinnhubReplayConfig(symbols=list(REPLAY_SYMBOLS), start=REPLAY_DAY, days=1,
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
        report.notes.append(f"{REPLAY_DAY}: the server sent {len(server.sent):,} trades, {stats.trades:,} trades in "
                            f"{stats.trade_frames:,} frames went to Kafka")
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def silver_trades(lake: Lake, today: date | None = None) -> StepReport:
    started, report = time.perf_counter(), StepReport("silver trades, 1-minute and daily bars (closed days)")
    today = today or datetime.now(timezone.utc).date()
    days = lake.read(BRONZE_TRADES).where(F.col("trade_date") < F.lit(today)).groupBy("trade_date").count().collect()
    for row in sorted(days, key=lambda r: r["trade_date"]):
        day, bronze_rows = row["trade_date"], row["count"]
        txn = Txn(app_id=f"silver.trades:{day}", version=bronze_rows)
        if (lake.txn_version(SILVER_TRADES, txn.app_id) or 0) >= bronze_rows:
            report.skipped.append(f"{day} already built")
            continue
        where = [("trade_date", "=", day)]
        silver, rejected = build_silver_trades(lake.read(BRONZE_TRADES, where=where))
        batches = quarantine_batches(SILVER_TRADES, [day])
        quarantine = to_quarantine(rejected, target=SILVER_TRADES, batch=F.col("trade_date"),
                                   record_columns=[c for c in BRONZE_TRADES.column_names],
                                   record_key=F.col("record_id"))
        report.add_quarantine(write_quarantine(lake, quarantine, batches))
        report.add_written(lake.overwrite(SILVER_TRADES, silver, where=where, txn=txn))
        report.add_written(rebuild_bars_day(lake, day))
        report.add_written(rebuild_trade_daily_day(lake, day))
    if not days:
        report.notes.append("no closed trading days in bronze.trades")
    report.seconds = round(time.perf_counter() - started, 2)
    return report
