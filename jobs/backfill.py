"""Rebuild the price layers for a trade-date range on whatever Spark master this is given.

    spark-submit --properties-file .jars/spark-defaults.conf jobs/backfill.py --start 2010-01-01 --end 2010-03-31
    spark-submit --properties-file .jars/spark-defaults.conf --master spark://host:7077 jobs/backfill.py \
        --start ... --end ... --lake-root hdfs://namenode:9000/lake --from-kafka

The properties file (written by `make setup`) puts the Delta, Kafka and S3 jars on the driver's and the
executors' class paths and turns Delta's SQL extension on: a JVM must start with them.

Runs the pipeline's price steps as declared in jobs/pipeline/graph.py (`pulselake graph`): land the vendor
files (each file once), parse new landing batches into bronze, refresh the symbols, then replace silver and
gold for exactly the months the range touches; with --from-kafka first the steps that read Kafka. Every step
is idempotent, so rerunning a range — or a range that overlaps a previous one — leaves the same rows. The
Airflow DAG ``pulselake_backfill`` runs the same steps.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date in YYYY-MM-DD form") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="spark-submit jobs/backfill.py",
        description="Rebuild landing -> bronze -> silver -> gold for the trade dates START..END (inclusive) "
        "on the Spark master spark-submit was given (local by default).",
    )
    parser.add_argument("--start", type=_day, required=True, help="first trade date, YYYY-MM-DD")
    parser.add_argument("--end", type=_day, required=True, help="last trade date, YYYY-MM-DD (inclusive)")
    parser.add_argument("--lake-root", default=None,
                        help="lake location (a path every executor can reach, or s3://...); default $PULSELAKE_LAKE_ROOT or ./lake")
    parser.add_argument("--from-kafka", action="store_true",
                        help="first take every record the Kafka topics hold that bronze has not taken yet (what "
                        "`pulselake ingest load` does; the KAFKA_* settings say where the cluster is)")
    parser.add_argument("--price-file", action="append", default=[], metavar="SOURCE=PATH",
                        help="land this file (in SOURCE's format: quandl_wiki or sp500_2009) instead of the bundled "
                        "files; repeatable")
    args = parser.parse_args(argv)
    if args.start > args.end:
        parser.error(f"--start {args.start} is after --end {args.end}")
    return args


def backfill_steps(from_kafka: bool) -> list:
    """The declared steps a backfill runs: those reading Kafka (when asked), then the price steps."""
    from jobs.pipeline.graph import select

    return (select(reading_topics=True) if from_kafka else []) + select(groups=["prices"])


def submitted_master() -> str | None:
    """The master spark-submit was launched with; None when run as a plain Python script."""
    if not os.environ.get("PYSPARK_GATEWAY_PORT"):
        return None
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()
    return SparkConf().get("spark.master", None)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from datetime import datetime, timezone

    from jobs.resources.settings import Settings
    from jobs.resources.spark import open_lake
    from jobs.sources.bundled import bar_files_from
    from jobs.window import Window

    try:
        bar_files_from(args.price_file)  # a missing or unknown file is a usage error before Spark starts
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    window = Window(args.start, args.end, datetime.now(timezone.utc))
    overrides: dict[str, str] = {}
    if args.lake_root:
        overrides["lake_root"] = args.lake_root
    if master := submitted_master():
        overrides["spark_master"] = master  # keep what spark-submit was told, never override it
    settings = Settings(**overrides)
    began = time.perf_counter()
    lake = open_lake(settings, app_name=f"pulselake-backfill {args.start}..{args.end}")
    spark = lake.spark
    print(f"backfill {args.start} .. {args.end} on {spark.sparkContext.master} into {settings.lake_root}", flush=True)
    try:
        for step in backfill_steps(args.from_kafka):
            print("  " + step.run(lake, window, price_files=args.price_file or None).summary(), flush=True)
    finally:
        spark.stop()
    print(f"backfill finished in {time.perf_counter() - began:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    # spark-submit puts this file's folder (jobs/) first on sys.path; the package must win over its modules.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.exit(main())
