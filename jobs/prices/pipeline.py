"""The price medallion as steps: each reads its inputs through the lake, calls
the layer's pure transform, writes exactly its partitions, and reports.

Every step is a transaction keyed on what it covers (a landed file, a landing
batch, a set of months), so rerunning any of them leaves the lake unchanged.
"""

from __future__ import annotations

import time
from datetime import date

from pyspark.sql import functions as F

from jobs.prices.bronze import parse_bar_lines
from jobs.prices.gold import LOOKBACK_MONTHS, build_daily_features
from jobs.prices.landing import land_bar_file
from jobs.prices.silver import build_silver_daily_bars
from jobs.quality import quarantine_batches, to_quarantine, warning_counts, write_quarantine
from jobs.resources.lake import Lake, Txn
from jobs.sources.bundled import BarFile, bundled_bar_files, symbol_rows
from jobs.steps import StepReport
from lake_schema.prices import BRONZE_DAILY_BARS, DAILY_BAR_LINES, GOLD_DAILY_FEATURES, SILVER_DAILY_BARS, SYMBOLS


def _timed(report: StepReport, started: float) -> StepReport:
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def land(lake: Lake, bar_files: list[BarFile] | None = None, ingest_date: date | None = None) -> StepReport:
    started, report = time.perf_counter(), StepReport("land daily bar files")
    for bar_file in bar_files or bundled_bar_files():
        result = land_bar_file(lake, bar_file, ingest_date)
        if result.skipped:
            report.skipped.append(f"{bar_file.source}/{bar_file.file_name} already landed")
        else:
            report.add_written(result)
    return _timed(report, started)


def bronze(lake: Lake, bar_files: list[BarFile] | None = None) -> StepReport:
    """Parse every landing batch that grew since bronze last saw it."""
    started, report = time.perf_counter(), StepReport("bronze daily bars")
    files = bar_files or bundled_bar_files()
    batches = lake.read(DAILY_BAR_LINES).groupBy("ingest_date").count().collect()
    for row in sorted(batches, key=lambda r: r["ingest_date"]):
        ingest_date, line_count = row["ingest_date"], row["count"]
        txn = Txn(app_id=f"bronze.daily_bars:{ingest_date}", version=line_count)
        if (lake.txn_version(BRONZE_DAILY_BARS, txn.app_id) or 0) >= line_count:
            report.skipped.append(f"landing batch {ingest_date} already in bronze")
            continue
        where = [("ingest_date", "=", ingest_date)]
        lines = lake.read(DAILY_BAR_LINES, where=where).cache()
        parsed, rejected = parse_bar_lines(lines, files)
        quarantine = to_quarantine(
            rejected, target=BRONZE_DAILY_BARS, batch=F.col("ingest_date"),
            record_columns=["source", "source_file", "line_number", "line"],
            record_key=F.concat_ws(":", "source_file", F.col("line_number").cast("string")),
        )
        report.add_quarantine(write_quarantine(lake, quarantine, quarantine_batches(BRONZE_DAILY_BARS, [ingest_date])))
        result = lake.overwrite(BRONZE_DAILY_BARS, parsed, where=where, txn=txn)
        report.add_written(result)
        lines.unpersist()
    return _timed(report, started)


def symbols(lake: Lake) -> StepReport:
    started, report = time.perf_counter(), StepReport("symbols reference")
    frame = lake.spark.createDataFrame(symbol_rows(), schema=SYMBOLS.spark_ddl())
    report.tables[SYMBOLS.name] = lake.overwrite(SYMBOLS, frame).rows
    return _timed(report, started)


def months_in_bronze(lake: Lake, start: date | None = None, end: date | None = None) -> list[str]:
    """The trade months a run covers: those in bronze, cut to [start, end] when given."""
    frame = lake.read(BRONZE_DAILY_BARS)
    if start:
        frame = frame.where(F.col("trade_date") >= F.lit(start))
    if end:
        frame = frame.where(F.col("trade_date") <= F.lit(end))
    rows = frame.select(F.date_format("trade_date", "yyyy-MM").alias("m")).distinct().collect()
    return sorted(r["m"] for r in rows)


def _months_before(month: str, count: int) -> list[str]:
    year, mon = (int(x) for x in month.split("-"))
    out = []
    for _ in range(count):
        year, mon = (year, mon - 1) if mon > 1 else (year - 1, 12)
        out.append(f"{year:04d}-{mon:02d}")
    return out


def silver(lake: Lake, months: list[str], bar_files: list[BarFile] | None = None) -> StepReport:
    started, report = time.perf_counter(), StepReport("silver daily bars")
    if not months:
        report.notes.append("no months to build")
        return _timed(report, started)
    files = bar_files or bundled_bar_files()
    wanted = set(months) | set(_months_before(min(months), 1))
    month_of = F.date_format("trade_date", "yyyy-MM")
    bronze_rows = lake.read(BRONZE_DAILY_BARS).where(month_of.isin(sorted(wanted))).cache()
    built, rejected = build_silver_daily_bars(bronze_rows, lake.read(SYMBOLS), {f.source: f.priority for f in files})
    built = built.where(F.col("trade_month").isin(months)).cache()
    rejected = rejected.where(month_of.isin(months))
    quarantine = to_quarantine(
        rejected, target=SILVER_DAILY_BARS, batch=month_of,
        record_columns=[c for c in BRONZE_DAILY_BARS.column_names if c not in ("landed_at",)],
        record_key=F.concat_ws(":", "ticker", F.col("trade_date").cast("string"), "source"),
    )
    report.add_quarantine(write_quarantine(lake, quarantine, quarantine_batches(SILVER_DAILY_BARS, months)))
    report.warnings = {k: v for k, v in warning_counts(built, SILVER_DAILY_BARS).items() if v}
    result = lake.overwrite(SILVER_DAILY_BARS, built, where=[("trade_month", "in", months)])
    report.tables[SILVER_DAILY_BARS.name] = result.rows
    built.unpersist()
    bronze_rows.unpersist()
    return _timed(report, started)


def gold(lake: Lake, months: list[str]) -> StepReport:
    started, report = time.perf_counter(), StepReport("gold daily features")
    if not months:
        report.notes.append("no months to build")
        return _timed(report, started)
    wanted = sorted(set(months) | set(_months_before(min(months), LOOKBACK_MONTHS)))
    history = lake.read(SILVER_DAILY_BARS, where=[("trade_month", "in", wanted)])
    features = build_daily_features(history, lake.read(SYMBOLS)).where(F.col("trade_month").isin(months))
    result = lake.overwrite(GOLD_DAILY_FEATURES, features, where=[("trade_month", "in", months)])
    report.tables[GOLD_DAILY_FEATURES.name] = result.rows
    return _timed(report, started)
