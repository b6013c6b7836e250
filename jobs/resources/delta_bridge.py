"""A Spark Python Data Source that reads and writes Delta tables through delta-rs.

Why: Spark's own Delta connector is a set of Maven jars, and Maven is out of
reach here. delta-rs (the `deltalake` package) speaks the Delta protocol
natively, so the split is:

* **write** — every Spark task writes its rows as Parquet files straight into
  the table folder (through Arrow's filesystem, so local, S3 and HDFS work the
  same) and sends back the Delta *add actions* describing them. The driver
  commits all add actions in **one** delta-rs transaction, optionally with an
  app transaction (`txn`) so a retried job is recognised and skipped.
* **read** — the driver asks delta-rs for the live files of one pinned table
  version, prunes them by partition values, and bin-packs them into Spark
  input partitions; tasks read the Parquet files with Arrow and add the
  partition columns back.

Nothing is collected to the driver but file metadata, so this scales with the
cluster. Jobs never use this module directly: they go through `jobs.resources.lake`.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyspark.sql.datasource import (
    DataSource,
    DataSourceArrowWriter,
    DataSourceReader,
    InputPartition,
    WriterCommitMessage,
)
from pyspark.sql.types import StructType

from jobs.resources.storage import arrow_filesystem, join_uri

if TYPE_CHECKING:
    from deltalake import DeltaTable

FORMAT_NAME = "pulselake_delta"
_SAFE_PARTITION_VALUE = re.compile(r"^[A-Za-z0-9._-]+$")
_STATS_TYPES = (pa.types.is_integer, pa.types.is_floating, pa.types.is_date, pa.types.is_timestamp, pa.types.is_string)
_MAX_STATS_STRING = 32
_TARGET_SPLIT_BYTES = 128 * 1024 * 1024


# ---------------------------------------------------------------- options ---


def encode_schema(schema: pa.Schema) -> str:
    return base64.b64encode(schema.serialize().to_pybytes()).decode()


def decode_schema(text: str) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))


def partition_value_to_string(value: Any) -> str | None:
    """Delta stores partition values as strings: dates ISO, timestamps ISO, numbers plain."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def partition_value_from_string(text: str | None, arrow_type: pa.DataType) -> Any:
    if text is None:
        return None
    if pa.types.is_date(arrow_type):
        return date.fromisoformat(text)
    if pa.types.is_integer(arrow_type):
        return int(text)
    if pa.types.is_floating(arrow_type):
        return float(text)
    if pa.types.is_boolean(arrow_type):
        return text.lower() == "true"
    if pa.types.is_timestamp(arrow_type):
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    return text


_OPS = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
}


def partition_matches(values: dict[str, Any], filters: Sequence[Sequence[Any]]) -> bool:
    """Evaluate a conjunction of ``(column, op, value)`` on typed partition values (nulls never match)."""
    for column, op, expected in filters:
        actual = values.get(column)
        if actual is None:
            return False
        if op not in _OPS:
            raise ValueError(f"unsupported partition filter operator {op!r}; use one of {sorted(_OPS)}")
        if not _OPS[op](actual, expected):
            return False
    return True


def filters_to_json(filters: Sequence[Sequence[Any]] | None) -> str:
    def encode(value: Any) -> Any:
        if isinstance(value, (list, tuple, set, frozenset)):
            return [encode(v) for v in sorted(value)]
        return partition_value_to_string(value)

    return json.dumps([[c, op, encode(v)] for c, op, v in (filters or [])])


def filters_from_json(text: str, schema: pa.Schema) -> list[tuple[str, str, Any]]:
    out = []
    for column, op, raw in json.loads(text or "[]"):
        arrow_type = schema.field(column).type
        if isinstance(raw, list):
            value: Any = [partition_value_from_string(v, arrow_type) for v in raw]
        else:
            value = partition_value_from_string(raw, arrow_type)
        out.append((column, op, value))
    return out


def delta_rs_filters(filters: Sequence[Sequence[Any]]) -> list[tuple[str, str, Any]]:
    """The same conjunction in delta-rs' own partition-filter form (values as strings)."""
    out = []
    for column, op, value in filters:
        if isinstance(value, (list, tuple, set, frozenset)):
            out.append((column, op, [partition_value_to_string(v) for v in sorted(value)]))
        else:
            out.append((column, op, partition_value_to_string(value)))
    return out


