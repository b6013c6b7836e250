"""Lake I/O: the only way jobs read and write tables.

Every operation takes a `lake_schema` TableSpec, so the schema, partitioning
and merge key come from one place. Operations:

* ``read(spec, where=...)`` — a Spark DataFrame of one pinned table version,
  pruned by partition filters.
* ``read_small(spec, where=..., columns=..., filters=...)`` — pandas via delta-rs, no
  Spark, for dashboards and notebooks; refuses selections the Delta log counts over a limit.
* ``append(spec, df, txn=...)`` — add rows.
* ``overwrite(spec, df, where=...)`` — replace exactly one partition range
  (Delta's replaceWhere); rows outside the range are refused.
* ``merge(spec, df)`` — upsert on the spec's merge key: the touched partitions
  are rewritten with the source winning on key collisions.
* ``txn=Txn(app_id, version)`` on any write makes it idempotent: a retried task
  whose app transaction is already in the log writes nothing. A list of Txns is
  recorded in the same commit (e.g. one per landed file a batch consumed): all
  seen means skip, some seen means another writer took part of the work, which
  is an error the caller must re-plan from.

Concurrent writers: every write is one Delta commit, checked against the
commits that landed since the version it was planned from (see
`delta_commit`). Appends never conflict with each other; a merge or overwrite
that loses to a concurrent commit touching its partitions is re-read,
re-planned and re-written, up to `commit_attempts` times, then raises
`ConcurrentWriteError`. An overwrite's `df` is re-executed as given, so a
read-modify-write of one table belongs in `merge`, which re-reads the target.
On S3 the log entry is put with S3's conditional write (If-None-Match), which
AWS S3 supports and delta-rs >= 1.x uses by default: concurrent writers need
no lock service. delta-rs no longer implements DynamoDB locking, so
``AWS_S3_LOCKING_PROVIDER=dynamodb`` is refused here rather than silently
ignored; a store without conditional writes needs ``AWS_S3_ALLOW_UNSAFE_RENAME=true``
and one writer per table.

The default engine commits through delta-rs (see `delta_bridge`); with
``PULSELAKE_LAKE_ENGINE=delta-spark`` the same calls use Spark's native Delta
connector where its jars can be fetched.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Sequence, Union
from urllib.parse import unquote

import pyarrow as pa
from deltalake import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.resources.delta_bridge import (
    FORMAT_NAME,
    encode_schema,
    filters_to_json,
    hive_layout,
    partition_value_to_string,
    select_files,
)
from jobs.resources.delta_commit import (
    CONFLICT_MARKER,
    ROWS_KEY,
    TableLayout,
    create_table_if_missing,
    find_commit,
)
from jobs.resources.storage import join_uri
from jobs.settings import Settings
from lake_schema.spec import TableSpec

if TYPE_CHECKING:
    import pandas as pd

PartitionFilter = tuple[str, str, Any]
# read_small's default ceiling: gold tables a dashboard shows (predictions, runs, daily sentiment)
# stay well below it; anything bigger belongs in Spark.
SMALL_TABLE_ROWS = 2_000_000
# How many times a write that lost to concurrent commits is re-planned before it gives up.
COMMIT_ATTEMPTS = 5
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Txn:
    """A Delta app transaction: `version` is recorded under `app_id`; a write whose
    version is not above the recorded one is skipped."""

    app_id: str
    version: int = 1


Txns = Union[Txn, Sequence[Txn], None]


class PartiallyCommitted(RuntimeError):
    """Some, not all, of a write's app transactions are already in the table's log."""


class ConcurrentWriteError(RuntimeError):
    """A write lost to concurrent commits on every one of its attempts."""


def as_txns(txn: Txns) -> tuple[Txn, ...]:
    if txn is None:
        return ()
    return (txn,) if isinstance(txn, Txn) else tuple(txn)


@dataclass(frozen=True)
class CommitResult:
    table: str
    operation: str
    version: int | None
    rows: int
    skipped: bool = False
    attempts: int = 1  # more than 1: concurrent commits made it re-plan


class Lake:
    def __init__(self, spark: SparkSession | None, settings: Settings, commit_attempts: int = COMMIT_ATTEMPTS) -> None:
        """`spark` may be None for a reader that only calls read_small (a dashboard)."""
        _check_storage_options(settings.storage_options)
        self.spark = spark
        self.settings = settings
        self.commit_attempts = commit_attempts
        self._ensured: set[str] = set()

    # ------------------------------------------------------------ tables ---

    def uri(self, spec: TableSpec) -> str:
        return join_uri(self.settings.lake_root, spec.layer, spec.short_name)

    def ensure(self, spec: TableSpec) -> DeltaTable:
        """Create the table from its spec if it does not exist yet."""
        table = create_table_if_missing(
            self.uri(spec),
            TableLayout(spec.arrow_schema(), spec.partition_by, spec.name, spec.description),
            self.settings.storage_options,
        )
        self._ensured.add(spec.name)
        return table

    def exists(self, spec: TableSpec) -> bool:
        return DeltaTable.is_deltatable(self.uri(spec), storage_options=self.settings.storage_options)

    def delta_table(self, spec: TableSpec, version: int | None = None) -> DeltaTable:
        if spec.name not in self._ensured:
            self.ensure(spec)
        return DeltaTable(self.uri(spec), version=version, storage_options=self.settings.storage_options)

    def version(self, spec: TableSpec) -> int:
        return self.delta_table(spec).version()

    def txn_version(self, spec: TableSpec, app_id: str) -> int | None:
        return self.delta_table(spec).transaction_version(app_id)

    # -------------------------------------------------------------- read ---

    def read(
        self,
        spec: TableSpec,
        where: Sequence[PartitionFilter] | None = None,
        version: int | None = None,
        filters: Sequence[PartitionFilter] | None = None,
    ) -> DataFrame:
        """Rows of one table version. `where` prunes partitions; `filters` are row filters on any
        column (same tuple form) that also skip files whose min/max statistics rule them out."""
        self._check_partition_filters(spec, where)
        for column, _, _ in filters or []:
            spec.column(column)  # a clear error for a typo
        if self.settings.lake_engine == "delta-spark":
            frame = self.spark.read.format("delta")
            if version is not None:
                frame = frame.option("versionAsOf", version)
            df = frame.load(self.uri(spec))
            df = df.where(_filters_to_sql(where)) if where else df
        else:
            if self.settings.lake_is_local:  # one log load pins the version and lists its files
                table = self.delta_table(spec, version)
                pinned, df = table.version(), self._read_parquet_natively(spec, table, where, filters)
            else:
                pinned, df = self.delta_table(spec).version() if version is None else version, None
        if df is None:
            df = (
                self.spark.read.format(FORMAT_NAME)
                .schema(spec.spark_ddl())
                .options(
                    **self._options(spec),
                    version=str(pinned),
                    partition_filters=filters_to_json(where),
                    stats_filters=filters_to_json(filters),
                    min_partitions=str(self.spark.sparkContext.defaultParallelism),
                )
                .load()
            )
        return df.where(_filters_to_sql(filters)) if filters else df

    def _read_parquet_natively(
        self, spec: TableSpec, table: DeltaTable, where: Sequence[PartitionFilter] | None,
        filters: Sequence[PartitionFilter] | None,
    ) -> DataFrame | None:
        """The pinned version's live files (chosen by delta-rs from the log) handed to Spark's own Parquet
        reader: its vectorised scan, column pruning and predicate pushdown cost a tenth of streaming Arrow
        batches through Python workers. Local lakes only (Spark has no S3 filesystem without the
        hadoop-aws jars); None when the files' folders do not spell their partition values."""
        files = select_files(table, spec.arrow_schema(), spec.partition_by,
                             [tuple(f) for f in where or []], [tuple(f) for f in filters or []])
        if not files:
            return self.spark.createDataFrame([], spec.spark_ddl())
        if not hive_layout(files):
            return None
        root = self.uri(spec)
        paths = [join_uri(root, unquote(path)) for path, _, _ in files]
        return self.spark.read.schema(spec.spark_ddl()).option("basePath", root).parquet(*paths).select(*spec.column_names)

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
        from jobs.resources.delta_bridge import partition_matches, partition_value_from_string, partition_value_to_string

        self._check_partition_filters(spec, where)
        wanted = list(columns) if columns else spec.column_names
        for column in [*wanted, *(c for c, _, _ in filters or [])]:
            spec.column(column)  # a clear error for a typo
        schema = pa.schema([spec.arrow_schema().field(c) for c in wanted])
        if not self.exists(spec):
            return schema.empty_table().to_pandas()
        table = DeltaTable(self.uri(spec), storage_options=self.settings.storage_options)
        actions = pa.table(table.get_add_actions(flatten=True)).to_pylist()
        rows = 0
        for action in actions:
            values = {
                name: partition_value_from_string(
                    partition_value_to_string(action.get(f"partition.{name}")), spec.arrow_schema().field(name).type
                )
                for name in spec.partition_by
            }
            if partition_matches(values, where or []):
                count = action.get("num_records")
                rows += count if count is not None else max_rows + 1  # no stats: cannot prove it is small
        if rows > max_rows:
            raise ValueError(
                f"{spec.name}: {rows:,} rows selected, over read_small's limit of {max_rows:,}; use Lake.read (Spark)"
            )
        conjunction = [tuple(f) for f in [*(where or []), *(filters or [])]]
        data = table.to_pyarrow_table(filters=conjunction or None, columns=wanted)
        return data.select(wanted).cast(schema).to_pandas()

    # ------------------------------------------------------------- write ---

    def append(self, spec: TableSpec, df: DataFrame, txn: Txns = None) -> CommitResult:
        return self._retrying(spec, "append", lambda: self._write(spec, df, "append", None, txn))

    def overwrite(
        self, spec: TableSpec, df: DataFrame, where: Sequence[PartitionFilter] | None = None, txn: Txns = None
    ) -> CommitResult:
        """Replace the rows in `where` (partition filters) with `df`; the whole table when `where` is None.
        A concurrent commit that replaced rows in that range first makes it run again (see the module doc)."""
        self._check_partition_filters(spec, where)
        where_list = list(where) if where else None
        return self._retrying(spec, "overwrite", lambda: self._write(spec, df, "overwrite", where_list, txn, planned=True))

    def merge(self, spec: TableSpec, df: DataFrame, txn: Txns = None) -> CommitResult:
        """Upsert `df` on the spec's merge key; the source wins where keys collide."""
        if not spec.merge_key:
            raise ValueError(f"{spec.name} declares no merge key in lake_schema")
        key = list(spec.merge_key)
        if self._skip(spec, txn):
            return CommitResult(spec.name, "merge", None, 0, skipped=True)
        source = self._conform(spec, df)
        duplicated = source.groupBy(*key).count().where("count > 1").limit(1).collect()
        if duplicated:
            raise ValueError(f"merge into {spec.name}: the source repeats key {duplicated[0].asDict()}")
        if self.settings.lake_engine == "delta-spark":
            return self._native_merge(spec, source, key, txn)
        where: list[PartitionFilter] | None = None
        if spec.partition_by:
            column = spec.partition_by[0]
            touched = [row[0] for row in source.select(column).distinct().collect()]
            if not touched:
                return CommitResult(spec.name, "merge", None, 0, skipped=True)
            where = [(column, "in", touched)]
        return self._retrying(spec, "merge", lambda: self._merge_once(spec, source, key, where, txn))

    def _merge_once(
        self, spec: TableSpec, source: DataFrame, key: list[str], where: list[PartitionFilter] | None, txn: Txns
    ) -> CommitResult:
        """One attempt: read the touched partitions at one version and commit against that version."""
        if self._skip(spec, txn):
            return CommitResult(spec.name, "merge", None, 0, skipped=True)
        read_version = self.version(spec)
        target = self.read(spec, where=where, version=read_version)
        kept = target.join(source.select(*key), on=key, how="left_anti")
        result = self._write(spec, kept.unionByName(source), "overwrite", where, txn, read_version=read_version)
        return replace(result, operation="merge")

    def _retrying(self, spec: TableSpec, operation: str, attempt: Callable[[], CommitResult]) -> CommitResult:
        """Run a write; when a concurrent commit conflicts with it, run it again from a fresh read."""
        for number in range(1, self.commit_attempts + 1):
            try:
                return replace(attempt(), attempts=number)
            except Exception as exc:  # Spark wraps the worker's error: recognise it by its marker
                if CONFLICT_MARKER not in str(exc):
                    raise
                if number == self.commit_attempts:
                    reason = next(line for line in str(exc).splitlines() if CONFLICT_MARKER in line).strip()
                    raise ConcurrentWriteError(
                        f"{operation} into {spec.name} lost to concurrent commits {number} times in a row; "
                        f"nothing of it was committed. Retry later or serialise the writers of this table. "
                        f"Last conflict: {reason}"
                    ) from exc
                log.warning("%s into %s conflicted with a concurrent commit (attempt %d of %d); re-planning",
                            operation, spec.name, number, self.commit_attempts)
                time.sleep(random.uniform(0.05, 0.25) * number)
        raise AssertionError("unreachable")

    # ----------------------------------------------------------- helpers ---

    def _options(self, spec: TableSpec) -> dict[str, str]:
        return {
            "table_uri": self.uri(spec),
            "storage_options": json.dumps(self.settings.storage_options),
            "partition_by": json.dumps(list(spec.partition_by)),
            "arrow_schema": encode_schema(spec.arrow_schema()),
        }

    def _skip(self, spec: TableSpec, txn: Txns) -> bool:
        wanted = as_txns(txn)
        if not wanted:
            return False
        table = self.delta_table(spec)
        done = [t for t in wanted if (table.transaction_version(t.app_id) or 0) >= t.version]
        if done and len(done) < len(wanted):
            raise PartiallyCommitted(
                f"{spec.name}: {len(done)} of {len(wanted)} app transactions are already committed "
                f"(e.g. {done[0].app_id}); re-plan the work without them"
            )
        return bool(done)

    def _conform(self, spec: TableSpec, df: DataFrame) -> DataFrame:
        missing = [name for name in spec.column_names if name not in df.columns]
        if missing:
            raise ValueError(f"cannot write {spec.name}: the data lacks columns {missing}")
        return df.select([F.col(c.name).cast(_spark_type(c.type)).alias(c.name) for c in spec.columns])

    def _write(
        self,
        spec: TableSpec,
        df: DataFrame,
        mode: str,
        where: list[PartitionFilter] | None,
        txn: Txns,
        read_version: int | None = None,
        planned: bool = False,
    ) -> CommitResult:
        """One write attempt. It commits against `read_version` (what the data was computed from),
        or with `planned` against the version it starts from: a replace must not remove files it
        never saw. A blind append commits against whatever is latest."""
        if self._skip(spec, txn):
            return CommitResult(spec.name, mode, None, 0, skipped=True)
        data = self._conform(spec, df)
        if self.settings.lake_engine == "delta-spark":
            return self._native_write(spec, data, mode, where, txn)
        started_at = self.ensure(spec).version()
        if read_version is None and planned:
            read_version = started_at
        if spec.partition_by:
            data = data.repartition(self.spark.sparkContext.defaultParallelism, *spec.partition_by)
        token = uuid.uuid4().hex
        options = {
            **self._options(spec),
            "mode": mode,
            "replace_where": filters_to_json(where),
            "target_file_rows": str(self.settings.target_file_rows),
            "commit_token": token,
        }
        if read_version is not None:
            options["read_version"] = str(read_version)
        if as_txns(txn):
            options["txns"] = json.dumps([[t.app_id, t.version] for t in as_txns(txn)])
        data.write.format(FORMAT_NAME).mode("append").options(**options).save()
        return self._result_of(spec, mode, token, after=started_at)

    def _result_of(self, spec: TableSpec, mode: str, token: str, after: int) -> CommitResult:
        found = find_commit(self.uri(spec), self.settings.storage_options, token, after)
        if found is not None:
            version, info = found
            return CommitResult(spec.name, mode, version, int(info.get(ROWS_KEY, 0)))
        # The writer found the app transaction already committed (a concurrent retry won).
        return CommitResult(spec.name, mode, None, 0, skipped=True)

    def _check_partition_filters(self, spec: TableSpec, where: Sequence[PartitionFilter] | None) -> None:
        for column, _, _ in where or []:
            if column not in spec.partition_by:
                raise ValueError(
                    f"{spec.name}: partition filters may only name partition columns {list(spec.partition_by)}, not {column!r}"
                )

    # ----------------------------------------- native delta-spark engine ---

    def _native_write(
        self, spec: TableSpec, data: DataFrame, mode: str, where: list[PartitionFilter] | None, txn: Txn | None
    ) -> CommitResult:
        self.ensure(spec)
        writer = data.write.format("delta").mode(mode)
        if where:
            writer = writer.option("replaceWhere", _filters_to_sql(where))
        txns = as_txns(txn)
        if len(txns) > 1:
            raise ValueError("delta-spark records one app transaction per write; pass a single Txn")
        if txns:
            writer = writer.option("txnAppId", txns[0].app_id).option("txnVersion", str(txns[0].version))
        writer.save(self.uri(spec))
        return CommitResult(spec.name, mode, self.version(spec), -1)

    def _native_merge(self, spec: TableSpec, source: DataFrame, key: list[str], txn: Txns) -> CommitResult:
        self.ensure(spec)
        view = f"pulselake_merge_{uuid.uuid4().hex}"
        source.createOrReplaceTempView(view)
        condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in key)
        txns = as_txns(txn)
        if len(txns) > 1:
            raise ValueError("delta-spark records one app transaction per write; pass a single Txn")
        if txns:
            self.spark.conf.set("spark.databricks.delta.write.txnAppId", txns[0].app_id)
            self.spark.conf.set("spark.databricks.delta.write.txnVersion", str(txns[0].version))
        try:
            self.spark.sql(
                f"MERGE INTO delta.`{self.uri(spec)}` t USING {view} s ON {condition} "
                "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
            )
        finally:
            self.spark.catalog.dropTempView(view)
            if txns:
                self.spark.conf.unset("spark.databricks.delta.write.txnAppId")
                self.spark.conf.unset("spark.databricks.delta.write.txnVersion")
        return CommitResult(spec.name, "merge", self.version(spec), -1)


