"""The one place that commits to a Delta log (through delta-rs).

Kept apart from the Spark data source so the same commit path serves Spark
writes, small Arrow writes and tests. Tables are created with the plain
reader/writer protocol (no deletion vectors, no column mapping) so that
delta-spark, Trino or DuckDB can read them too.

Concurrency is optimistic, as in Delta itself: data files are written first,
then one log entry is put-if-absent. A write that read the table (a merge, a
replaceWhere overwrite) commits against the version it read, so delta-rs'
conflict checker sees every commit that landed since and refuses one that
removed data this write read or replaces (WriteSerializable: a concurrent blind
append does not conflict, it serialises after). The refusal is a
`CommitConflict`; the Lake re-reads, re-plans and re-writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction
from deltalake.exceptions import CommitFailedError, TableNotFoundError
from deltalake.transaction import AddAction

from jobs.resources.delta_bridge import delta_rs_filters, partition_matches, partition_value_from_string

COMMIT_TOKEN_KEY = "pulselake.commit_token"
ROWS_KEY = "pulselake.rows"


# Errors cross Spark's Python worker boundary as text: the Lake recognises a conflict by this marker.
CONFLICT_MARKER = "pulselake-commit-conflict"


class TxnAlreadyCommitted(Exception):
    """The app transaction was committed before; nothing new was written."""


class CommitConflict(RuntimeError):
    """A commit that landed after the version this write read conflicts with it: nothing was
    committed, and the write must be re-planned from a fresh read."""


@dataclass(frozen=True)
class TableLayout:
    schema: pa.Schema
    partition_by: tuple[str, ...]
    name: str
    description: str


def create_table_if_missing(uri: str, layout: TableLayout, storage_options: dict[str, str]) -> DeltaTable:
    """Create an empty table from its spec; an existing table must agree with the spec."""
    try:
        table = DeltaTable(uri, storage_options=storage_options)
    except TableNotFoundError:
        return DeltaTable.create(
            uri,
            schema=layout.schema,
            mode="ignore",
            partition_by=list(layout.partition_by) or None,
            name=layout.name,
            description=layout.description,
            storage_options=storage_options,
        )
    existing = set(pa.schema(table.schema()).names)
    missing = [name for name in layout.schema.names if name not in existing]
    if missing:
        raise ValueError(
            f"table {layout.name} at {uri} lacks columns {missing} that lake_schema declares; "
            "migrate it (or start a fresh lake) before writing"
        )
    if list(table.metadata().partition_columns) != list(layout.partition_by):
        raise ValueError(
            f"table {layout.name} at {uri} is partitioned by {table.metadata().partition_columns}, "
            f"lake_schema says {list(layout.partition_by)}"
        )
    return table


def committed_txn_version(table: DeltaTable, app_id: str) -> int | None:
    return table.transaction_version(app_id)


def commit_adds(
    *,
    table_uri: str,
    storage_options: dict[str, str],
    adds: Sequence[dict[str, Any]],
    mode: str,
    replace_where: Sequence[tuple[str, str, Any]] = (),
    txns: Sequence[tuple[str, int]] = (),
    commit_token: str = "",
    read_version: int | None = None,
) -> int | None:
    """Commit written files in one transaction with its app transactions; return the new
    version, or None when a concurrent retry had already committed the same work.

    `read_version` is the table version the data was planned from (None for a blind append):
    the commit is checked against every commit since, and raises `CommitConflict` (after
    removing the written files) when one of them changed what this write read or replaces."""
    latest = DeltaTable(table_uri, storage_options=storage_options)
    done = [app_id for app_id, version in txns if (latest.transaction_version(app_id) or 0) >= version]
    if done:
        delete_files(table_uri, storage_options, adds)
        if len(done) < len(txns):
            raise RuntimeError(f"{len(done)} of {len(txns)} app transactions were committed meanwhile (e.g. {done[0]}); re-plan")
        return None
    table = latest if read_version is None else DeltaTable(table_uri, version=read_version, storage_options=storage_options)
    schema = pa.schema(table.schema())
    partition_by = list(table.metadata().partition_columns)
    if mode == "overwrite" and replace_where:
        _check_adds_inside(adds, replace_where, schema)
    actions = [
        AddAction(
            path=add["path"],
            size=add["size"],
            partition_values=add["partition_values"],
            modification_time=add["modification_time"],
            data_change=True,
            stats=add["stats"],
        )
        for add in adds
    ]
    rows = sum(json.loads(add["stats"])["numRecords"] for add in adds)
    properties = CommitProperties(
        # readVersion (Delta's own commitInfo field) shows in the log which snapshot each commit was built on.
        custom_metadata={COMMIT_TOKEN_KEY: commit_token, ROWS_KEY: str(rows), "readVersion": table.version()},
        app_transactions=[Transaction(app_id=app_id, version=version) for app_id, version in txns] or None,
    )
    try:
        table.create_write_transaction(
            actions,
            mode=mode,
            schema=table.schema(),
            partition_by=partition_by or None,
            partition_filters=delta_rs_filters(replace_where) if replace_where else None,
            commit_properties=properties,
        )
    except CommitFailedError as exc:
        delete_files(table_uri, storage_options, adds)
        raise CommitConflict(
            f"{CONFLICT_MARKER}: {mode} of {len(adds)} files to {table_uri}, planned from version "
            f"{table.version()}, lost to a concurrent commit: {exc}"
        ) from exc
    # The DeltaTable object still shows the version it was loaded at; the commit may have landed later.
    found = find_commit(table_uri, storage_options, commit_token, after=table.version()) if commit_token else None
    return found[0] if found else None


def find_commit(table_uri: str, storage_options: dict[str, str], token: str, after: int) -> tuple[int, dict[str, Any]] | None:
    """(version, commitInfo) of the commit carrying `token`, read from the log upward from `after` + 1.
    Not `DeltaTable.history()`: while other writers commit, delta-rs 1.6 numbers its entries wrongly."""
    from pyarrow.fs import FileType

    from jobs.resources.storage import arrow_filesystem, join_uri

    fs, root = arrow_filesystem(table_uri, storage_options)
    version = after + 1
    while True:
        path = join_uri(root, "_delta_log", f"{version:020d}.json")
        if fs.get_file_info(path).type == FileType.NotFound:
            return None
        with fs.open_input_stream(path) as stream:
            lines = stream.read().decode().splitlines()
        actions = [json.loads(line) for line in lines if line.strip()]
        info = next((action["commitInfo"] for action in actions if "commitInfo" in action), {})
        if info.get(COMMIT_TOKEN_KEY) == token:
            return version, info
        version += 1


def _check_adds_inside(adds: Sequence[dict[str, Any]], filters: Sequence[tuple[str, str, Any]], schema: pa.Schema) -> None:
    """replaceWhere semantics: every written row must lie inside the range being replaced."""
    for add in adds:
        typed = {
            name: partition_value_from_string(value, schema.field(name).type)
            for name, value in add["partition_values"].items()
        }
        if not partition_matches(typed, filters):
            raise ValueError(
                f"refusing to commit: data for partition {add['partition_values']} lies outside the replaced range {list(filters)}"
            )


def delete_files(table_uri: str, storage_options: dict[str, str], adds: Sequence[dict[str, Any]]) -> None:
    from jobs.resources.storage import arrow_filesystem, join_uri

    fs, root = arrow_filesystem(table_uri, storage_options)
    for add in adds:
        try:
            fs.delete_file(join_uri(root, add["path"]))
        except OSError:
            pass  # unreferenced files are harmless; vacuum removes them
