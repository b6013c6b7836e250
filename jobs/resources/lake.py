"""Lake I/O: the only way jobs read and write tables, on Spark's native Delta Lake (delta-spark).

Every operation takes a `lake_schema` TableSpec, so the schema, partitioning
and merge key come from one place. Operations:

* ``read(spec, where=..., version=..., filters=...)`` — a Spark DataFrame of one table
  version; `where` prunes partitions, `filters` are row filters Delta also uses to skip files.
* ``read_small(spec, ...)`` — pandas via delta-rs, no Spark, for dashboards and notebooks;
  refuses selections the Delta log counts over a limit.
* ``append(spec, df, txn=...)`` — add rows.
* ``overwrite(spec, df, where=...)`` — replace exactly one partition range (Delta's
  replaceWhere; rows outside the range are refused by Delta).
* ``merge(spec, df)`` — ``MERGE INTO`` on the spec's merge key, the source winning.
* ``read_rows`` / ``append_rows`` / ``merge_rows`` — the same on Arrow tables through delta-rs, no Spark job:
  for small, frequent writes (the stream's micro-batches), where a Spark commit's fixed cost dominates. Rows
  written this way must already have passed the spec's rules in the Spark plan they were collected from.
* ``optimize(spec)`` / ``vacuum(spec)`` — Delta's compaction and removal of unreferenced files.
* Every write of a table whose spec declares "quarantine" rules applies them first (`jobs.quality.enforce_rules`):
  only passing rows reach the table; failing ones replace their batches of ``bronze.quarantine``
  ("<table>__<partition value>") and are counted in ``CommitResult.quarantined``. No writer can skip a rule.
* ``txn=Txn(app_id, version)`` makes any write idempotent with Delta's own app transactions
  (``txnAppId``/``txnVersion`` for DataFrame writes, the session's
  ``spark.databricks.delta.write.txnAppId``/``txnVersion`` for MERGE): a retried task whose
  transaction is already in the log writes nothing.

Writers on S3: one process at a time (`jobs.resources.s3_writer` claims the lake on its first write).

Concurrent writers: Delta's optimistic concurrency checks each commit against those
that landed since the write read the table. A write that loses (ConcurrentAppendException
and its siblings) is re-planned and re-run up to `commit_attempts` times, then raises
`ConcurrentWriteError`. Re-running is safe because every write here is a pure function of
its DataFrame: an overwrite's `df` is re-executed as given, so a read-modify-write of one
table belongs in `merge`, which Delta re-reads itself.

Metadata questions (the current version, an app transaction's version, row counts, the
commit a write made) are answered by delta-rs from the same log without a Spark job; tables
are created with properties that keep them readable by it (see TABLE_PROPERTIES).
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from delta.exceptions import (
    ConcurrentAppendException,
    ConcurrentDeleteDeleteException,
    ConcurrentDeleteReadException,
    ConcurrentTransactionException,
    ConcurrentWriteException,
    MetadataChangedException,
    ProtocolChangedException,
)
from delta.tables import DeltaTable as SparkDeltaTable
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from jobs.quality import RuleSplit, enforce_rules, has_rules
from jobs.resources.s3_writer import claim_writer
from jobs.resources.settings import Settings
from lake_schema.quarantine import QUARANTINE
from lake_schema.spec import TableSpec

if TYPE_CHECKING:
    import pandas as pd

PartitionFilter = tuple[str, str, Any]
# read_small's default ceiling: gold tables a dashboard shows (predictions, runs, daily sentiment)
# stay well below it; anything bigger belongs in Spark.
SMALL_TABLE_ROWS = 2_000_000
# How many times a write that lost to concurrent commits is re-planned before it gives up.
COMMIT_ATTEMPTS = 5
# How far back in a table's history a write looks for the commit it made.
_HISTORY_DEPTH = 50
# Delta's conflicts that a re-planned attempt can resolve (a concurrent table creation included).
CONFLICTS = (
    ConcurrentAppendException,
    ConcurrentDeleteReadException,
    ConcurrentDeleteDeleteException,
    ConcurrentTransactionException,
    ConcurrentWriteException,
    MetadataChangedException,
    ProtocolChangedException,
)
# Every table is created with these, so delta-rs (dashboard, notebooks) can read what Spark writes:
# no deletion vectors, no type widening, no column mapping, no row tracking, classic checkpoints.
TABLE_PROPERTIES = {
    "delta.enableDeletionVectors": "false",
    "delta.enableTypeWidening": "false",
    "delta.enableRowTracking": "false",
    "delta.enableChangeDataFeed": "false",
    "delta.columnMapping.mode": "none",
    "delta.checkpointPolicy": "classic",
}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Txn:
    """A Delta app transaction: `version` is recorded under `app_id`; a write whose
    version is not above the recorded one is skipped."""

    app_id: str
    version: int = 1


class ConcurrentWriteError(RuntimeError):
    """A write lost to concurrent commits on every one of its attempts."""


@dataclass(frozen=True)
class CommitResult:
    table: str
    operation: str
    version: int | None
    rows: int
    skipped: bool = False
    attempts: int = 1  # more than 1: concurrent commits made it re-plan
    # reason -> rows this write sent to bronze.quarantine instead of the table (`rows` counts only the table's)
    quarantined: dict[str, int] = field(default_factory=dict, hash=False)
    warnings: dict[str, int] = field(default_factory=dict, hash=False)  # warn rule -> rows written that break it


@dataclass
class Touched:
    """The names of the tables a lake was asked to read and to write (whether or not a commit followed)."""

    read: set[str] = field(default_factory=set)
    written: set[str] = field(default_factory=set)

    def clear(self) -> None:
        self.read.clear()
        self.written.clear()


class Lake:
    def __init__(self, spark: SparkSession | None, settings: Settings, commit_attempts: int = COMMIT_ATTEMPTS) -> None:
        """`spark` may be None for a reader that only calls read_small and the metadata methods (a dashboard)."""
        self.spark = spark
        self.settings = settings
        self.commit_attempts = commit_attempts
        self._ensured: set[TableSpec] = set()  # specs checked against the table on disk
        self.touched = Touched()  # the tables read and written, for checking steps against their declarations
        self._pins = threading.local()  # per thread: {table: version} of an open `pinned` block
        if spark is not None:  # this lake's object-store settings, for a session built for another lake
            for key, value in settings.hadoop_conf().items():
                spark.conf.set(key.removeprefix("spark.hadoop."), value)

    # ------------------------------------------------------------ tables ---

    def uri(self, spec: TableSpec) -> str:
        return "/".join([self.settings.lake_root.rstrip("/"), spec.layer, spec.short_name])

    def ensure(self, spec: TableSpec) -> None:
        """Create the table from its spec (schema, partitioning, description, properties) if it is missing."""
        if spec in self._ensured:
            return
        if SparkDeltaTable.isDeltaTable(self.spark, self.uri(spec)):
            self._check_schema(spec)
            self._ensured.add(spec)
            return
        claim_writer(self.settings)
        for attempt in range(1, self.commit_attempts + 1):
            try:
                builder = (
                    SparkDeltaTable.createIfNotExists(self.spark)
                    .location(self.uri(spec))
                    .addColumns(StructType.fromDDL(spec.spark_ddl()))
                    .partitionedBy(*spec.partition_by)
                    .comment(spec.description)
                )
                for name, value in TABLE_PROPERTIES.items():
                    builder = builder.property(name, value)
                builder.execute()
                break
            except CONFLICTS:  # another process created it at the same moment
                if attempt == self.commit_attempts:
                    raise
        self._ensured.add(spec)

    def _check_schema(self, spec: TableSpec) -> None:
        """A table on disk must have exactly the spec's columns: a clear error beats a confusing write failure.
        Columns the spec added since, all nullable, are added to the table (Delta's ADD COLUMNS; older rows read
        NULL), so a registry or a table of facts survives a new optional column."""
        on_disk = {f.name: f.dataType.simpleString() for f in SparkDeltaTable.forPath(self.spark, self.uri(spec)).toDF().schema}
        declared = {f.name: f.dataType.simpleString() for f in StructType.fromDDL(spec.spark_ddl())}
        missing = [c for c in declared if c not in on_disk]
        extra = [c for c in on_disk if c not in declared]
        if missing and not extra and all(spec.column(c).nullable for c in missing):
            claim_writer(self.settings)
            columns = ", ".join(f"`{c}` {declared[c]}" for c in missing)
            self.spark.sql(f"ALTER TABLE delta.`{self.uri(spec)}` ADD COLUMNS ({columns})")
            log.info("%s: added the columns lake_schema declares since it was created: %s", spec.name, missing)
            on_disk.update({c: declared[c] for c in missing})
            missing = []
        if missing or extra:
            raise ValueError(f"the table at {self.uri(spec)} disagrees with lake_schema {spec.name}: it lacks columns "
                             f"{missing} and has undeclared columns {extra}")
        retyped = [f"{c} is {on_disk[c]} there, {declared[c]} in lake_schema" for c in declared if on_disk[c] != declared[c]]
        if retyped:
            raise ValueError(f"the table at {self.uri(spec)} disagrees with lake_schema {spec.name}: "
                             f"{'; '.join(retyped)}. Rebuild it from its sources (drop the table's folder and rerun "
                             "the steps that write it).")

    def exists(self, spec: TableSpec) -> bool:
        return DeltaTable.is_deltatable(self.uri(spec), storage_options=self._storage_options())

    def delta_table(self, spec: TableSpec, version: int | None = None) -> DeltaTable:
        """The table's log through delta-rs (no Spark job): versions, app transactions, file statistics."""
        if self.spark is not None:
            self.ensure(spec)
        return DeltaTable(self.uri(spec), version=version, storage_options=self._storage_options())

    def version(self, spec: TableSpec) -> int:
        return self.delta_table(spec).version()

    def missing_files(self, spec: TableSpec, version: int) -> int:
        """How many data files of `version` are gone (VACUUM deleted them): 0 means it can still be read by time
        travel. Raises when the version's log entry itself is gone."""
        from urllib.parse import unquote

        import pyarrow.fs as pafs

        from jobs.resources.storage import arrow_filesystem

        actions = self._add_actions(DeltaTable(self.uri(spec), version=version, storage_options=self._storage_options()))
        if not actions.num_rows:
            return 0
        fs, root = arrow_filesystem(self.uri(spec), self.settings.storage_options)
        # one filesystem for the table; the log's paths are relative to its root (and URL-encoded, as Delta writes them)
        paths = [f"{root.rstrip('/')}/{unquote(name)}" for name in actions.column("path").to_pylist()]
        return sum(info.type == pafs.FileType.NotFound for info in fs.get_file_info(paths))

    def commit_time(self, spec: TableSpec, version: int):
        """When `version` was committed (UTC), from the Delta log."""
        from datetime import datetime, timezone

        for entry in self.delta_table(spec).history():
            if entry.get("version") == version:
                return datetime.fromtimestamp(entry["timestamp"] / 1000, timezone.utc)
        raise ValueError(f"{spec.name} has no version {version} in its log history")

    def partition_values(self, spec: TableSpec, column: str | None = None) -> list:
        """The values of a partition column (default the first) among the table's live files, sorted, from the
        Delta log alone (no data read); [] for a missing or empty table."""
        column = column or spec.partition_by[0]
        if column not in spec.partition_by:
            raise ValueError(f"{spec.name} is not partitioned by {column!r} (it is by {list(spec.partition_by)})")
        if not self.exists(spec):
            return []
        actions = pa.table(self.delta_table(spec).get_add_actions(flatten=True))
        return sorted(pc.unique(actions.column(f"partition.{column}")).to_pylist()) if actions.num_rows else []

    def newest_partition(self, spec: TableSpec, column: str | None = None):
        """The largest value of a partition column among the table's live files; None for an empty table."""
        values = self.partition_values(spec, column)
        return values[-1] if values else None

    def txn_version(self, spec: TableSpec, app_id: str) -> int | None:
        return self.delta_table(spec).transaction_version(app_id)

    def row_count(self, spec: TableSpec) -> int:
        """Live rows, from the log's per-file statistics (no data scan)."""
        if not self.exists(spec):
            return 0
        actions = self._add_actions(DeltaTable(self.uri(spec), storage_options=self._storage_options()))
        return int(pc.sum(actions.column("num_records")).as_py() or 0) if actions.num_rows else 0

    # -------------------------------------------------------------- read ---

    def read(
        self,
        spec: TableSpec,
        where: Sequence[PartitionFilter] | None = None,
        version: int | None = None,
        filters: Sequence[PartitionFilter] | None = None,
    ) -> DataFrame:
        """Rows of one table version (the latest unless `version` names one). `where` prunes partitions; `filters` are row filters on any
        column (same tuple form) that Delta also uses to skip files by their min/max statistics."""
        self._check_partition_filters(spec, where)
        for column, _, _ in filters or []:
            spec.column(column)  # a clear error for a typo
        self.touched.read.add(spec.name)
        self.ensure(spec)
        # Always one pinned version: Spark re-runs a cached plan whose path a later write touches, and an
        # unpinned plan would then see that write (a read, a cache, a write, then the cache, changes meaning).
        # Inside a `pinned` block a table is read at the version the block holds for it.
        pins = getattr(self._pins, "versions", None)
        if version is None and pins is not None:
            if spec.name not in pins:
                pins[spec.name] = self.version(spec)
            version = pins[spec.name]
        pinned = self.version(spec) if version is None else version
        df = self.spark.read.format("delta").option("versionAsOf", pinned).load(self.uri(spec)).select(*spec.column_names)
        conditions = [*(where or []), *(filters or [])]
        return df.where(filters_to_sql(conditions)) if conditions else df

    @contextmanager
    def pinned(self, versions: Mapping[str, int] | None = None) -> Iterator[dict[str, int]]:
        """Within the block (this thread), every `read` of a table uses one version: the one `versions` names,
        else the version it first read; yields that {table: version} record as it fills. A model run keeps it, so
        `pulselake models reproduce` can read exactly the same data again by time travel."""
        outer = getattr(self._pins, "versions", None)
        record: dict[str, int] = dict(versions or {})
        self._pins.versions = record
        try:
            yield record
        finally:
            self._pins.versions = outer

    def read_small(
        self,
        spec: TableSpec,
        where: Sequence[PartitionFilter] | None = None,
        columns: Sequence[str] | None = None,
        filters: Sequence[PartitionFilter] | None = None,
        max_rows: int = SMALL_TABLE_ROWS,
    ) -> "pd.DataFrame":
        """A small table (or a few partitions of one) as pandas, read by delta-rs without Spark:
        for dashboards and notebooks, where a JVM per page view is too heavy. "Small" is proven,
        not assumed: the Delta log's row counts of the partitions `where` selects must not exceed
        `max_rows`, else it raises. `filters` are row filters on any column, pushed into the
        Parquet scan. A table that does not exist yet reads as empty (a reader never creates tables)."""
        self._check_partition_filters(spec, where)
        version = None
        if self.exists(spec):
            table = DeltaTable(self.uri(spec), storage_options=self._storage_options())
            actions = self._files(table, spec, where)
            counts = actions.column("num_records") if actions.num_rows else pa.array([], pa.int64())
            rows = max_rows + 1 if counts.null_count else int(pc.sum(counts).as_py() or 0)  # no stats: not provably small
            if rows > max_rows:
                raise ValueError(
                    f"{spec.name}: {rows:,} rows selected, over read_small's limit of {max_rows:,}; use Lake.read (Spark)"
                )
            version = table.version()
        return self.read_rows(spec, where, filters, columns, version=version).to_pandas()

    # ------------------------------------------------------------- write ---

    def append(self, spec: TableSpec, df: DataFrame, txn: Txn | None = None, token: str | None = None) -> CommitResult:
        """Add rows. `token` names the commit (its userMetadata) so a caller can find it later;
        by default each write gets a fresh one."""
        self.touched.written.add(spec.name)
        split = self._split(spec, df, txn)
        if split is None:
            return CommitResult(spec.name, "append", None, 0, skipped=True)
        try:
            self._quarantine(split)
            result = self._retrying(spec, "append", lambda: self._write(spec, split.passed, "append", None, txn, token))
        finally:
            split.release()
        return replace(result, quarantined=split.counts, warnings=split.warnings)

    def overwrite(
        self, spec: TableSpec, df: DataFrame, where: Sequence[PartitionFilter] | None = None, txn: Txn | None = None
    ) -> CommitResult:
        """Replace the rows in `where` (partition filters) with `df`; the whole table when `where` is None.
        Delta refuses rows of `df` outside `where`."""
        self.touched.written.add(spec.name)
        self._check_partition_filters(spec, where)
        where_list = list(where) if where else None
        split = self._split(spec, df, txn)
        if split is None:
            return CommitResult(spec.name, "overwrite", None, 0, skipped=True)
        try:
            self._quarantine(split)
            result = self._retrying(spec, "overwrite",
                                    lambda: self._write(spec, split.passed, "overwrite", where_list, txn),
                                    replannable=lambda: not self._reads_table(df, spec))
        finally:
            split.release()
        return replace(result, quarantined=split.counts, warnings=split.warnings)

    def merge(self, spec: TableSpec, df: DataFrame, txn: Txn | None = None) -> CommitResult:
        """Upsert `df` on the spec's merge key; the source wins where keys collide."""
        self.touched.written.add(spec.name)
        if not spec.merge_key:
            raise ValueError(f"{spec.name} declares no merge key in lake_schema")
        key = list(spec.merge_key)
        claim_writer(self.settings)
        self.ensure(spec)
        if self._skip(spec, txn):
            return CommitResult(spec.name, "merge", None, 0, skipped=True)
        split = self._rules(spec, df)
        try:
            source = self._conform(spec, split.passed)
            duplicated = source.groupBy(*key).count().where("count > 1").limit(1).collect()
            if duplicated:
                raise ValueError(f"merge into {spec.name}: the source repeats key {duplicated[0].asDict()}")
            self._quarantine(split)
            condition = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in key)
            # Naming the touched partitions lets Delta skip the others and lets merges into disjoint
            # partitions commit side by side instead of conflicting.
            pruned = [p for p in spec.partition_by if p not in key]
            for column in pruned:
                touched = [row[0] for row in source.select(column).distinct().collect()]
                if not touched:
                    return CommitResult(spec.name, "merge", None, 0, skipped=True, quarantined=split.counts,
                                        warnings=split.warnings)
                condition += " AND " + filters_to_sql([(column, "in", touched)], alias="t")
            result = self._retrying(spec, "merge", lambda: self._merge_once(spec, source, condition, txn))
        finally:
            split.release()
        return replace(result, quarantined=split.counts, warnings=split.warnings)

    def _merge_once(self, spec: TableSpec, source: DataFrame, condition: str, txn: Txn | None) -> CommitResult:
        if self._skip(spec, txn):
            return CommitResult(spec.name, "merge", None, 0, skipped=True)
        token = uuid.uuid4().hex
        confs = {"spark.databricks.delta.commitInfo.userMetadata": token}
        if txn:
            confs |= {"spark.databricks.delta.write.txnAppId": txn.app_id,
                      "spark.databricks.delta.write.txnVersion": str(txn.version)}
        for name, value in confs.items():
            self.spark.conf.set(name, value)
        try:
            (
                SparkDeltaTable.forPath(self.spark, self.uri(spec)).alias("t")
                .merge(source.alias("s"), condition)
                .whenMatchedUpdateAll()
                .whenNotMatchedInsertAll()
                .execute()
            )
        finally:
            for name in confs:
                self.spark.conf.unset(name)
        return self._result_of(spec, "merge", token)

    def _write(
        self, spec: TableSpec, df: DataFrame, mode: str, where: list[PartitionFilter] | None, txn: Txn | None,
        token: str | None = None,
    ) -> CommitResult:
        """One write attempt: one Delta commit, found again afterwards by its token."""
        claim_writer(self.settings)
        self.ensure(spec)
        if self._skip(spec, txn):
            return CommitResult(spec.name, mode, None, 0, skipped=True)
        data = self._conform(spec, df)
        if spec.partition_by:  # one task per partition value: one file per partition per write
            data = data.repartition(*spec.partition_by)
        token = token or uuid.uuid4().hex
        writer = data.write.format("delta").mode(mode).option("userMetadata", token)
        if where:
            writer = writer.option("replaceWhere", filters_to_sql(where))
        if txn:
            writer = writer.option("txnAppId", txn.app_id).option("txnVersion", str(txn.version))
        writer.save(self.uri(spec))
        return self._result_of(spec, mode, token)

    def find_commit(self, spec: TableSpec, token: str, depth: int = _HISTORY_DEPTH) -> dict | None:
        """The commit (Delta commitInfo) whose userMetadata is `token`, among the newest `depth`. A writer's
        own commit is almost always the newest, so that one is read first and the rest only if it is not."""
        table = DeltaTable(self.uri(spec), storage_options=self._storage_options())
        for limit in (1, depth):
            commit = next((entry for entry in table.history(limit) if entry.get("userMetadata") == token), None)
            if commit is not None:
                return commit
        return None

    def _result_of(self, spec: TableSpec, operation: str, token: str, rows: int | None = None) -> CommitResult:
        """The commit `token` names; its row count from Delta's metrics unless the caller knows it (`rows`)."""
        commit = self.find_commit(spec, token)
        if commit is None:  # Delta skipped it: the app transaction was already in the log
            return CommitResult(spec.name, operation, None, 0, skipped=True)
        if rows is None:
            metrics = commit.get("operationMetrics") or {}
            counted = ("numTargetRowsInserted", "numTargetRowsUpdated") if operation == "merge" else ("numOutputRows",)
            rows = sum(int(metrics.get(name, 0)) for name in counted)
        return CommitResult(spec.name, operation, int(commit["version"]), rows)

    def _retrying(self, spec: TableSpec, operation: str, attempt: Callable[[], CommitResult],
                  replannable: Callable[[], bool] = lambda: True) -> CommitResult:
        """Run a write; when Delta reports a conflicting concurrent commit, run it again from a fresh read,
        unless `replannable` says running it again is unsafe: then a clear error."""
        for number in range(1, self.commit_attempts + 1):
            try:
                return replace(attempt(), attempts=number)
            except CONFLICTS as exc:
                if not replannable():
                    raise ConcurrentWriteError(
                        f"{operation} into {spec.name} lost to a concurrent commit ({type(exc).__name__}) and is not "
                        "re-run: its data was computed from the table it replaces, so running it again would drop "
                        "what that commit wrote. Write it as a merge, or serialise the writers of this table."
                    ) from exc
                if number == self.commit_attempts:
                    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    raise ConcurrentWriteError(
                        f"{operation} into {spec.name} lost to concurrent commits {number} times in a row; "
                        f"nothing of it was committed. Retry later or serialise the writers of this table. "
                        f"Last conflict: {type(exc).__name__}: {reason}"
                    ) from exc
                log.warning("%s into %s conflicted with a concurrent commit (%s, attempt %d of %d); re-planning",
                            operation, spec.name, type(exc).__name__, number, self.commit_attempts)
                time.sleep(random.uniform(0.05, 0.25) * number)
        raise AssertionError("unreachable")

    # ------------------------------------------------- Arrow, by delta-rs ---
    # A Spark write that records an app transaction costs ~1.3 s on 2 cores (Delta rebuilds the table's whole
    # state to read the recorded transactions); delta-rs appends the same rows in ~20 ms. These serve batches
    # small enough to collect: the stream's.

    def read_rows(self, spec: TableSpec, where: Sequence[PartitionFilter] | None = None,
                  filters: Sequence[PartitionFilter] | None = None, columns: Sequence[str] | None = None,
                  version: int | None = None) -> pa.Table:
        """Rows of one table version as Arrow, read by delta-rs (files skipped by partition and min/max).
        Unbounded: the caller's `where` and `filters` keep it small."""
        self.touched.read.add(spec.name)
        self._check_partition_filters(spec, where)
        wanted = list(columns) if columns else spec.column_names
        for column in [*wanted, *(c for c, _, _ in filters or [])]:
            spec.column(column)  # a clear error for a typo
        schema = pa.schema([spec.arrow_schema().field(c) for c in wanted])
        if not self.exists(spec):
            return schema.empty_table()
        table = DeltaTable(self.uri(spec), version=version, storage_options=self._storage_options())
        conjunction = [tuple(f) for f in [*(where or []), *(filters or [])]]
        return table.to_pyarrow_table(filters=conjunction or None, columns=wanted).select(wanted).cast(schema)

    def append_rows(self, spec: TableSpec, rows: pa.Table, txn: Txn | None = None, token: str | None = None,
                    judged: bool = False) -> CommitResult:
        """Add an Arrow table's rows in one delta-rs commit (with `txn`'s app transaction: skipped when it is
        already recorded). No rows, no commit. `judged`: the rows passed `spec`'s rules where they were computed."""
        self.touched.written.add(spec.name)
        data = self._arrow_rows(spec, rows, judged)
        if self._skip(spec, txn):
            return CommitResult(spec.name, "append", None, 0, skipped=True)
        if not data.num_rows:
            return CommitResult(spec.name, "append", None, 0)
        token = token or uuid.uuid4().hex
        write_deltalake(self.uri(spec), data, mode="append", storage_options=self._storage_options(writing=True),
                        commit_properties=self._commit_properties(token, txn))
        return self._result_of(spec, "append", token, rows=data.num_rows)

    def merge_rows(self, spec: TableSpec, rows: pa.Table, txn: Txn | None = None, judged: bool = False) -> CommitResult:
        """Upsert an Arrow table on the spec's merge key in one delta-rs MERGE (only the partitions its rows
        fall in are read); the source wins. No rows, no commit."""
        self.touched.written.add(spec.name)
        if not spec.merge_key:
            raise ValueError(f"{spec.name} declares no merge key in lake_schema")
        data = self._arrow_rows(spec, rows, judged)
        key = [*spec.merge_key, *(p for p in spec.partition_by if p not in spec.merge_key)]
        if self._skip(spec, txn):
            return CommitResult(spec.name, "merge", None, 0, skipped=True)
        if not data.num_rows:
            return CommitResult(spec.name, "merge", None, 0)
        if data.group_by(key).aggregate([]).num_rows != data.num_rows:
            raise ValueError(f"merge into {spec.name}: the source repeats a key of {key}")
        condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in key)
        for column in (p for p in spec.partition_by if p not in spec.merge_key):  # prune to the touched partitions
            values = pc.unique(data.column(column)).to_pylist()
            condition += " AND " + filters_to_sql([(column, "in", values)], alias="t")
        token = uuid.uuid4().hex
        table = DeltaTable(self.uri(spec), storage_options=self._storage_options(writing=True))
        (table.merge(data, condition, source_alias="s", target_alias="t",
                     commit_properties=self._commit_properties(token, txn))
         .when_matched_update_all().when_not_matched_insert_all().execute())
        return self._result_of(spec, "merge", token, rows=data.num_rows)

    def _arrow_rows(self, spec: TableSpec, rows: pa.Table, judged: bool) -> pa.Table:
        """`rows` in the spec's column order and types; a clear error for missing columns or unjudged rows."""
        if self._has_rules(spec) and not judged:
            raise ValueError(f"{spec.name} has quarantine rules: rows written without Spark must have passed them in "
                             "the plan they were collected from (jobs.quality.first_failed_rule); say judged=True")
        self._require_columns(spec, rows.column_names)
        claim_writer(self.settings)
        self.ensure(spec)
        return rows.select(spec.column_names).cast(spec.arrow_schema())

    @staticmethod
    def _commit_properties(token: str, txn: Txn | None) -> CommitProperties:
        return CommitProperties(custom_metadata={"userMetadata": token},
                                app_transactions=[Transaction(txn.app_id, txn.version)] if txn else None)

    # ------------------------------------------------------- maintenance ---

    def optimize(self, spec: TableSpec, where: Sequence[PartitionFilter] | None = None) -> dict:
        """Compact small files (the stream's micro-batches leave many) into larger ones; Delta's OPTIMIZE.
        Returns its metrics (files added and removed)."""
        self._check_partition_filters(spec, where)
        claim_writer(self.settings)
        self.ensure(spec)
        builder = SparkDeltaTable.forPath(self.spark, self.uri(spec)).optimize()
        if where:
            builder = builder.where(filters_to_sql(where))
        row = builder.executeCompaction().select("metrics.numFilesAdded", "metrics.numFilesRemoved").first()
        return {"files_added": int(row[0] or 0), "files_removed": int(row[1] or 0)}

    def vacuum(self, spec: TableSpec, retain_hours: float = 168.0) -> int:
        """Delete files no version newer than `retain_hours` references (replaced data, and files a killed
        writer left before its commit); Delta's VACUUM. Returns how many files went. Below Delta's 7-day
        default, readers of older versions (time travel, a long query) may lose their files."""
        claim_writer(self.settings)
        self.ensure(spec)
        before = self._data_files(spec)
        check = "spark.databricks.delta.retentionDurationCheck.enabled"
        if retain_hours < 168:
            self.spark.conf.set(check, "false")  # the caller asked for a shorter retention explicitly
        try:
            SparkDeltaTable.forPath(self.spark, self.uri(spec)).vacuum(retain_hours)
        finally:
            self.spark.conf.unset(check)
        return max(0, before - self._data_files(spec))

    def _data_files(self, spec: TableSpec) -> int:
        jvm_path = self.spark._jvm.org.apache.hadoop.fs.Path(self.uri(spec))
        fs = jvm_path.getFileSystem(self.spark._jsc.hadoopConfiguration())
        files, count = fs.listFiles(jvm_path, True), 0
        while files.hasNext():
            path = files.next().getPath().toString()
            count += "/_delta_log/" not in path and path.endswith(".parquet")
        return count

    # ----------------------------------------------------------- helpers ---

    def _storage_options(self, writing: bool = False) -> dict[str, str]:
        """delta-rs's options: the settings' own, plus plain HTTP allowed for an http:// endpoint (as s3a does).
        A delta-rs writer on S3 needs a lock or a promise of a single writer: `claim_writer` makes that promise."""
        options = dict(self.settings.storage_options)
        if str(self.settings.option("AWS_ENDPOINT_URL", "AWS_ENDPOINT") or "").startswith("http://"):
            options.setdefault("AWS_ALLOW_HTTP", "true")
        if writing and self.settings.lake_root.startswith(("s3://", "s3a://")):
            options.setdefault("AWS_S3_ALLOW_UNSAFE_RENAME", "true")
        return options

    @staticmethod
    def _add_actions(table: DeltaTable) -> pa.Table:
        return pa.table(table.get_add_actions(flatten=True))

    def _files(self, table: DeltaTable, spec: TableSpec, where: Sequence[PartitionFilter] | None) -> pa.Table:
        """The live files of `table` (its add actions), cut to the partitions `where` selects."""
        actions = self._add_actions(table)
        if where and actions.num_rows:
            partitions = pa.table({name: actions.column(f"partition.{name}") for name in spec.partition_by})
            actions = actions.filter(pc.fill_null(_matches(partitions, where), False))
        return actions

    def _skip(self, spec: TableSpec, txn: Txn | None) -> bool:
        return txn is not None and (self.txn_version(spec, txn.app_id) or 0) >= txn.version

    def _split(self, spec: TableSpec, df: DataFrame, txn: Txn | None) -> RuleSplit | None:
        """`df` split by `spec`'s quarantine rules, once per write (outside the retry loop); None when `txn`
        is already in the log, so a skipped write skips the rule work too."""
        if not self._has_rules(spec):
            return RuleSplit(df)
        claim_writer(self.settings)
        self.ensure(spec)
        if self._skip(spec, txn):
            return None
        return self._rules(spec, df)

    def _rules(self, spec: TableSpec, df: DataFrame) -> RuleSplit:
        if not self._has_rules(spec):
            return RuleSplit(df)
        self._require_columns(spec, df.columns)  # a clear error before a rule names a missing column
        return enforce_rules(df, spec)

    @staticmethod
    def _has_rules(spec: TableSpec) -> bool:
        return spec.name != QUARANTINE.name and has_rules(spec)

    def replace_quarantine(self, rejects: DataFrame, batches: list[str]) -> dict[str, int]:
        """Replace these quarantine batches with `rejects` (so reruns never pile up rejects); the rows now held
        per reason. `rejects` is evaluated once; when it is empty and the batches hold nothing, no commit is made."""
        self.touched.written.add(QUARANTINE.name)
        where = [("quarantine_batch", "in", batches)]
        held = rejects.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            counts = {row["reason"]: row["count"] for row in held.groupBy("reason").count().collect()}
            if counts or self._holds_rows(QUARANTINE, where):
                self.overwrite(QUARANTINE, held, where=where)
        finally:
            held.unpersist()
        return counts

    def _holds_rows(self, spec: TableSpec, where: Sequence[PartitionFilter]) -> bool:
        """Whether the partitions `where` selects have any file, from the Delta log (no Spark job)."""
        if not self.exists(spec):
            return False
        return self._files(DeltaTable(self.uri(spec), storage_options=self._storage_options()), spec, where).num_rows > 0

    def _quarantine(self, split: RuleSplit) -> None:
        """Replace the rejects' quarantine batches, so a rerun replaces them instead of adding them again.
        Written before the table's own commit: a crash between the two leaves the table's txn unrecorded,
        and the rerun does both again. Nothing is written when no row failed (a step may fill batches of the
        same names with rejects of its own)."""
        if split.rejects is not None:  # read from the split's evaluated copy, its counts already known
            self.overwrite(QUARANTINE, split.rejects, where=[("quarantine_batch", "in", list(split.batches))])

    def _require_columns(self, spec: TableSpec, columns: Sequence[str]) -> None:
        missing = [name for name in spec.column_names if name not in columns]
        if missing:
            raise ValueError(f"cannot write {spec.name}: the data lacks columns {missing}")

    def _conform(self, spec: TableSpec, df: DataFrame) -> DataFrame:
        self._require_columns(spec, df.columns)
        return df.select([F.col(c.name).cast(spec.spark_type(c.name)).alias(c.name) for c in spec.columns])

    def _reads_table(self, df: DataFrame, spec: TableSpec) -> bool:
        """Whether `df` reads any file of `spec`'s table (asked only after a conflict: it lists the inputs)."""
        root = self.uri(spec).rstrip("/") + "/"
        return any(path.split(":", 1)[-1].lstrip("/").startswith(root.split(":", 1)[-1].lstrip("/"))
                   for path in df.inputFiles())

    def _check_partition_filters(self, spec: TableSpec, where: Sequence[PartitionFilter] | None) -> None:
        for column, _, _ in where or []:
            if column not in spec.partition_by:
                raise ValueError(
                    f"{spec.name}: partition filters may only name partition columns {list(spec.partition_by)}, not {column!r}"
                )


