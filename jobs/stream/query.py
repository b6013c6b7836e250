"""The streaming query: Spark's file source over the landing zone, one `process_batch` per trigger.

Spark's file source lists ``finnhub/trades/date=*/*.ndjson`` (finished files only:
the collector renames a file into its date folder when complete) and records in
the checkpoint which files make up each batch, so a batch replayed after a crash
gets the same files and the same batch id. Only the file paths flow through
Spark's source (the binaryFile format reads no content when only `path` is
selected); each batch reads its files with the nightly's own reader so line
numbers, and therefore record ids, match the batch path byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable

from pyspark.sql import DataFrame
from tenacity import Retrying, stop_after_attempt, wait_fixed
from pyspark.sql.streaming import StreamingQuery

from jobs.ingest.finnhub_ws import TRADES_STREAM
from jobs.ingest.landing import SUFFIX, landing_root, recover_orphans
from jobs.resources.lake import Lake
from jobs.stream.batch import BatchReport, StreamContext, process_batch
from jobs.stream.plan import PlanStore

_ATTEMPTS = 3
_BINARY_FILE_SCHEMA = "path STRING, modificationTime TIMESTAMP, length BIGINT, content BINARY"


@dataclass(frozen=True)
class StreamConfig:
    query_name: str = "trades_stream"
    trigger_seconds: float = 10.0
    available_now: bool = False  # take what has landed, then stop (catch-up runs and tests)
    max_files_per_trigger: int | None = None
    watermark: timedelta = timedelta(minutes=10)
    checkpoint: Path | None = None  # default: <lake_root>/_checkpoints/<query_name>


def checkpoint_dir(lake: Lake, config: StreamConfig) -> Path:
    if config.checkpoint is not None:
        return Path(config.checkpoint).resolve()
    return Path(lake.settings.lake_root.removeprefix("file://")) / "_checkpoints" / config.query_name


def _query_id(checkpoint: Path) -> str:
    """Spark's query id: written into the checkpoint when the query is first created, kept across restarts."""
    with (checkpoint / "metadata").open(encoding="utf-8") as handle:
        return json.loads(handle.readline())["id"]


def start_stream(lake: Lake, config: StreamConfig,
                 on_batch: Callable[[BatchReport], None] | None = None) -> StreamingQuery:
    """Start the query (it runs on Spark's stream thread); stop it with `.stop()`."""
    landing = landing_root(lake.settings)
    (landing / TRADES_STREAM).mkdir(parents=True, exist_ok=True)
    recover_orphans(landing, TRADES_STREAM)  # files a killed collector left unfinished become new files
    checkpoint = checkpoint_dir(lake, config)
    checkpoint.mkdir(parents=True, exist_ok=True)
    spark = lake.spark
    reader = spark.readStream.format("binaryFile").schema(_BINARY_FILE_SCHEMA)
    if config.max_files_per_trigger:
        reader = reader.option("maxFilesPerTrigger", str(config.max_files_per_trigger))
    files = reader.load(str(landing / TRADES_STREAM / "date=*" / f"*{SUFFIX}")).select("path")
    context: dict[str, StreamContext] = {}

    def each_batch(batch: DataFrame, batch_id: int) -> None:
        if "ctx" not in context:
            query_id = _query_id(checkpoint)
            context["ctx"] = StreamContext(
                app_id=f"stream.trades:{config.query_name}:{query_id}", landing=landing, plans=PlanStore(checkpoint),
                watermark=config.watermark, tag=f"stream-{config.query_name}-{query_id[:8]}",
            )
        uris = [row.path for row in batch.collect()]
        # The batch is idempotent and resumable, so a failed attempt (e.g. a commit conflict with a
        # concurrent `rebuild-bars` or nightly) is simply run again before the query gives up.
        report = Retrying(stop=stop_after_attempt(_ATTEMPTS), wait=wait_fixed(2), reraise=True)(
            process_batch, lake, context["ctx"], uris, batch_id)
        if on_batch is not None:
            on_batch(report)

    writer = (files.writeStream.queryName(config.query_name).option("checkpointLocation", str(checkpoint))
              .foreachBatch(each_batch))
    if config.available_now:
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=f"{int(config.trigger_seconds * 1000)} milliseconds")
    return writer.start()
