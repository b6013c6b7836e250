"""One batch of `finnhub.trades` records -> bronze, quarantine, silver, 1-minute bars.

The nightly (`Trigger.AvailableNow`) and the freshness stream (micro-batches)
both run this, through one checkpoint (`jobs.ingest.consume`), so each record
lands once whichever path takes it. Exactly once without a cross-table
transaction: every write carries the batch's app transaction ``Txn(app_id,
batch_id + 1)``, and a batch Spark replays after a crash (same offsets, same
id) recomputes the same rows from the same records and is skipped by each table
whose commit is already in its log. The order is bronze -> quarantine -> silver
-> bars. The watermark starts from silver's newest trade *before* this batch's
silver commit, so a replay that resumes after it decides the same bars.

Silver dedupe follows `jobs.trades.silver`: inside a batch `build_silver_trades`
keeps the first copy by receive time; a trade whose key is already in silver (a
frame re-sent later) is quarantined as `duplicate_record`, so the earlier copy stays.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import reduce

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.ingest.consume import TopicSink, take
from jobs.ingest.topics import FINNHUB_TRADES
from jobs.quality import DETAIL, REASON, to_quarantine
from jobs.resources.lake import Lake, Txn
from jobs.steps import StepReport
from jobs.trades.bars import bars_for, beyond, minutes_of, upsert_bars, watermark_floor
from jobs.trades.bronze import parse_trade_records, quarantined_records
from jobs.trades.silver import build_silver_trades
from lake_schema.quarantine import QUARANTINE
from jobs.window import Window
from lake_schema.trades import BRONZE_TRADES, SILVER_TRADES

DEFAULT_WATERMARK = timedelta(minutes=10)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass
class BatchReport(StepReport):
    batch_id: int = 0
    records: int = 0
    resumed: bool = False  # bronze was already committed: a replay after a crash
    late_beyond_watermark: int = 0
    watermark_floor: datetime | None = None
    silver_visible_at: float | None = None  # time.time() right after the silver commit
    step_seconds: dict[str, float] = field(default_factory=dict)

    def lap(self, step: str, since: float) -> float:
        now = time.perf_counter()
        self.step_seconds[step] = round(now - since, 2)
        return now

    def line(self) -> str:
        parts = [f"batch {self.batch_id}: {self.records} records"]
        if self.resumed:
            parts.append("resumed after a crash")
        parts += [f"{name} +{rows}" for name, rows in self.tables.items()]
        if self.skipped:
            parts.append(f"already committed: {', '.join(self.skipped)}")
        if self.late_beyond_watermark:
            parts.append(f"{self.late_beyond_watermark} trades beyond the watermark ({self.watermark_floor:%H:%M}): "
                         "in silver, bars left for rebuild-bars")
        steps = " ".join(f"{k} {v:.1f}" for k, v in self.step_seconds.items())
        return ", ".join(parts) + f" ({self.seconds:.1f} s{': ' + steps if steps else ''})"


def silver_high_water(lake: Lake, version: int | None = None) -> datetime | None:
    """The newest trade_ts in silver.trades (at `version`), from the Delta log's file statistics (no data scan)."""
    if not lake.exists(SILVER_TRADES) or (version is not None and version < 0):
        return None
    actions = pa.table(lake.delta_table(SILVER_TRADES, version=version).get_add_actions(flatten=True))
    if not actions.num_rows or "max.trade_ts" not in actions.column_names:
        return None
    return pc.max(actions.column("max.trade_ts")).as_py()


def _silver_token(txn: Txn) -> str:
    return f"{txn.app_id}:silver:{txn.version}"


def _high_water_before(lake: Lake, txn: Txn) -> datetime | None:
    """Silver's high-water mark before this batch's silver commit (the same on a replay after it)."""
    if (lake.txn_version(SILVER_TRADES, txn.app_id) or 0) >= txn.version:
        commit = lake.find_commit(SILVER_TRADES, _silver_token(txn))
        if commit is not None:
            return silver_high_water(lake, int(commit["version"]) - 1)
    return silver_high_water(lake)


def trades_batch(lake: Lake, records: DataFrame, txn: Txn, batch_id: int,
                 watermark: timedelta = DEFAULT_WATERMARK, score: bool = False) -> BatchReport:
    """One batch of records -> bronze, quarantine, silver, bars; with `score`, then live predictions for the
    symbols whose bars moved and the scorecard (jobs.models.live), under the same app transaction."""
    started, report = time.perf_counter(), BatchReport(step=f"trades batch {batch_id}", batch_id=batch_id)
    records = records.cache()
    try:
        report.records = records.count()
        if not report.records:
            return report
        bronze, rejected = parse_trade_records(records)
        bronze = bronze.cache()
        lap = time.perf_counter()
        result = lake.append(BRONZE_TRADES, bronze, txn=txn)
        report.resumed = result.skipped
        _record(report, result)
        lap = report.lap("bronze", lap)
        moved = _downstream(lake, bronze, rejected, txn, watermark, report)
        bronze.unpersist()
        if score and moved:
            _score(lake, moved, txn, report)
    finally:
        records.unpersist()
        report.seconds = round(time.perf_counter() - started, 2)
    return report


def trades_sink(watermark: timedelta = DEFAULT_WATERMARK, score: bool = False) -> TopicSink:
    """finnhub.trades -> bronze.trades (and on to silver and bars in the same batch; with `score`, live
    predictions and the scorecard too: the freshness stream's, not the nightly's)."""
    return TopicSink(FINNHUB_TRADES, BRONZE_TRADES,
                     lambda lake, records, txn, batch_id: trades_batch(lake, records, txn, batch_id, watermark, score),
                     parse_trade_records)


