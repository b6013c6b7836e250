"""The price medallion as steps: each reads its inputs through the lake, calls
the layer's pure transform, writes exactly its partitions, and reports.

Every step is a transaction keyed on what it covers (a landed file, a landing
batch, a set of months), so rerunning any of them leaves the lake unchanged. Spark and
the transforms are imported inside the steps: the graph (and an Airflow DAG file) reads
the declarations without them.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Sequence

from jobs.sources.bundled import BarFile, bar_files_from, bundled_bar_files, symbol_rows
from jobs.steps import StepReport, step, timed
from jobs.window import Window
from lake_schema.prices import BRONZE_DAILY_BARS, DAILY_BAR_LINES, GOLD_DAILY_FEATURES, SILVER_DAILY_BARS, SYMBOLS
from lake_schema.quarantine import QUARANTINE

if TYPE_CHECKING:
    from jobs.resources.lake import Lake


@step("prices.land", writes=[DAILY_BAR_LINES], windowed=True,
      description="land the bundled (or given) daily bar files, each file once, into the partition of the run's day")
@timed
def land(lake: Lake, window: Window, price_files: Sequence[str | BarFile] | None = None) -> StepReport:
    """Land each file once (keyed on its hash) into the landing partition of the run's day."""
    from jobs.prices.landing import land_bar_file

    report = StepReport("land daily bar files")
    for bar_file in bar_files_from(price_files) or bundled_bar_files():
        result = land_bar_file(lake, bar_file, window.today)
        if result.skipped:
            report.skipped.append(f"{bar_file.source}/{bar_file.file_name} already landed")
        else:
            report.add_written(result)
    return report


@step("prices.bronze", reads=[DAILY_BAR_LINES], writes=[BRONZE_DAILY_BARS, QUARANTINE], windowed=True,
      description="parse every landing batch landed by the run's day that grew since bronze saw it")
@timed
def bronze(lake: Lake, window: Window) -> StepReport:
    """Parse every landing batch, up to the run's day, that grew since bronze last saw it. Each line is
    parsed by its source's format (a file given in place of a bundled one keeps its source's format)."""
    from pyspark.sql import functions as F

    from jobs.prices.bronze import parse_bar_lines
    from jobs.quality import quarantine_batches, to_quarantine
    from jobs.resources.incremental import grown_partitions

    report = StepReport("bronze daily bars")
    files = bundled_bar_files()
    landed = lake.read(DAILY_BAR_LINES).where(F.col("ingest_date") <= F.lit(window.today))
    for ingest_date, txn in grown_partitions(lake, landed, "ingest_date", BRONZE_DAILY_BARS, report.skipped):
        where = [("ingest_date", "=", ingest_date)]
        lines = lake.read(DAILY_BAR_LINES, where=where).cache()
        parsed, rejected = parse_bar_lines(lines, files)
        quarantine = to_quarantine(
            rejected, target=BRONZE_DAILY_BARS, batch=F.col("ingest_date"),
            record_columns=["source", "source_file", "line_number", "line"],
            record_key=F.concat_ws(":", "source_file", F.col("line_number").cast("string")),
        )
        report.add_quarantine(lake.replace_quarantine(quarantine, quarantine_batches(BRONZE_DAILY_BARS, [ingest_date])))
        result = lake.overwrite(BRONZE_DAILY_BARS, parsed, where=where, txn=txn)
        report.add_written(result)
        lines.unpersist()
    return report


@step("prices.symbols", writes=[SYMBOLS], windowed=False,
      description="the symbols reference (sector, exchange) from the bundled metadata")
@timed
def symbols(lake: Lake, window: Window) -> StepReport:
    """The reference table is whole whatever the window: it is small and has no dates."""
    report = StepReport("symbols reference")
    frame = lake.spark.createDataFrame(symbol_rows(), schema=SYMBOLS.spark_ddl())
    report.add_written(lake.overwrite(SYMBOLS, frame))
    return report


