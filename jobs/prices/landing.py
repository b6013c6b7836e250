"""Landing: daily bar files copied into the lake as raw lines, immutable.

A file is landed once: its content hash is the Delta app-transaction id, so
landing the same file again (a rerun, a retried task) commits nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.resources.lake import CommitResult, Lake, Txn
from jobs.sources.bundled import BarFile, file_sha256
from lake_schema.prices import DAILY_BAR_LINES


def read_lines(spark: SparkSession, bar_file: BarFile, sha256: str, landed_at: datetime, ingest_date: date) -> DataFrame:
    """The file's lines with 1-based line numbers, counted in the JVM: a split's lines in read order, the splits in
    file order (their byte offset; a gzip file is one split)."""
    text = spark.read.text(str(bar_file.path)).select(
        F.col("value").alias("line"), F.col("_metadata.file_block_start").alias("_split"),
        F.monotonically_increasing_id().alias("_read"),
    )
    numbered = text.withColumn("line_number", F.row_number().over(Window.orderBy("_split", "_read")).cast("bigint"))
    return numbered.select(
        F.lit(bar_file.source).alias("source"),
        F.lit(bar_file.file_name).alias("source_file"),
        F.lit(sha256).alias("file_sha256"),
        F.col("line_number"),
        F.col("line"),
        F.lit(landed_at).cast("timestamp").alias("landed_at"),
        F.lit(ingest_date).cast("date").alias("ingest_date"),
    )


def land_bar_file(lake: Lake, bar_file: BarFile, ingest_date: date) -> CommitResult:
    sha256 = file_sha256(bar_file.path)
    txn = Txn(app_id=f"land:{bar_file.source}:{sha256}")
    if lake.txn_version(DAILY_BAR_LINES, txn.app_id) is not None:
        return CommitResult(DAILY_BAR_LINES.name, "append", None, 0, skipped=True)
    now = datetime.now(timezone.utc)  # landed_at: when the bytes arrived, an audit fact; the partition is the run's
    lines = read_lines(lake.spark, bar_file, sha256, now, ingest_date)
    return lake.append(DAILY_BAR_LINES, lines, txn=txn)