def take_trades(lake: Lake, window: Window | None = None, wait_s: float = 600) -> StepReport:
    """Every trade in finnhub.trades not taken yet -> bronze, silver and bars: the stream's own batches, from its
    checkpoint (Kafka offsets, not dates). Waits up to `wait_s` for a running stream to let go of the checkpoint."""
    report = take(lake, trades_sink(), wait_s=wait_s)
    report.step = "trades from Kafka -> bronze, silver, 1-minute bars"
    return report


def _downstream(lake: Lake, bronze: DataFrame, bad_records: DataFrame, txn: Txn, watermark: timedelta,
                report: BatchReport) -> tuple[list[str], list[date]] | None:
    """Quarantine, silver and bars; (the symbols whose bars it refreshed, their days), None when it refreshed none."""
    label, lap = f"{txn.app_id}:{txn.version:06d}", time.perf_counter()
    trades, broken = build_silver_trades(bronze)
    trades = trades.cache()
    floor = report.watermark_floor = watermark_floor(_high_water_before(lake, txn), watermark)
    lo, hi, days, report.late_beyond_watermark, symbols = _bounds(trades, floor)
    recent = None
    try:
        if lo is None:  # no valid trade: only rejects to record
            new, repeats = trades, trades.limit(0)
        else:
            # One read of recent silver, pinned before our commit, serves both the dedupe (keys already
            # there) and the bars (every other trade of the minutes this batch touches).
            recent = lake.read(SILVER_TRADES, where=[("trade_date", "in", days)], version=lake.version(SILVER_TRADES),
                               filters=[("trade_ts", ">=", _minute_floor(lo)),
                                        ("trade_ts", "<", _minute_floor(hi) + timedelta(minutes=1))]).cache()
            known = recent.select("trade_key")
            new = trades.join(known, "trade_key", "left_anti")
            repeats = trades.join(known, "trade_key", "left_semi")
        lap = report.lap("read", lap)

        # Appended even when empty (a commit with no files): counting first would cost a Spark job per batch.
        quarantined = lake.append(QUARANTINE, _quarantine_rows(bad_records, broken, repeats, label), txn=txn)
        _record(report, quarantined)
        lap = report.lap("quarantine", lap)
        if recent is None:
            return None

        _record(report, lake.append(SILVER_TRADES, new, txn=txn, token=_silver_token(txn)))
        report.silver_visible_at = time.time()
        lap = report.lap("silver", lap)

        touched = minutes_of(trades.where(~beyond(floor)))
        _record(report, upsert_bars(lake, bars_for(recent.unionByName(new), touched), days, txn=txn))
        report.lap("bars", lap)
        return (symbols, days) if symbols else None
    finally:
        if recent is not None:
            recent.unpersist()
        trades.unpersist()


def _minute_floor(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def _bounds(trades: DataFrame, floor: datetime | None) -> tuple[datetime | None, datetime | None, list[date], int,
                                                                 list[str]]:
    """(first, last trade_ts as aware UTC, the trade dates, trades beyond the watermark, symbols with a trade
    within it) in one pass."""
    row = trades.agg(F.min(F.unix_micros("trade_ts")).alias("lo"), F.max(F.unix_micros("trade_ts")).alias("hi"),
                     F.collect_set("trade_date").alias("days"),
                     F.sum(beyond(floor).cast("int")).alias("late"),
                     F.collect_set(F.when(~beyond(floor), F.col("symbol"))).alias("symbols")).first()
    if row is None or row["lo"] is None:
        return None, None, [], 0, []
    utc = lambda micros: _EPOCH + timedelta(microseconds=micros)  # noqa: E731
    return utc(row["lo"]), utc(row["hi"]), sorted(row["days"]), int(row["late"] or 0), sorted(row["symbols"])


def _quarantine_rows(bad_records: DataFrame, broken: DataFrame, repeats: DataFrame, label: str) -> DataFrame:
    """Unparsable records (for bronze), rule breakers and repeats (for silver), shaped for bronze.quarantine."""
    batch = F.lit(label)
    trade_columns = [*BRONZE_TRADES.column_names, "trade_key"]
    again = repeats.select(*SILVER_TRADES.column_names, F.lit("duplicate_record").alias(REASON),
                           F.lit("the trade is already in silver.trades: its frame was sent again in a later record")
                           .alias(DETAIL))
    return reduce(DataFrame.unionByName, [
        quarantined_records(bad_records, label),
        to_quarantine(broken, target=SILVER_TRADES, batch=batch, record_columns=trade_columns,
                      record_key=F.col("record_id")),
        to_quarantine(again, target=SILVER_TRADES, batch=batch, record_columns=SILVER_TRADES.column_names,
                      record_key=F.col("trade_key")),
    ])


def _score(lake: Lake, moved: tuple[list[str], list[date]], txn: Txn, report: BatchReport) -> None:
    """Live predictions for the symbols whose bars moved, and the scorecard (jobs.models.live)."""
    from jobs.models.live import score_live  # TensorFlow loads with the first model, in the stream only

    lap = time.perf_counter()
    symbols, days = moved
    live = score_live(lake, Window.latest(datetime.now(timezone.utc), source="stream"), symbols=symbols, days=days,
                      txn=txn)
    report.merge(live)
    report.lap("score", lap)


def _record(report: BatchReport, result) -> None:
    if result.skipped:
        report.skipped.append(result.table)
    else:
        report.add_written(result)


