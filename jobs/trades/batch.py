"""One batch of `finnhub.trades` records -> bronze, quarantine, silver, 1-minute bars.

The nightly (`Trigger.AvailableNow`) and the freshness stream (micro-batches)
both run this, through one checkpoint (`jobs.ingest.consume`), so each record
lands once whichever path takes it.

Spark evaluates a batch once: it parses the frames (`jobs.trades.bronze`) and
judges every trade (`jobs.trades.silver.judge_trades`: the silver rules and the
copies inside the batch), collected as Arrow. The tables are written from
that with delta-rs (`Lake.append_rows`, `Lake.merge_rows`): a commit there
costs milliseconds, while a Spark write that records an app transaction costs
over a second on 2 cores (Delta rebuilds the table's whole state to read the
transactions it holds). Spark runs again only to shape rejects for quarantine
(rare); the touched minutes' bars are built in Arrow (`bars_of_minutes`). A
table that gets no rows gets no commit.

Exactly once without a cross-table transaction: every commit carries the
batch's app transaction ``Txn(app_id, batch_id + 1)``, and a batch Spark
replays after a crash (same offsets, same id) recomputes the same rows and is
skipped by each table whose commit is already in its log. The order is bronze
-> quarantine -> silver -> bars. The batch reads silver as it was before its
own silver commit (the watermark and the repeats both come from that version),
so a replay that resumes after that commit decides what the first attempt did.

Silver dedupe follows `jobs.trades.silver`: inside a batch the first copy by
receive time stays; a trade whose key is already in silver (a frame re-sent
later) is quarantined as `duplicate_record`, so the earlier copy stays.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.ingest.consume import TopicSink
from jobs.ingest.records import KAFKA_COLUMNS
from jobs.ingest.topics import FINNHUB_TRADES
from jobs.quality import DETAIL, REASON, to_quarantine
from jobs.resources.lake import CommitResult, Lake, Txn
from jobs.steps import StepReport
from jobs.trades.bars import bars_of_minutes, beyond, watermark_floor
from jobs.trades.bronze import parse_trade_records, quarantined_records
from jobs.trades.silver import judge_trades
from lake_schema.quarantine import QUARANTINE
from lake_schema.trades import BARS_1M, BRONZE_TRADES, SILVER_TRADES

DEFAULT_WATERMARK = timedelta(minutes=10)
# The driver holds a batch's trades as Arrow: a backlog (the nightly's take, a stream started late) is taken in
# batches of at most this many Kafka records (up to ~10 trades each in the collector's frames).
MAX_RECORDS_PER_BATCH = 20_000


@dataclass
class BatchReport(StepReport):
    batch_id: int = 0
    records: int = 0
    resumed: bool = False  # bronze was already committed: a replay after a crash
    late_beyond_watermark: int = 0
    watermark_floor: datetime | None = None
    silver_visible_at: float | None = None  # time.time() right after the silver commit
    bars_visible_at: float | None = None  # time.time() right after the bars commit
    moved: dict[str, datetime] = field(default_factory=dict)  # symbol -> newest minute of the bars it refreshed
    spark_jobs: int = 0
    commits: int = 0
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
            parts.append(f"{self.late_beyond_watermark} trades beyond the watermark ({self.watermark_floor:%Y-%m-%d %H:%M}"
                         " UTC): in silver, bars left for rebuild-bars")
        steps = " ".join(f"{k} {v:.1f}" for k, v in self.step_seconds.items())
        return ", ".join(parts) + f" ({self.seconds:.1f} s, {self.spark_jobs} Spark jobs, {self.commits} commits" + \
            (f": {steps}" if steps else "") + ")"


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


def silver_before(lake: Lake, txn: Txn) -> int | None:
    """Silver's version before this batch's silver commit: the newest, or, on a replay after that commit, the one
    before it (found by the commit's token). None while silver does not exist."""
    if not lake.exists(SILVER_TRADES):
        return None
    if (lake.txn_version(SILVER_TRADES, txn.app_id) or 0) >= txn.version:
        commit = lake.find_commit(SILVER_TRADES, _silver_token(txn))
        if commit is not None:
            return int(commit["version"]) - 1
    return lake.version(SILVER_TRADES)


def evaluate(records: DataFrame) -> tuple[pa.Table, pa.Table]:
    """The batch as Arrow: (every parsed trade with its `trade_key`, and `reason` and `detail` when silver refuses
    it; the records and trades parsing refused, with `value`, reason and detail). Two Spark jobs, one pass each."""
    bronze, refused = parse_trade_records(records)
    return judge_trades(bronze).toArrow(), refused.toArrow()


def trades_batch(lake: Lake, records: DataFrame, txn: Txn, batch_id: int,
                 watermark: timedelta = DEFAULT_WATERMARK) -> BatchReport:
    """One batch of records -> bronze, quarantine, silver, bars. `report.moved` names the newest minute of the bars
    it refreshed, per symbol (what live scoring needs next, off this path: `jobs.stream.scoring`)."""
    started, report = time.perf_counter(), BatchReport(step=f"trades batch {batch_id}", batch_id=batch_id)
    with _jobs_counted(lake, report, f"{txn.app_id} batch {batch_id}"):
        trades, refused = evaluate(records)
        lap = report.lap("evaluate", started)
        coordinates = pa.concat_tables([trades.select(KAFKA_COLUMNS), refused.select(KAFKA_COLUMNS)])
        report.records = coordinates.group_by(KAFKA_COLUMNS).aggregate([]).num_rows
        if report.records:
            bronze = _record(report, lake.append_rows(BRONZE_TRADES, trades, txn=txn))
            report.resumed = bronze.skipped
            lap = report.lap("bronze", lap)
            _downstream(lake, trades, refused, txn, watermark, report, lap)
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def trades_sink(watermark: timedelta = DEFAULT_WATERMARK) -> TopicSink:
    """finnhub.trades -> bronze.trades (and on to silver and bars in the same batch)."""
    def write(lake: Lake, records: DataFrame, txn: Txn, batch_id: int) -> BatchReport | None:
        report = trades_batch(lake, records, txn, batch_id, watermark)
        return report if report.records else None

    return TopicSink(FINNHUB_TRADES, BRONZE_TRADES, write, parse_trade_records,
                     max_records_per_batch=MAX_RECORDS_PER_BATCH)


def _downstream(lake: Lake, trades: pa.Table, refused: pa.Table, txn: Txn, watermark: timedelta,
                report: BatchReport, lap: float) -> None:
    """Quarantine, silver and bars from the evaluated batch."""
    label = f"{txn.app_id}:{txn.version:06d}"
    before = silver_before(lake, txn)
    floor = report.watermark_floor = watermark_floor(silver_high_water(lake, before), watermark)
    candidates = trades.filter(pc.is_null(trades.column(REASON)))
    recent = new = repeats = None
    if candidates.num_rows:
        # One read of recent silver (as before this batch's commit) serves the dedupe (keys already there) and
        # the bars (every other trade of the minutes this batch touches).
        lo, hi = pc.min_max(candidates.column("trade_ts")).values()
        minute = timedelta(minutes=1)
        recent = lake.read_rows(SILVER_TRADES, version=before,
                                where=[("trade_date", "in", pc.unique(candidates.column("trade_date")).to_pylist())],
                                filters=[("trade_ts", ">=", _minute_floor(lo.as_py())),
                                         ("trade_ts", "<", _minute_floor(hi.as_py()) + minute)])
        known = pc.is_in(candidates.column("trade_key"), value_set=recent.column("trade_key"))
        new, repeats = candidates.filter(pc.invert(known)), candidates.filter(known)
    lap = report.lap("read", lap)

    rejects = _quarantine_rows(lake, refused, trades, repeats, label)
    if rejects is not None:
        _record(report, lake.append_rows(QUARANTINE, rejects.toArrow(), txn=txn))
        lap = report.lap("quarantine", lap)
    if new is None:  # no valid trade: only rejects to record
        return

    _record(report, lake.append_rows(SILVER_TRADES, new, txn=txn, token=_silver_token(txn), judged=True))
    report.silver_visible_at = time.time()
    lap = report.lap("silver", lap)

    in_window = candidates.filter(pc.invert(beyond(candidates, floor)))
    report.late_beyond_watermark = candidates.num_rows - in_window.num_rows
    if in_window.num_rows:
        window = pa.concat_tables([recent, new.select(SILVER_TRADES.column_names).cast(SILVER_TRADES.arrow_schema())])
        bars = bars_of_minutes(window, in_window)
        _record(report, lake.merge_rows(BARS_1M, bars, txn=txn))
        report.bars_visible_at = time.time()
        newest = bars.group_by("symbol").aggregate([("minute_start", "max")])
        report.moved = dict(zip(newest.column("symbol").to_pylist(), newest.column("minute_start_max").to_pylist()))
        report.lap("bars", lap)


def _minute_floor(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def _quarantine_rows(lake: Lake, refused: pa.Table, trades: pa.Table, repeats: pa.Table | None,
                     label: str) -> DataFrame | None:
    """Unparsable records (for bronze), rule breakers and repeats (for silver), shaped for bronze.quarantine by
    Spark; None when the batch has none (the usual batch: no Spark job, no commit)."""
    spark, batch = lake.spark, F.lit(label)
    parts = []
    if refused.num_rows:
        parts.append(quarantined_records(spark.createDataFrame(refused), label))
    broken = trades.filter(pc.is_valid(trades.column(REASON)))
    if broken.num_rows:
        trade_columns = [*BRONZE_TRADES.column_names, "trade_key"]
        parts.append(to_quarantine(spark.createDataFrame(broken.select([*trade_columns, REASON, DETAIL])),
                                   target=SILVER_TRADES, batch=batch, record_columns=trade_columns,
                                   record_key=F.col("record_id")))
    if repeats is not None and repeats.num_rows:
        again = spark.createDataFrame(repeats.select(SILVER_TRADES.column_names)).select(
            "*", F.lit("duplicate_record").alias(REASON),
            F.lit("the trade is already in silver.trades: its frame was sent again in a later record").alias(DETAIL))
        parts.append(to_quarantine(again, target=SILVER_TRADES, batch=batch, record_columns=SILVER_TRADES.column_names,
                                   record_key=F.col("trade_key")))
    return reduce(DataFrame.unionByName, parts) if parts else None


class _jobs_counted:
    """Counts the Spark jobs a batch runs: those of the thread's job group (the query's own, when Spark set one
    for the thread) that start inside the block; a thread without a group gets one for the block."""

    def __init__(self, lake: Lake, report: BatchReport, description: str) -> None:
        self.context, self.report, self.description = lake.spark.sparkContext, report, description

    def __enter__(self) -> None:
        self.group = self.context.getLocalProperty("spark.jobGroup.id")
        self.own = self.group is None
        if self.own:
            self.group = f"pulselake-batch-{time.monotonic_ns()}"
            self.context.setJobGroup(self.group, self.description)
        self.before = set(self.context.statusTracker().getJobIdsForGroup(self.group))

    def __exit__(self, *exc: object) -> None:
        self.report.spark_jobs = len(set(self.context.statusTracker().getJobIdsForGroup(self.group)) - self.before)
        if self.own:
            for key in ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel"):
                self.context.setLocalProperty(key, None)


def _record(report: BatchReport, result: CommitResult) -> CommitResult:
    if result.skipped:
        report.skipped.append(result.table)
    elif result.version is not None:
        report.add_written(result)
        report.commits += 1
    return result