# ------------------------------------------------------------------ stats ---


def _stat_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def file_stats(table: pa.Table) -> str:
    """Delta per-file statistics (numRecords, min/max, nullCount) so readers can skip files."""
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    for name in table.column_names:
        column = table[name]
        nulls[name] = column.null_count
        if not any(check(column.type) for check in _STATS_TYPES) or column.null_count == len(column):
            continue
        bounds = pc.min_max(column)
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        if isinstance(low, float) and (low != low or high != high):
            continue  # NaN makes bounds meaningless
        if isinstance(low, str) and (len(low) > _MAX_STATS_STRING or len(high) > _MAX_STATS_STRING):
            continue
        mins[name], maxs[name] = _stat_value(low), _stat_value(high)
    return json.dumps({"numRecords": table.num_rows, "minValues": mins, "maxValues": maxs, "nullCount": nulls})


# ----------------------------------------------------------------- writer ---


@dataclass
class DeltaAddMessage(WriterCommitMessage):
    """What one Spark task wrote: Delta add actions as plain dicts."""

    adds: list[dict[str, Any]] = field(default_factory=list)


def _partition_dir(column: str, value: str | None) -> str:
    if value is None:
        return f"{column}=__HIVE_DEFAULT_PARTITION__"
    if _SAFE_PARTITION_VALUE.match(value):
        return f"{column}={value}"
    return f"{column}=pv_{uuid.uuid5(uuid.NAMESPACE_URL, value).hex}"


class _DeltaFileWriter(DataSourceArrowWriter):
    def __init__(self, options: dict[str, str], spark_schema: StructType) -> None:
        self.table_uri = options["table_uri"]
        self.storage_options = json.loads(options.get("storage_options", "{}"))
        self.schema = decode_schema(options["arrow_schema"])
        self.partition_by = json.loads(options.get("partition_by", "[]"))
        self.max_rows = int(options.get("target_file_rows", "1000000"))
        self.mode = options.get("mode", "append")
        self.replace_filters = options.get("replace_where", "[]")
        self.txns = [(app_id, int(version)) for app_id, version in json.loads(options.get("txns", "[]"))]
        self.commit_token = options.get("commit_token", "")
        self.read_version = int(options["read_version"]) if options.get("read_version") else None

    # Runs in each Spark task.
    def write(self, iterator: Iterator[pa.RecordBatch]) -> DeltaAddMessage:
        fs, root = arrow_filesystem(self.table_uri, self.storage_options)
        data_schema = pa.schema([f for f in self.schema if f.name not in self.partition_by])
        pending: dict[str | None, list[pa.RecordBatch]] = {}
        pending_rows: dict[str | None, int] = {}
        adds: list[dict[str, Any]] = []

        def flush(key: str | None) -> None:
            batches = pending.pop(key, [])
            pending_rows.pop(key, None)
            if not batches:
                return
            table = pa.Table.from_batches(batches, schema=data_schema)
            partition_values = {self.partition_by[0]: key} if self.partition_by else {}
            rel_dir = _partition_dir(self.partition_by[0], key) if self.partition_by else ""
            rel_path = f"{rel_dir}/" if rel_dir else ""
            rel_path += f"part-{uuid.uuid4().hex}-c000.zstd.parquet"
            full = join_uri(root, rel_path)
            if rel_dir:
                fs.create_dir(join_uri(root, rel_dir), recursive=True)
            pq.write_table(table, full, filesystem=fs, compression="zstd")
            size = fs.get_file_info(full).size
            adds.append(
                {
                    "path": rel_path,
                    "size": size,
                    "partition_values": partition_values,
                    "modification_time": int(time.time() * 1000),
                    "stats": file_stats(table),
                }
            )

        for batch in iterator:
            batch = _conform(batch, self.schema)
            if self.partition_by:
                column = self.partition_by[0]
                keys = batch.column(column)
                for key in pc.unique(keys).to_pylist():
                    mask = pc.is_null(keys) if key is None else pc.equal(keys, pa.scalar(key, keys.type))
                    rows = batch.filter(mask).drop_columns([column])
                    _append(pending, pending_rows, partition_value_to_string(key), rows)
            else:
                _append(pending, pending_rows, None, batch)
            for key in [k for k, n in pending_rows.items() if n >= self.max_rows]:
                flush(key)
        for key in list(pending):
            flush(key)
        return DeltaAddMessage(adds=adds)

    # Runs once, on the driver side, after every task succeeded.
    def commit(self, messages: list[DeltaAddMessage | None]) -> None:
        from jobs.resources.delta_commit import commit_adds

        adds = [add for message in messages if message for add in message.adds]
        commit_adds(
            table_uri=self.table_uri,
            storage_options=self.storage_options,
            adds=adds,
            mode=self.mode,
            replace_where=filters_from_json(self.replace_filters, self.schema),
            txns=self.txns,
            commit_token=self.commit_token,
            read_version=self.read_version,
        )

    def abort(self, messages: list[DeltaAddMessage | None]) -> None:
        """Nothing was committed; remove the files the finished tasks left behind."""
        from jobs.resources.delta_commit import delete_files

        delete_files(self.table_uri, self.storage_options, [a for m in messages if m for a in m.adds])


