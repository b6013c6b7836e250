"""Kafka topic -> bronze with Spark's Kafka source: one code path for the nightly and the freshness stream.

A `TopicSink` names a topic, the bronze table it feeds and the function that
writes one batch of its records. `start_sink` runs it as a Structured Streaming
query over Spark's native Kafka source, either `Trigger.AvailableNow` (take
every record up to now, then stop: the nightly) or micro-batches on a timer
(the freshness stream). Both use one checkpoint per topic and table, so the
offsets Spark commits there are the single truth of what bronze has taken:
whichever path takes a record, it lands once. Each batch's writes carry the
Delta app transaction ``(kafka:<topic>-><table>, batch id + 1)``; a batch that
Spark replays after a crash (same offsets, same id) is skipped where it
committed. Two queries must never share a checkpoint at the same time, so each
holds a lock on it for as long as it runs (`CheckpointLock`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql.streaming import StreamingQuery

from pyspark.sql import functions as F

from jobs.ingest.checkpoint import Committed, OffsetGap, OffsetsGone, committed, gone_message, move_offsets, offset_gaps
from jobs.ingest.records import kafka_records, record_key
from jobs.resources.kafka_admin import end_offsets, ensure_topics
from jobs.resources.kafka import KafkaSettings, get_kafka_settings
from jobs.quality import REASON, to_quarantine
from jobs.resources.lake import Lake, Txn
from jobs.steps import StepReport, timed
from lake_schema.quarantine import QUARANTINE
from lake_schema.spec import TableSpec

class CheckpointBusy(RuntimeError):
    """Another query (the stream, or a nightly) is consuming into this checkpoint right now."""


@dataclass(frozen=True)
class TopicSink:
    """One topic into one bronze table. `write(lake, records, txn, batch_id)` writes a batch (with `txn` on every
    commit, so a replay is skipped) and returns its report (None for a batch without records); `parse(records)` gives the batch's bronze rows and
    its rejects (what `rebuild` re-derives)."""

    topic: str
    table: TableSpec
    write: Callable[[Lake, DataFrame, Txn, int], StepReport | None]
    parse: Callable[[DataFrame], tuple[DataFrame, DataFrame]]
    max_records_per_batch: int | None = None  # a bound for a sink whose batch the driver collects

    @property
    def name(self) -> str:
        return f"{self.topic}__{self.table.name}"

    @property
    def app_id(self) -> str:
        return f"kafka:{self.topic}->{self.table.name}"


def parsed_sink(topic: str, table: TableSpec, parse: Callable[[DataFrame], tuple[DataFrame, DataFrame]]) -> TopicSink:
    """A sink whose batch parses its records (`parse` -> rows, rejects with reason and detail), quarantines the
    rejects with their raw value and Kafka coordinates, and appends the rows; both commits carry the batch's txn."""

    def write(lake: Lake, records: DataFrame, txn: Txn, batch_id: int) -> StepReport | None:
        report = StepReport(f"{topic} batch {batch_id}")
        records = records.cache()
        try:
            if records.isEmpty():  # offsets moved without a record (transaction markers): no commits
                return None
            rows, rejected = parse(records)
            counts = {r[REASON]: r["count"] for r in rejected.groupBy(REASON).count().collect()}
            if counts:
                report.add_quarantine(counts)
                shaped = to_quarantine(rejected.withColumn("ingest_date", F.to_date("received_at")), target=table,
                                       batch=F.lit(f"{txn.app_id}:{txn.version:06d}"), record_columns=["value"],
                                       record_key=record_key())
                report.add_written(lake.append(QUARANTINE, shaped, txn=txn))
            result = lake.append(table, rows, txn=txn)
            report.add_written(result)
            if result.skipped:
                report.skipped.append(f"{table.name} batch {batch_id} (a replay)")
        finally:
            records.unpersist()
        return report

    return TopicSink(topic, table, write, parse)


def checkpoint_location(lake: Lake, sink: TopicSink) -> str:
    return f"{lake.settings.lake_root.rstrip('/')}/_checkpoints/kafka/{sink.name}"


