"""One micro-batch: the landed files Spark hands over -> bronze, quarantine, silver, bars.

Exactly once without a cross-table transaction: every write carries the stream's
app transaction ``Txn(app_id, batch_id + 1)`` (Delta versions start above 0), and a
batch replayed after a crash recomputes the same rows from the same files and skips
each table whose commit is already in its log. The order is bronze -> quarantine ->
silver -> bars, and each step's input is a pure function of the batch's files plus
state the earlier steps did not change, so a replay that resumes mid-batch writes
what the first attempt would have.

Files are shared with the nightly batch (`jobs.trades.bronze.bronze_trades`): bronze
takes each file in a commit of its own carrying ``bronze.trades:<relative path>``, the
same app transaction the nightly writes, so whichever commits first owns the file and
Delta skips the other's write. Each of the stream's file commits is named after its
batch (the commit's userMetadata), so a replay tells its own commits from the nightly's.
The stream builds silver and bars only from the files it owns; files the nightly took
are the nightly's.

Silver dedupe follows `jobs.trades.silver`: inside a batch `build_silver_trades`
keeps the first copy by receive time; a trade whose key is already in silver (a
frame re-sent into a later file) is quarantined as `duplicate_record`, so the
earlier-landed copy stays, as in the batch path where files land in receive order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import reduce
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.ingest.landed import LandedFile, read_lines
from jobs.quality import DETAIL, REASON, to_quarantine
from jobs.resources.lake import Lake, Txn
from jobs.stream.bars import bars_for, beyond, minutes_of, upsert_bars, watermark_floor
from jobs.stream.plan import BatchPlan, PlanStore
from jobs.trades.bronze import parse_trade_lines
from jobs.trades.silver import build_silver_trades
from lake_schema.quarantine import QUARANTINE
from lake_schema.trades import BRONZE_TRADES, SILVER_TRADES

# How far back in bronze's history a replayed batch looks for its own file commits.
_REPLAY_DEPTH = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class StreamContext:
    app_id: str  # the stream's Delta app id: query name + Spark query id (stable across restarts)
    landing: Path
    plans: PlanStore
    watermark: timedelta
    tag: str  # labels this stream's quarantine batches


@dataclass
class BatchReport:
    batch_id: int
    taken: tuple[str, ...] = ()
    taken_before: int = 0
    resumed: bool = False  # bronze was already committed: a replay after a crash
    tables: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # tables whose commit for this batch was already there
    late_beyond_watermark: int = 0
    watermark_floor: datetime | None = None
    silver_visible_at: float | None = None  # time.time() right after the silver commit
    seconds: float = 0.0
    step_seconds: dict[str, float] = field(default_factory=dict)

    def lap(self, step: str, since: float) -> float:
        now = time.perf_counter()
        self.step_seconds[step] = round(now - since, 2)
        return now

    def line(self) -> str:
        parts = [f"batch {self.batch_id}: {len(self.taken)} files"]
        if self.taken_before:
            parts.append(f"{self.taken_before} taken by the nightly before")
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


def relative_path(uri: str, landing: Path) -> str:
    """A Spark file URI (file:/...) as the file's identity: its posix path inside the landing zone."""
    path = Path(unquote(urlparse(uri).path)) if uri.startswith("file:") else Path(uri)
    try:
        return path.relative_to(landing).as_posix()
    except ValueError:
        return path.resolve().relative_to(landing.resolve()).as_posix()


def silver_high_water(lake: Lake) -> datetime | None:
    """The newest trade_ts in silver.trades, from the Delta log's file statistics (no data scan)."""
    actions = pa.table(lake.delta_table(SILVER_TRADES).get_add_actions(flatten=True))
    if not actions.num_rows or "max.trade_ts" not in actions.column_names:
        return None
    return pc.max(actions.column("max.trade_ts")).as_py()


def read_files(spark: SparkSession, files: list[LandedFile]) -> DataFrame:
    """Lines of the files, numbered exactly as the nightly numbers them (same reader)."""
    return reduce(DataFrame.unionByName, [read_lines(spark, f) for f in files])


