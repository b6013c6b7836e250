"""The tick path's steps: the trades topic into bronze (and on to silver and bars in the same batch,
`jobs.trades.batch`, which the freshness stream runs on a timer), then closed days of bronze trades -> silver
trades, 1-minute bars and gold daily bars.

The stream keeps *today* fresh; the nightly rebuilds every earlier day whose
bronze grew since it was last built (keyed by a Delta app transaction whose
version is that day's bronze row count, which only grows), so a file the
nightly took gets silver and bars too, and a rerun writes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobs.ingest.topics import FINNHUB_TRADES
from jobs.steps import StepReport, step, timed, topic
from jobs.window import Window
from lake_schema.quarantine import QUARANTINE
from lake_schema.trades import BARS_1M, BRONZE_TRADES, GOLD_TRADE_DAILY, SILVER_TRADES

if TYPE_CHECKING:
    from jobs.ingest.consume import TopicSink
    from jobs.resources.lake import Lake


def trades_sinks() -> tuple[TopicSink, ...]:
    """finnhub.trades -> bronze.trades, and on to silver trades and 1-minute bars in the same batch."""
    from jobs.trades.batch import trades_sink

    return (trades_sink(),)


@step("trades.bronze", reads=[topic(FINNHUB_TRADES)], sinks=trades_sinks,
      writes=[BRONZE_TRADES, SILVER_TRADES, BARS_1M, QUARANTINE], windowed=False,
      description="every trade in Kafka not taken yet -> bronze, silver and 1-minute bars (the stream's checkpoint)")
def take_trades(lake: Lake, window: Window | None = None, wait_s: float = 600) -> StepReport:
    """Every trade in finnhub.trades not taken yet -> bronze, silver and bars: the stream's own batches, from its
    checkpoint (Kafka offsets, not dates). Waits up to `wait_s` for a running stream to let go of the checkpoint."""
    from jobs.ingest.consume import take

    report = take(lake, *trades_sinks(), wait_s=wait_s)
    report.step = "trades from Kafka -> bronze, silver, 1-minute bars"
    return report


@step("trades.closed_days", reads=[BRONZE_TRADES], writes=[SILVER_TRADES, BARS_1M, GOLD_TRADE_DAILY, QUARANTINE],
      windowed=True, description="rebuild the window's closed trading days whose bronze grew")
@timed
def silver_trades(lake: Lake, window: Window) -> StepReport:
    """Rebuild silver trades, 1-minute and daily bars for each closed day of the window (before the run's day:
    today belongs to the stream) whose bronze grew since it was built."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from jobs.quality import quarantine_batches, to_quarantine
    from jobs.resources.incremental import grown_partitions
    from jobs.trades.bars import rebuild_bars_day
    from jobs.trades.gold import rebuild_trade_daily_day
    from jobs.trades.silver import judge_trades, split_judged

    report = StepReport("silver trades, 1-minute and daily bars (closed days)")
    closed = lake.read(BRONZE_TRADES).where(F.col("trade_date") < F.lit(window.today))
    if window.bounded:
        closed = closed.where(F.col("trade_date").between(F.lit(window.start), F.lit(window.end)))
    built = 0
    for day, txn in grown_partitions(lake, closed, "trade_date", SILVER_TRADES, report.skipped):
        where = [("trade_date", "=", day)]
        judged = judge_trades(lake.read(BRONZE_TRADES, where=where)).persist(StorageLevel.MEMORY_AND_DISK)
        try:  # both sides of the day's judgement from one evaluation
            silver, rejected = split_judged(judged)
            quarantine = to_quarantine(rejected, target=SILVER_TRADES, batch=F.col("trade_date"),
                                       record_columns=[c for c in BRONZE_TRADES.column_names],
                                       record_key=F.col("record_id"))
            report.add_quarantine(lake.replace_quarantine(quarantine, quarantine_batches(SILVER_TRADES, [day])))
            report.add_written(lake.overwrite(SILVER_TRADES, silver, where=where, txn=txn))
        finally:
            judged.unpersist()
        report.add_written(rebuild_bars_day(lake, day))
        report.add_written(rebuild_trade_daily_day(lake, day))
        built += 1
    if not built and not report.skipped:
        report.notes.append("no closed trading days in bronze.trades")
    return report