class CheckpointLock:
    """An exclusive `flock` for one checkpoint, held while a query consumes into it.

    The lock file lives beside a local lake's checkpoints, else in ~/.cache/pulselake/locks (remote lakes:
    it then guards the queries of one machine; run the stream and the nightly on the same host)."""

    def __init__(self, lake: Lake, sink: TopicSink) -> None:
        location = checkpoint_location(lake, sink)
        if lake.settings.lake_is_local:
            self.path = Path(location.removeprefix("file://") + ".lock")
        else:
            digest = hashlib.sha256(location.encode()).hexdigest()[:16]
            self.path = Path.home() / ".cache" / "pulselake" / "locks" / f"{sink.name}-{digest}.lock"
        self.location = location
        self._handle = None

    def acquire(self, wait_s: float = 0.0) -> "CheckpointLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    handle.close()
                    raise CheckpointBusy(f"{self.location} is in use by {holder}; one query at a time consumes "
                                         "into a checkpoint (stop the stream, or let the nightly finish)") from None
                time.sleep(0.5)
        handle.truncate(0)
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # drops the lock
            self._handle = None

    def __enter__(self) -> "CheckpointLock":
        return self if self._handle is not None else self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def start_sink(lake: Lake, sink: TopicSink, *, available_now: bool, trigger_seconds: float = 5.0,
               max_offsets_per_trigger: int | None = None, kafka: KafkaSettings | None = None,
               on_batch: Callable[[int, StepReport], None] | None = None) -> StreamingQuery:
    """Start the query on Spark's stream thread (the caller holds the checkpoint's lock)."""
    kafka = kafka or get_kafka_settings()
    ensure_topics(kafka.client_config(), [kafka.topic(sink.topic)], partitions=kafka.partitions)
    check_offsets(lake, sink, kafka)
    reader = (lake.spark.readStream.format("kafka").options(**kafka.spark_options())
              .option("subscribe", kafka.topic(sink.topic)).option("startingOffsets", "earliest").option("includeHeaders", "true"))
    limit = max_offsets_per_trigger or sink.max_records_per_batch
    if limit:
        reader = reader.option("maxOffsetsPerTrigger", str(limit))
    lake.ensure(sink.table)
    lake.ensure(QUARANTINE)  # where a batch's rejects go: there, empty, before the first one is refused

    def each_batch(batch: DataFrame, batch_id: int) -> None:
        report = sink.write(lake, kafka_records(batch), Txn(sink.app_id, batch_id + 1), batch_id)
        if report is not None and on_batch is not None:
            on_batch(batch_id, report)

    writer = (reader.load().writeStream.queryName(sink.name.replace(".", "_"))
              .option("checkpointLocation", checkpoint_location(lake, sink)).foreachBatch(each_batch))
    if available_now:
        return writer.trigger(availableNow=True).start()
    return writer.trigger(processingTime=f"{int(trigger_seconds * 1000)} milliseconds").start()


def check_offsets(lake: Lake, sink: TopicSink, kafka: KafkaSettings) -> None:
    """Raise OffsetsGone (one line: which partitions, which offsets, the command that recovers) when the broker no
    longer holds what the checkpoint would read next, instead of Spark's data-loss stack trace."""
    _, gaps = _offset_gaps(lake, sink, kafka)
    if gaps:
        raise OffsetsGone(gone_message(sink.table.name, gaps))


def _offset_gaps(lake: Lake, sink: TopicSink, kafka: KafkaSettings) -> tuple[Committed | None, list[OffsetGap]]:
    """(what the sink's checkpoint committed, the partitions whose next offset the broker cannot serve)."""
    taken = committed(checkpoint_location(lake, sink), lake.settings.storage_options)
    if taken is None:
        return None, []
    return taken, offset_gaps(taken, end_offsets(kafka.client_config(), kafka.topic(sink.topic)))


@timed
def take(lake: Lake, *sinks: TopicSink, kafka: KafkaSettings | None = None, wait_s: float = 0.0) -> StepReport:
    """Everything the topics hold that bronze has not taken yet, then stop (`Trigger.AvailableNow`). Several
    sinks run as concurrent queries: each query's start-up (~5 s on 2 cores) is paid once, not per topic. Their
    batches then run side by side in one session, so a sink taken with others must not write through session-wide
    settings (a MERGE's txn conf): parsed sinks only append, with per-write options."""
    # One report per sink: foreachBatch calls of concurrent queries arrive on different threads.
    reports = {sink.name: StepReport(f"bronze: {sink.topic} -> {sink.table.name}") for sink in sinks}
    batches = dict.fromkeys(reports, 0)

    def merge(sink: TopicSink, _: int, batch: StepReport) -> None:
        batches[sink.name] += 1
        reports[sink.name].merge(batch)

    with ExitStack() as held:
        for sink in sinks:
            held.enter_context(CheckpointLock(lake, sink).acquire(wait_s))
        queries: list[StreamingQuery] = []
        try:
            for sink in sinks:
                queries.append(start_sink(lake, sink, available_now=True, kafka=kafka, on_batch=partial(merge, sink)))
            for query in queries:
                query.awaitTermination()
        finally:
            for query in queries:  # one failed: the others must not outlive this call (nor its locks)
                if query.isActive:
                    query.stop()
    report = StepReport(reports[sinks[0].name].step if len(sinks) == 1 else "bronze: " + ", ".join(s.topic for s in sinks))
    for sink in sinks:
        report.merge(reports[sink.name])
        report.notes.append(f"{sink.topic}: {batches[sink.name]} batches" if batches[sink.name] else f"{sink.topic}: nothing new")
    return report


