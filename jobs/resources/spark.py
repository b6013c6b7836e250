"""The Spark session: one per process, configured from Settings.

A session takes ~10 s to start, so everything (CLI, tests, DAG tasks) asks
for it here and shares it.
"""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

from jobs.settings import Settings


def get_spark(settings: Settings, app_name: str = "pulselake") -> SparkSession:
    """Return the active session, or build one. Registers the delta-rs data source."""
    active = SparkSession.getActiveSession()
    if active is not None:
        return _register(active)
    # Executors must run the same interpreter (and so see the same packages) as the driver.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # Bind to loopback unless told otherwise: nothing we start listens on other interfaces.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.appName(app_name)
        .master(settings.spark_master)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.ui.enabled", "true" if settings.spark_ui else "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.python.worker.reuse", "true")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        # Lake reads name their files (from the Delta log): stat them on the driver, no listing job.
        .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "100000")
        # Object-store credentials travel in data source options: keep them out of plans and the UI.
        .config("spark.sql.redaction.options.regex", "(?i)url|storage_options|secret|token|key")
    )
    if settings.lake_engine == "delta-spark":
        builder = (
            builder.config("spark.jars.packages", settings.delta_spark_package)
            .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
            .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return _register(spark)


def _register(spark: SparkSession) -> SparkSession:
    from jobs.resources.delta_bridge import DeltaRsDataSource

    spark.dataSource.register(DeltaRsDataSource)
    return spark