def _matches(partitions: pa.Table, where: Sequence[PartitionFilter]) -> pa.ChunkedArray:
    """Which add actions' partition values satisfy `where` (pyarrow's DNF filter form)."""
    import pyarrow.dataset as ds

    return ds.dataset(partitions).to_table(columns={"keep": pq.filters_to_expression([tuple(f) for f in where])}).column("keep")


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if hasattr(value, "isoformat"):
        kind = "TIMESTAMP" if hasattr(value, "hour") else "DATE"
        return f"{kind} '{value.isoformat(sep=' ') if kind == 'TIMESTAMP' else value.isoformat()}'"
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def filters_to_sql(filters: Sequence[PartitionFilter], alias: str | None = None) -> str:
    """Tuple filters ``(column, op, value)`` as one Spark SQL conjunction, e.g. for Delta's replaceWhere."""
    prefix = f"{alias}." if alias else ""
    clauses = []
    for column, op, value in filters:
        name = f"{prefix}`{column}`"
        if op in ("in", "not in"):
            values = list(value)
            if not values:
                clauses.append("FALSE" if op == "in" else "TRUE")
                continue
            clauses.append(f"{name} {op.upper()} ({', '.join(_literal(v) for v in values)})")
        elif op in ("=", "==") and value is None:
            clauses.append(f"{name} IS NULL")
        elif op in ("!=", "<>") and value is None:
            clauses.append(f"{name} IS NOT NULL")
        else:
            clauses.append(f"{name} {'=' if op == '==' else op} {_literal(value)}")
    return " AND ".join(clauses)