@timed
def rebuild(lake: Lake, sink: TopicSink, start: datetime, end: datetime, kafka: KafkaSettings | None = None) -> StepReport:
    """Re-derive the sink's bronze rows from the records the topic retains with a timestamp in [start, end), and
    merge them in on `record_id`: rows that were lost come back, rows that are there stay as they are. Idempotent;
    the checkpoint is not touched, so the regular consumers go on where they were."""
    kafka = kafka or get_kafka_settings()
    report = StepReport(f"rebuild {sink.table.name} from {sink.topic}, {start} .. {end}")
    millis = [str(int(t.timestamp() * 1000)) for t in (start, end)]
    raw = (lake.spark.read.format("kafka").options(**kafka.spark_options()).option("subscribe", kafka.topic(sink.topic))
           .option("startingTimestamp", millis[0]).option("startingOffsetsByTimestampStrategy", "latest")
           .option("endingTimestamp", millis[1]).option("includeHeaders", "true").load()
           .where((F.col("timestamp") >= F.lit(start)) & (F.col("timestamp") < F.lit(end))))
    rows, _ = sink.parse(kafka_records(raw))
    rows = rows.cache()
    try:
        if rows.isEmpty():
            report.notes.append("the topic retains no records in that range")
        else:
            before = lake.row_count(sink.table)
            lake.merge(sink.table, rows)
            report.tables[sink.table.name] = lake.row_count(sink.table) - before
            report.notes.append(f"{rows.count():,} rows re-derived, {report.tables[sink.table.name]:,} of them were missing")
    finally:
        rows.unpersist()
    return report


GONE = "kafka_records_gone"  # the quarantine reason of a gap `reset_offsets` moved the checkpoint past


def reset_offsets(lake: Lake, sink: TopicSink, kafka: KafkaSettings | None = None) -> StepReport:
    """Move the sink's checkpoint past offsets the broker no longer holds, after recording each gap in
    bronze.quarantine (reason kafka_records_gone, one row per partition: topic, partition, offset range,
    records). The rows carry an app transaction keyed on the checkpoint's batch, so a rerun after a crash between
    the two records nothing twice. Holds the checkpoint's lock."""
    kafka = kafka or get_kafka_settings()
    report = StepReport(f"reset offsets of {sink.topic} -> {sink.table.name}")
    location = checkpoint_location(lake, sink)
    with CheckpointLock(lake, sink).acquire(0.0):
        taken, gaps = _offset_gaps(lake, sink, kafka)
        if not gaps:
            report.notes.append("the broker holds every offset the checkpoint reads next: nothing to move")
            return report
        now, txn = datetime.now(timezone.utc), Txn(f"{sink.app_id}-reset-offsets", taken.batch + 1)
        rows = pa.Table.from_pylist([_gap_row(gap, sink, txn, now) for gap in gaps])
        report.add_written(lake.append_rows(QUARANTINE, rows, txn=txn))
        batch = move_offsets(location, taken, gaps, lake.settings.storage_options)
    report.notes.extend(gap.describe() for gap in gaps)
    report.notes.append(f"checkpoint moved to what the broker holds (batch {batch}); each gap is a {GONE} row "
                        f"in {QUARANTINE.name}")
    return report


def _gap_row(gap: OffsetGap, sink: TopicSink, txn: Txn, now: datetime) -> dict:
    """A bronze.quarantine row for a gap: the offsets gone, as the record that never arrived."""
    record = {"topic": gap.topic, "partition": gap.partition, "from_offset": gap.taken_to,
              "to_offset": gap.broker_first if gap.cause == "retention" else None, "records": gap.records,
              "cause": gap.cause, "broker_first": gap.broker_first, "broker_next": gap.broker_next,
              "recorded_at": now.isoformat()}
    return {"quarantine_batch": f"{sink.table.name}__{txn.app_id}:{txn.version:06d}", "target_table": sink.table.name,
            "reason": GONE, "detail": f"{gap.cause}: {gap.describe()}", "record_key": None, "record": json.dumps(record),
            "source_file": None, "line_number": None, "kafka_topic": gap.topic, "kafka_partition": gap.partition,
            "kafka_offset": gap.taken_to, "ingest_date": now.date()}