def months_in_bronze(lake: Lake, start: date | None = None, end: date | None = None) -> list[str]:
    """The trade months a run covers: those in bronze, cut to [start, end] when given."""
    from pyspark.sql import functions as F

    frame = lake.read(BRONZE_DAILY_BARS)
    if start:
        frame = frame.where(F.col("trade_date") >= F.lit(start))
    if end:
        frame = frame.where(F.col("trade_date") <= F.lit(end))
    rows = frame.select(F.date_format("trade_date", "yyyy-MM").alias("m")).distinct().collect()
    return sorted(r["m"] for r in rows)


def window_months(lake: Lake, window: Window, report: StepReport) -> list[str]:
    """The months of the window that bronze has bars for (every month bronze has, for "latest"); the report says
    which, or that there are none to build."""
    months = months_in_bronze(lake, window.start, window.end)
    report.notes.append(f"months {months[0]} .. {months[-1]} ({len(months)})" if months else "no months to build")
    return months


def _months_before(month: str, count: int) -> list[str]:
    year, mon = (int(x) for x in month.split("-"))
    out = []
    for _ in range(count):
        year, mon = (year, mon - 1) if mon > 1 else (year - 1, 12)
        out.append(f"{year:04d}-{mon:02d}")
    return out


@step("prices.silver", reads=[BRONZE_DAILY_BARS, SYMBOLS], writes=[SILVER_DAILY_BARS, QUARANTINE], windowed=True,
      description="validate and deduplicate the window's months of daily bars")
@timed
def silver(lake: Lake, window: Window) -> StepReport:
    """Replace exactly the window's months (the month before is read too: a bar's previous close)."""
    from pyspark.sql import functions as F

    from jobs.prices.silver import build_silver_daily_bars
    from jobs.quality import quarantine_batches, to_quarantine

    report = StepReport("silver daily bars")
    months = window_months(lake, window, report)
    if not months:
        return report
    files = bundled_bar_files()
    wanted = set(months) | set(_months_before(min(months), 1))
    month_of = F.date_format("trade_date", "yyyy-MM")
    bronze_rows = lake.read(BRONZE_DAILY_BARS).where(month_of.isin(sorted(wanted))).cache()
    built, rejected = build_silver_daily_bars(bronze_rows, lake.read(SYMBOLS), {f.source: f.priority for f in files})
    built = built.where(F.col("trade_month").isin(months))  # the lake evaluates it once (rules, warn counts)
    rejected = rejected.where(month_of.isin(months))
    quarantine = to_quarantine(
        rejected, target=SILVER_DAILY_BARS, batch=month_of,
        record_columns=[c for c in BRONZE_DAILY_BARS.column_names if c not in ("landed_at",)],
        record_key=F.concat_ws(":", "ticker", F.col("trade_date").cast("string"), "source"),
    )
    report.add_quarantine(lake.replace_quarantine(quarantine, quarantine_batches(SILVER_DAILY_BARS, months)))
    result = lake.overwrite(SILVER_DAILY_BARS, built, where=[("trade_month", "in", months)])
    report.add_written(result)
    bronze_rows.unpersist()
    return report


@step("prices.gold", reads=[BRONZE_DAILY_BARS, SILVER_DAILY_BARS, SYMBOLS], writes=[GOLD_DAILY_FEATURES], windowed=True,
      description="daily features for the window's months")
@timed
def gold(lake: Lake, window: Window) -> StepReport:
    """Features for the window's months, from silver of those months and the lookback before them."""
    from pyspark.sql import functions as F

    from jobs.prices.gold import LOOKBACK_MONTHS, build_daily_features

    report = StepReport("gold daily features")
    if not (months := window_months(lake, window, report)):
        return report
    wanted = sorted(set(months) | set(_months_before(min(months), LOOKBACK_MONTHS)))
    history = lake.read(SILVER_DAILY_BARS, where=[("trade_month", "in", wanted)])
    features = build_daily_features(history, lake.read(SYMBOLS)).where(F.col("trade_month").isin(months))
    result = lake.overwrite(GOLD_DAILY_FEATURES, features, where=[("trade_month", "in", months)])
    report.add_written(result)
    return report