def _append(pending: dict, pending_rows: dict, key: str | None, batch: pa.RecordBatch) -> None:
    if batch.num_rows:
        pending.setdefault(key, []).append(batch)
        pending_rows[key] = pending_rows.get(key, 0) + batch.num_rows


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Cast Spark's Arrow batch to the table's exact schema (names, order, types)."""
    arrays = []
    for target in schema:
        index = batch.schema.get_field_index(target.name)
        if index < 0:
            raise ValueError(f"column {target.name!r} is missing from the data being written")
        arrays.append(batch.column(index).cast(target.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# ----------------------------------------------------------------- reader ---


def select_files(
    table: "DeltaTable",
    arrow_schema: pa.Schema,
    partition_by: Sequence[str],
    partition_filters: Sequence[tuple[str, str, Any]],
    stats_filters: Sequence[tuple[str, str, Any]],
) -> list[tuple[str, dict[str, str | None], int]]:
    """(path relative to the table, raw partition values, size) of the live files of the loaded
    table version that survive partition pruning and min/max data skipping."""
    actions = pa.table(table.get_add_actions(flatten=True))
    paths = actions.column("path").to_pylist()
    sizes = actions.column("size_bytes").to_pylist()
    partition_columns = {
        name: actions.column(f"partition.{name}").to_pylist() if f"partition.{name}" in actions.column_names else [None] * len(paths)
        for name in partition_by
    }
    bounds = {
        column: (_stats_column(actions, f"min.{column}"), _stats_column(actions, f"max.{column}"))
        for column, _, _ in stats_filters
    }
    chosen: list[tuple[str, dict[str, str | None], int]] = []
    for i, path in enumerate(paths):
        raw_values = {name: _as_partition_string(values[i]) for name, values in partition_columns.items()}
        typed = {name: partition_value_from_string(value, arrow_schema.field(name).type) for name, value in raw_values.items()}
        if not partition_matches(typed, partition_filters):
            continue
        if any(_stats_exclude(bounds[c][0][i], bounds[c][1][i], op, v) for c, op, v in stats_filters):
            continue
        chosen.append((path, raw_values, sizes[i]))
    return chosen


def hive_layout(files: Sequence[tuple[str, dict[str, str | None], int]]) -> bool:
    """True when every file sits under `column=value/` directories that spell its partition values,
    so Spark's own Parquet reader can rebuild the partition columns from the paths."""
    for path, values, _ in files:
        expected = "".join(f"{_partition_dir(name, value)}/" for name, value in values.items())
        if _partition_dir_unsafe(values) or not _unquote(path).startswith(expected):
            return False
    return True


def _partition_dir_unsafe(values: dict[str, str | None]) -> bool:
    return any(value is not None and not _SAFE_PARTITION_VALUE.match(value) for value in values.values())


class _FileGroup(InputPartition):
    def __init__(self, files: list[tuple[str, dict[str, str | None]]]) -> None:
        super().__init__(files)
        self.files = files