def _check_storage_options(options: dict[str, str]) -> None:
    """Refuse a lock setting delta-rs would silently ignore (it logs and carries on without it)."""
    provider = next((v for k, v in options.items() if k.upper() == "AWS_S3_LOCKING_PROVIDER"), None)
    if provider and provider.lower() == "dynamodb":
        raise ValueError(
            "storage_options AWS_S3_LOCKING_PROVIDER=dynamodb: delta-rs no longer supports DynamoDB locking. "
            "Drop it: on AWS S3 concurrent writers are safe through S3 conditional writes, which delta-rs uses by "
            "default; for a store without conditional writes set AWS_S3_ALLOW_UNSAFE_RENAME=true and keep one "
            "writer per table."
        )


def _spark_type(type_name: str) -> str:
    from lake_schema.spec import _SPARK_TYPES

    return _SPARK_TYPES[type_name]


def _filters_to_sql(filters: Sequence[PartitionFilter]) -> str:
    def literal(value: Any) -> str:
        text = partition_value_to_string(value)
        return "NULL" if text is None else "'" + text.replace("'", "''") + "'"

    clauses = []
    for column, op, value in filters:
        if op in ("in", "not in"):
            clauses.append(f"`{column}` {op.upper()} ({', '.join(literal(v) for v in value)})")
        else:
            clauses.append(f"`{column}` {op} {literal(value)}")
    return " AND ".join(clauses)
