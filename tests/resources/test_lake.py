"""Lake I/O against real Delta tables: every operation, its idempotency and its refusals."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from jobs.resources.lake import Lake, Txn
from lake_schema.spec import Column, TableSpec

EVENTS = TableSpec(
    name="silver.test_events",
    description="a table for lake I/O tests",
    columns=(
        Column("event_id", "string", False),
        Column("day", "date", False),
        Column("at", "timestamp", False),
        Column("amount", "double"),
        Column("tags", "array<string>"),
    ),
    partition_by=("day",),
    merge_key=("event_id",),
)


def events(spark, rows):
    return spark.createDataFrame(rows, EVENTS.spark_ddl())


def row(event_id, day, amount, tags=("a",)):
    return (event_id, day, datetime(day.year, day.month, day.day, 14, 30, tzinfo=timezone.utc), amount, list(tags))


D1, D2, D3 = date(2010, 1, 4), date(2010, 1, 5), date(2010, 1, 6)


def contents(lake, **kwargs):
    return sorted((r.event_id, r.day, r.amount) for r in lake.read(EVENTS, **kwargs).collect())


def test_append_then_read_round_trips_every_type(lake, spark):
    result = lake.append(EVENTS, events(spark, [row("a", D1, 1.5, ("x", "y")), row("b", D2, None, ())]))
    assert (result.rows, result.skipped, result.operation) == (2, False, "append")
    got = {r.event_id: r for r in lake.read(EVENTS).collect()}
    assert got["a"].tags == ["x", "y"] and got["a"].amount == 1.5 and got["a"].day == D1
    assert got["a"].at.replace(tzinfo=None) == datetime(2010, 1, 4, 14, 30)  # session time zone is UTC
    assert got["b"].amount is None and got["b"].tags == []


def test_tables_are_plain_delta_readable_by_another_reader(lake, spark):
    lake.append(EVENTS, events(spark, [row("a", D1, 1.0), row("b", D2, 2.0)]))
    table = DeltaTable(lake.uri(EVENTS))
    protocol = table.protocol()
    # No deletion vectors, no column mapping, no type widening: delta-rs, Trino and DuckDB read it.
    assert protocol.min_reader_version == 1 and not (protocol.reader_features or [])
    assert not set(protocol.writer_features or []) & {"deletionVectors", "typeWidening", "columnMapping", "rowTracking"}
    assert table.metadata().partition_columns == ["day"]
    arrow = table.to_pyarrow_table()
    assert sorted(arrow.column("event_id").to_pylist()) == ["a", "b"]
    assert arrow.schema.field("at").type == pa.timestamp("us", tz="UTC")
    stats = pa.table(table.get_add_actions(flatten=True))
    assert sum(stats.column("num_records").to_pylist()) == 2  # per-file statistics are written


def test_read_prunes_by_partition_filter(lake, spark):
    lake.append(EVENTS, events(spark, [row("a", D1, 1.0), row("b", D2, 2.0), row("c", D3, 3.0)]))
    assert contents(lake, where=[("day", "=", D2)]) == [("b", D2, 2.0)]
    assert [r[0] for r in contents(lake, where=[("day", ">=", D2)])] == ["b", "c"]
    assert [r[0] for r in contents(lake, where=[("day", "in", [D1, D3])])] == ["a", "c"]
    with pytest.raises(ValueError, match="only name partition columns"):
        lake.read(EVENTS, where=[("amount", ">", 1)])


def test_a_retried_append_with_the_same_txn_writes_nothing(lake, spark):
    data = events(spark, [row("a", D1, 1.0)])
    first = lake.append(EVENTS, data, txn=Txn("loader:batch-7"))
    again = lake.append(EVENTS, data, txn=Txn("loader:batch-7"))
    assert not first.skipped and again.skipped
    assert lake.read(EVENTS).count() == 1
    assert lake.txn_version(EVENTS, "loader:batch-7") == 1
    newer = lake.append(EVENTS, events(spark, [row("b", D1, 2.0)]), txn=Txn("loader:batch-7", version=2))
    assert not newer.skipped and lake.read(EVENTS).count() == 2


def test_overwrite_replaces_exactly_the_partition_range(lake, spark):
    lake.append(EVENTS, events(spark, [row("a", D1, 1.0), row("b", D2, 2.0), row("c", D3, 3.0)]))
    result = lake.overwrite(EVENTS, events(spark, [row("b2", D2, 20.0)]), where=[("day", "=", D2)])
    assert result.rows == 1
    assert contents(lake) == [("a", D1, 1.0), ("b2", D2, 20.0), ("c", D3, 3.0)]
    # An empty source empties just that range.
    lake.overwrite(EVENTS, events(spark, []), where=[("day", "=", D3)])
    assert contents(lake) == [("a", D1, 1.0), ("b2", D2, 20.0)]


def test_overwrite_refuses_rows_outside_the_range_and_leaves_the_table_unchanged(lake, spark):
    lake.append(EVENTS, events(spark, [row("a", D1, 1.0)]))
    version = lake.version(EVENTS)
    with pytest.raises(Exception, match="DELTA_REPLACE_WHERE_MISMATCH"):
        lake.overwrite(EVENTS, events(spark, [row("x", D3, 9.0)]), where=[("day", "=", D2)])
    assert lake.version(EVENTS) == version
    assert contents(lake) == [("a", D1, 1.0)]


def test_merge_upserts_on_the_key_and_is_idempotent(lake, spark):
    lake.append(EVENTS, events(spark, [row("a", D1, 1.0), row("b", D1, 2.0), row("c", D2, 3.0)]))
    update = events(spark, [row("b", D1, 20.0), row("d", D1, 4.0)])
    lake.merge(EVENTS, update)
    expected = [("a", D1, 1.0), ("b", D1, 20.0), ("c", D2, 3.0), ("d", D1, 4.0)]
    assert contents(lake) == expected
    lake.merge(EVENTS, update)  # the same upsert again changes nothing
    assert contents(lake) == expected


def test_merge_refuses_a_source_with_repeated_keys(lake, spark):
    with pytest.raises(ValueError, match="repeats key"):
        lake.merge(EVENTS, events(spark, [row("a", D1, 1.0), row("a", D1, 2.0)]))


def test_writing_data_without_a_declared_column_is_a_clear_error(lake, spark):
    with pytest.raises(ValueError, match=r"lacks columns \['tags'\]"):
        lake.append(EVENTS, events(spark, [row("a", D1, 1.0)]).drop("tags"))


def test_a_table_on_disk_that_disagrees_with_lake_schema_is_refused_unless_it_only_lacks_nullable_columns(lake, spark):
    lake.append(EVENTS, events(spark, [row("a", D1, 1.0)]))
    required = TableSpec(EVENTS.name, "", (*EVENTS.columns, Column("extra", "string", False)), EVENTS.partition_by,
                         EVENTS.merge_key)
    with pytest.raises(ValueError, match="lacks columns \\['extra'\\]"):
        lake.ensure(required)
    retyped = TableSpec(EVENTS.name, "", tuple(Column(c.name, "long") if c.name == "amount" else c for c in EVENTS.columns),
                        EVENTS.partition_by, EVENTS.merge_key)
    with pytest.raises(ValueError, match="amount is double there, bigint in lake_schema. Rebuild it"):
        Lake(spark, lake.settings).ensure(retyped)

    # A column the spec added since, nullable: Delta adds it, the old rows read NULL, delta-rs reads it too.
    wider = TableSpec(EVENTS.name, "", (*EVENTS.columns, Column("extra", "string")), EVENTS.partition_by, EVENTS.merge_key)
    evolved = Lake(spark, lake.settings)
    evolved.append(wider, spark.createDataFrame([(*row("b", D1, 2.0), "new")], wider.spark_ddl()))
    assert sorted((r.event_id, r.extra) for r in evolved.read(wider).collect()) == [("a", None), ("b", "new")]
    assert set(evolved.read_rows(wider).column("extra").to_pylist()) == {"new", None}


def test_row_filters_skip_files_their_statistics_rule_out(lake, spark):
    lake.append(EVENTS, events(spark, [row("low", D1, 1.0), row("low2", D1, 2.0)]))
    lake.append(EVENTS, events(spark, [row("high", D1, 100.0)]))
    assert contents(lake, filters=[("amount", ">", 50.0)]) == [("high", D1, 100.0)]
    # Prove the low file is never opened: remove it from disk, the filtered read still works.
    table = DeltaTable(lake.uri(EVENTS))
    actions = pa.table(table.get_add_actions(flatten=True))
    low_file = [p for p, top in zip(actions.column("path").to_pylist(), actions.column("max.amount").to_pylist()) if top < 50]
    assert len(low_file) == 1
    import os

    os.remove(os.path.join(lake.uri(EVENTS), low_file[0]))
    assert contents(lake, filters=[("amount", ">", 50.0)]) == [("high", D1, 100.0)]
    assert contents(lake, filters=[("amount", "in", [100.0, 7.0])]) == [("high", D1, 100.0)]
    with pytest.raises(Exception):
        lake.read(EVENTS).collect()  # an unfiltered read does need the missing file


def arrow_events(rows) -> pa.Table:
    names = EVENTS.column_names
    return pa.Table.from_pylist([dict(zip(names, r)) for r in rows], schema=EVENTS.arrow_schema())


def test_arrow_writes_by_delta_rs_mix_with_spark_writes_and_keep_their_transactions(lake, spark):
    """append_rows/merge_rows (delta-rs) and Spark's writes share one table and one set of app transactions."""
    first = lake.append_rows(EVENTS, arrow_events([row("a", D1, 1.0), row("b", D2, 2.0)]), txn=Txn("arrow", 1))
    assert (first.rows, first.skipped, first.version) == (2, False, lake.version(EVENTS))
    assert lake.append_rows(EVENTS, arrow_events([row("a", D1, 1.0)]), txn=Txn("arrow", 1)).skipped  # a replay
    assert lake.append(EVENTS, events(spark, [row("z", D1, 9.0)]), txn=Txn("arrow", 1)).skipped  # Spark honours it
    lake.append(EVENTS, events(spark, [row("c", D3, 3.0)]), txn=Txn("spark", 1))
    assert lake.append_rows(EVENTS, arrow_events([row("z", D1, 9.0)]), txn=Txn("spark", 1)).skipped  # and vice versa

    merged = lake.merge_rows(EVENTS, arrow_events([row("b", D2, 20.0), row("d", D2, 4.0)]), txn=Txn("arrow", 2))
    assert merged.rows == 2 and not merged.skipped
    assert contents(lake) == [("a", D1, 1.0), ("b", D2, 20.0), ("c", D3, 3.0), ("d", D2, 4.0)]  # Spark reads it
    got = lake.read_rows(EVENTS, where=[("day", "=", D2)], columns=["event_id", "amount"])
    assert sorted(got.to_pylist(), key=lambda r: r["event_id"]) == [{"event_id": "b", "amount": 20.0},
                                                                    {"event_id": "d", "amount": 4.0}]
    before = lake.version(EVENTS)
    assert lake.append_rows(EVENTS, arrow_events([])).version is None and lake.version(EVENTS) == before  # no commit
    with pytest.raises(ValueError, match="repeats a key"):
        lake.merge_rows(EVENTS, arrow_events([row("e", D1, 1.0), row("e", D1, 2.0)]))


def test_arrow_writes_refuse_unjudged_rows_for_a_table_with_rules(lake):
    from lake_schema.trades import SILVER_TRADES

    with pytest.raises(ValueError, match="quarantine rules.*judged=True"):
        lake.append_rows(SILVER_TRADES, SILVER_TRADES.arrow_schema().empty_table())
    with pytest.raises(ValueError, match="lacks columns"):
        lake.append_rows(EVENTS, pa.table({"event_id": ["a"]}))