def process_batch(lake: Lake, ctx: StreamContext, uris: list[str], batch_id: int) -> BatchReport:
    started, report = time.perf_counter(), BatchReport(batch_id)
    txn = Txn(ctx.app_id, batch_id + 1)
    landed = {rel: LandedFile(ctx.landing / rel, rel) for rel in sorted({relative_path(u, ctx.landing) for u in uris})}
    plan, parsed = _plan_and_take_bronze(lake, ctx, list(landed.values()), batch_id, report)
    report.taken, report.taken_before = plan.files, len(plan.taken_before)
    if plan.files:
        parsed = parsed or _parse(lake.spark, [landed[rel] for rel in plan.files])
        try:
            _downstream(lake, ctx, parsed, plan, txn, report)
        finally:
            parsed[0].unpersist()
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def _parse(spark: SparkSession, files: list[LandedFile]) -> tuple[DataFrame, DataFrame]:
    """(bronze rows, cached; unparsable lines) of the files: the nightly's parser over the nightly's reader."""
    bronze, bad_lines = parse_trade_lines(read_files(spark, files))
    return bronze.cache(), bad_lines


def _plan_and_take_bronze(lake: Lake, ctx: StreamContext, landed: list[LandedFile], batch_id: int,
                          report: BatchReport) -> tuple[BatchPlan, tuple[DataFrame, DataFrame] | None]:
    """Fix the batch's plan (once: a replay reuses it), then commit each planned file to bronze that is not
    there yet. Returns the plan, narrowed to the files this stream owns, and their parsed rows when this
    attempt parsed them (None when every file was already committed: a replay)."""
    plan = ctx.plans.load(batch_id)
    if plan is None:
        taken = _taken(lake, landed)
        plan = BatchPlan(batch_id, tuple(f.relative for f in landed if f.relative not in taken), tuple(sorted(taken)),
                         silver_high_water(lake))
        ctx.plans.save(plan)  # before any commit: a replay after one must reuse exactly this plan
    by_relative = {f.relative: f for f in landed}
    missing = [rel for rel in plan.files if rel not in by_relative]
    if missing:
        raise RuntimeError(f"batch {batch_id}'s plan under {ctx.plans.folder} names files Spark did not hand over "
                           f"({missing[:3]}); was the checkpoint folder edited?")
    taken = _taken(lake, [by_relative[rel] for rel in plan.files])  # one log load for every planned file
    pending = [by_relative[rel] for rel in plan.files if rel not in taken]
    parsed = _parse(lake.spark, pending) if pending else None
    lap = time.perf_counter()
    lost = []
    try:
        for file in pending:
            rows = parsed[0].where(F.col("source_file") == file.relative)
            result = lake.append(BRONZE_TRADES, rows, txn=file.txn(BRONZE_TRADES), token=_commit_token(ctx, batch_id, file))
            if result.skipped:  # the nightly took it between the plan and this commit
                lost.append(file.relative)
            else:
                _record(report, result)
    except Exception:
        if parsed is not None:
            parsed[0].unpersist()
        raise
    done_before = [rel for rel in plan.files if by_relative[rel] not in pending]
    lost += [rel for rel in done_before if lake.find_commit(BRONZE_TRADES, _commit_token(ctx, batch_id, by_relative[rel]),
                                                            depth=_REPLAY_DEPTH) is None]
    if done_before and not pending:
        report.resumed = True
        report.skipped.append(BRONZE_TRADES.name)
    if lost:
        plan = BatchPlan(batch_id, tuple(r for r in plan.files if r not in lost), tuple(sorted({*plan.taken_before, *lost})),
                         plan.high_water)
        ctx.plans.save(plan)
    if pending:
        report.lap("bronze", lap)
    if parsed is not None and lost:
        parsed[0].unpersist()
        parsed = None  # parsed again from the files the plan kept
    return plan, parsed


