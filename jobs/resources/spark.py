"""The Spark session: one per process, configured from Settings, with Delta Lake built in.

A session takes ~10 s to start, so everything (CLI, tests, DAG tasks) asks for it
here and shares it. Its JVM dependencies (delta-spark, Spark's Kafka source,
hadoop-aws) are the jars `make setup` fetched into .jars/spark from jvm/pom.xml:
nothing is downloaded when a session starts.
"""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

from jobs.resources.jars import spark_classpath
from jobs.resources.settings import Settings


def spark_conf(settings: Settings) -> dict[str, str]:
    """Every setting a pulselake session needs; spark-submit passes the same ones as --conf."""
    conf = {
        # On the JVM's class path from its start (not shipped through spark.jars): the same local folder
        # serves the driver and, on one machine or a cluster with the same layout, every executor.
        "spark.driver.extraClassPath": spark_classpath(settings.jars_dir),
        "spark.executor.extraClassPath": spark_classpath(settings.jars_dir),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.ui.enabled": "true" if settings.spark_ui else "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.python.worker.reuse": "true",
        # Timestamps as INT64 microseconds, Delta's own type: every Delta reader (delta-rs too) agrees on them.
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        # Delta rebuilds a table's state from its log with a Spark job of 50 tasks by default: on a few
        # cores their overhead made a 10-row read take 17 s instead of 1.4 s.
        "spark.databricks.delta.snapshotPartitions": str(settings.spark_shuffle_partitions),
        # VACUUM lists the table folder in a job of this many tasks (Spark's default: 10,000, which cost
        # 80 s per VACUUM of a small table on 2 cores).
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": str(settings.spark_shuffle_partitions),
        # No .crc checksum file after each commit: computing it cost about a quarter of a stream batch's time on
        # 2 cores (5k trades, four commits: 23 s -> 18 s, measured); readers rebuild the state from the log.
        "spark.databricks.delta.writeChecksumFile.enabled": "false",
        # Delta: a bounded number of files per write, and statistics on every file so reads skip by min/max.
        "spark.databricks.delta.optimizeWrite.enabled": "false",
        "spark.sql.files.maxRecordsPerFile": str(settings.target_file_rows),
        # VACUUM may remove files younger than the default 7 days only when a user asks for it explicitly.
        "spark.databricks.delta.retentionDurationCheck.enabled": "true",
        # Object-store credentials must not show in plans, logs or the UI.
        "spark.sql.redaction.options.regex": "(?i)url|secret|token|key|password",
        "spark.redaction.regex": "(?i)secret|password|token|access.key",
    }
    conf.update(settings.hadoop_conf())
    return conf


def get_spark(settings: Settings, app_name: str = "pulselake") -> SparkSession:
    """Return the active session, or build one."""
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    # Executors must run the same interpreter (and so see the same packages) as the driver.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # Bind to loopback unless told otherwise: nothing we start listens on other interfaces.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName(app_name).master(settings.spark_master)
    for key, value in spark_conf(settings).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    check_delta_on_classpath(spark)
    return spark


# What a JVM must be started with: spark-submit cannot take these from the session builder, whose
# settings arrive after its driver JVM is up.
LAUNCH_KEYS = ("spark.driver.extraClassPath", "spark.executor.extraClassPath", "spark.sql.extensions",
               "spark.sql.catalog.spark_catalog", "spark.sql.session.timeZone", "spark.driver.extraJavaOptions",
               "spark.executor.extraJavaOptions", "spark.sql.parquet.outputTimestampType")


def properties_file(settings: Settings) -> str:
    """spark-defaults.conf lines for `spark-submit --properties-file`: the jars and Delta's extension."""
    conf = spark_conf(settings)
    return "".join(f"{key} {conf[key]}\n" for key in LAUNCH_KEYS)


def check_delta_on_classpath(spark: SparkSession) -> None:
    """A clear error, not a ClassNotFoundException deep in a write, when spark-submit lacked the jars."""
    try:
        spark._jvm.java.lang.Class.forName("io.delta.sql.DeltaSparkSessionExtension")
    except Exception:
        raise RuntimeError(
            "Delta Lake's classes are not on this Spark driver's class path. Start spark-submit with "
            "`--properties-file .jars/spark-defaults.conf` (written by `make setup`)."
        ) from None


if __name__ == "__main__":  # make setup: python -m jobs.resources.spark > .jars/spark-defaults.conf
    print(properties_file(Settings()), end="")


def open_lake(settings: Settings | None = None, *, spark: bool = True, app_name: str = "pulselake"):
    """The one way in: the lake `settings` name (default: PULSELAKE_* from the environment) on this process's
    shared Spark session; spark=False gives a lake for metadata and `read_small` only (no JVM)."""
    from jobs.resources.lake import Lake

    settings = settings or Settings()
    return Lake(get_spark(settings, app_name) if spark else None, settings)