class _DeltaFileReader(DataSourceReader):
    def __init__(self, options: dict[str, str], schema: StructType) -> None:
        self.options = dict(options)
        self.table_uri = options["table_uri"]
        self.storage_options = json.loads(options.get("storage_options", "{}"))
        self.arrow_schema = decode_schema(options["arrow_schema"])
        self.partition_by = json.loads(options.get("partition_by", "[]"))
        self.min_partitions = int(options.get("min_partitions", "1"))

    def partitions(self) -> Sequence[InputPartition]:
        from deltalake import DeltaTable

        version = self.options.get("version")
        table = DeltaTable(self.table_uri, storage_options=self.storage_options, version=int(version) if version else None)
        chosen = select_files(
            table, self.arrow_schema, self.partition_by,
            filters_from_json(self.options.get("partition_filters", "[]"), self.arrow_schema),
            filters_from_json(self.options.get("stats_filters", "[]"), self.arrow_schema),
        )
        return _bin_pack(chosen, self.min_partitions) or [_FileGroup([])]

    def read(self, partition: _FileGroup) -> Iterator[pa.RecordBatch]:
        fs, root = arrow_filesystem(self.table_uri, self.storage_options)
        for path, partition_values in partition.files:
            full = path if "://" in path else join_uri(root, _unquote(path))
            parquet = pq.ParquetFile(full, filesystem=fs)
            for batch in parquet.iter_batches(batch_size=65536):
                yield _with_partitions(batch, partition_values, self.arrow_schema)


def _stats_column(actions: pa.Table, name: str) -> list[Any]:
    if name not in actions.column_names:
        return [None] * actions.num_rows
    return actions.column(name).to_pylist()


def _stats_exclude(low: Any, high: Any, op: str, value: Any) -> bool:
    """True only when a file's [min, max] proves no row can satisfy `column op value` (data skipping)."""
    if low is None or high is None:
        return False
    try:
        if op == "=":
            return value < low or value > high
        if op == ">=":
            return high < value
        if op == ">":
            return high <= value
        if op == "<=":
            return low > value
        if op == "<":
            return low >= value
        if op == "in":
            return all(v < low or v > high for v in value)
    except TypeError:
        return False  # incomparable stats (e.g. naive vs aware): read the file
    return False


def _as_partition_string(value: Any) -> str | None:
    return None if value is None else partition_value_to_string(value)


def _unquote(path: str) -> str:
    from urllib.parse import unquote

    return unquote(path)


def _bin_pack(files: list[tuple[str, dict, int]], min_partitions: int) -> list[_FileGroup]:
    """Group files into input partitions of about equal bytes, at least `min_partitions` of them."""
    if not files:
        return []
    total = sum(size for _, _, size in files)
    target = max(1, min(_TARGET_SPLIT_BYTES, total // max(1, min_partitions) + 1))
    groups: list[list[tuple[str, dict]]] = [[]]
    group_bytes = 0
    for path, values, size in sorted(files, key=lambda f: f[0]):
        if groups[-1] and group_bytes + size > target:
            groups.append([])
            group_bytes = 0
        groups[-1].append((path, values))
        group_bytes += size
    return [_FileGroup(group) for group in groups]


def _with_partitions(batch: pa.RecordBatch, partition_values: dict[str, str | None], schema: pa.Schema) -> pa.RecordBatch:
    """Put the partition columns back and conform to the requested schema (missing columns are null)."""
    arrays = []
    for target in schema:
        if target.name in partition_values:
            value = partition_value_from_string(partition_values[target.name], target.type)
            arrays.append(pa.array([value] * batch.num_rows, type=target.type))
        elif target.name in batch.schema.names:
            arrays.append(batch.column(target.name).cast(target.type))
        else:
            arrays.append(pa.nulls(batch.num_rows, type=target.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# ------------------------------------------------------------- data source ---


class DeltaRsDataSource(DataSource):
    """`spark.read/write.format("pulselake_delta")`; options are set by `jobs.resources.lake`."""

    @classmethod
    def name(cls) -> str:
        return FORMAT_NAME

    def schema(self) -> str:
        raise ValueError("pulselake_delta needs an explicit schema: read tables through jobs.resources.lake.Lake")

    def reader(self, schema: StructType) -> DataSourceReader:
        return _DeltaFileReader(self.options, schema)

    def writer(self, schema: StructType, overwrite: bool) -> DataSourceArrowWriter:
        return _DeltaFileWriter(self.options, schema)