def _commit_token(ctx: StreamContext, batch_id: int, file: LandedFile) -> str:
    return f"{ctx.app_id}:batch-{batch_id}:{file.relative}"


def _taken(lake: Lake, files: list[LandedFile]) -> set[str]:
    """Files whose `bronze.trades:<path>` app transaction is in bronze's log (one log load for all)."""
    table = lake.delta_table(BRONZE_TRADES)
    return {f.relative for f in files if table.transaction_version(f.txn(BRONZE_TRADES).app_id) is not None}


def _downstream(lake: Lake, ctx: StreamContext, parsed: tuple[DataFrame, DataFrame], plan: BatchPlan, txn: Txn,
                report: BatchReport) -> None:
    label, lap = f"{ctx.tag}-{plan.batch_id:06d}", time.perf_counter()
    bronze, bad_lines = parsed
    trades, broken = build_silver_trades(bronze)
    trades = trades.cache()
    floor = report.watermark_floor = watermark_floor(plan.high_water, ctx.watermark)
    lo, hi, days, report.late_beyond_watermark = _bounds(trades, floor)
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
        quarantined = lake.append(QUARANTINE, _quarantine_rows(bad_lines, broken, repeats, label), txn=txn)
        _record(report, quarantined)
        lap = report.lap("quarantine", lap)
        if recent is None:
            return

        _record(report, lake.append(SILVER_TRADES, new, txn=txn))
        report.silver_visible_at = time.time()
        lap = report.lap("silver", lap)

        touched = minutes_of(trades.where(~beyond(floor)))
        _record(report, upsert_bars(lake, bars_for(recent.unionByName(new), touched), days, txn=txn))
        report.lap("bars", lap)
    finally:
        if recent is not None:
            recent.unpersist()
        trades.unpersist()


def _minute_floor(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def _bounds(trades: DataFrame, floor: datetime | None) -> tuple[datetime | None, datetime | None, list[date], int]:
    """(first, last trade_ts as aware UTC, the trade dates, trades beyond the watermark) in one pass."""
    row = trades.agg(F.min(F.unix_micros("trade_ts")).alias("lo"), F.max(F.unix_micros("trade_ts")).alias("hi"),
                     F.collect_set("trade_date").alias("days"),
                     F.sum(beyond(floor).cast("int")).alias("late")).first()
    if row is None or row["lo"] is None:
        return None, None, [], 0
    utc = lambda micros: _EPOCH + timedelta(microseconds=micros)  # noqa: E731
    return utc(row["lo"]), utc(row["hi"]), sorted(row["days"]), int(row["late"] or 0)


def _quarantine_rows(bad_lines: DataFrame, broken: DataFrame, repeats: DataFrame, label: str) -> DataFrame:
    """Unparsable lines (for bronze), rule breakers and repeats (for silver), shaped for bronze.quarantine."""
    batch = F.lit(label)
    line_key = F.concat_ws(":", "source_file", F.col("line_number").cast("string"))
    trade_columns = [*BRONZE_TRADES.column_names, "trade_key"]
    again = repeats.select(*SILVER_TRADES.column_names, F.lit("duplicate_record").alias(REASON),
                           F.lit("the trade is already in silver.trades: its frame was sent again in a later file")
                           .alias(DETAIL))
    return reduce(DataFrame.unionByName, [
        to_quarantine(bad_lines, target=BRONZE_TRADES, batch=batch, record_columns=["line"], record_key=line_key),
        to_quarantine(broken, target=SILVER_TRADES, batch=batch, record_columns=trade_columns,
                      record_key=F.col("record_id")),
        to_quarantine(again, target=SILVER_TRADES, batch=batch, record_columns=SILVER_TRADES.column_names,
                      record_key=F.col("trade_key")),
    ])


def _record(report: BatchReport, result) -> None:
    if result.skipped:
        report.skipped.append(result.table)
    else:
        report.tables[result.table] = report.tables.get(result.table, 0) + result.rows


