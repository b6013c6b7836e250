"""Lake.read_small: the Spark-free pandas read the dashboard uses, against real Delta tables."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.resources.test_lake import D1, D2, D3, EVENTS, events, row


def test_reads_what_spark_wrote_as_pandas_with_partition_pruning_and_columns(lake, spark):
    lake.append(EVENTS, events(spark, [row("a", D1, 1.5, ("x", "y")), row("b", D2, None, ()), row("c", D3, 3.0)]))

    whole = lake.read_small(EVENTS).sort_values("event_id").reset_index(drop=True)
    assert list(whole.columns) == EVENTS.column_names
    assert whole.event_id.tolist() == ["a", "b", "c"]
    assert whole.day.tolist() == [D1, D2, D3]  # partition values come back typed, not as strings
    assert whole["at"][0] == datetime(2010, 1, 4, 14, 30, tzinfo=timezone.utc)
    assert list(whole.tags[0]) == ["x", "y"] and whole.amount.isna().tolist() == [False, True, False]

    pruned = lake.read_small(EVENTS, where=[("day", ">=", D2)], columns=["event_id", "amount"])
    assert list(pruned.columns) == ["event_id", "amount"]
    assert sorted(pruned.event_id) == ["b", "c"]
    assert lake.read_small(EVENTS, where=[("day", "in", [D1, D3])]).event_id.sort_values().tolist() == ["a", "c"]


def test_refuses_more_rows_than_its_limit_counting_only_the_selected_partitions(lake, spark):
    lake.append(EVENTS, events(spark, [row(f"e{i}", D1, float(i)) for i in range(5)] + [row("z", D2, 0.0)]))
    with pytest.raises(ValueError, match="6 rows selected, over read_small's limit of 5"):
        lake.read_small(EVENTS, max_rows=5)
    assert len(lake.read_small(EVENTS, where=[("day", "=", D2)], max_rows=5)) == 1


def test_a_missing_table_reads_empty_with_its_columns_and_is_not_created(lake):
    empty = lake.read_small(EVENTS)
    assert empty.empty and list(empty.columns) == EVENTS.column_names
    assert not lake.exists(EVENTS)


def test_filters_name_partition_columns_and_known_columns_only(lake):
    with pytest.raises(ValueError, match="partition filters may only name partition columns"):
        lake.read_small(EVENTS, where=[("amount", ">", 1)])
    with pytest.raises(KeyError, match="no column 'nope'"):
        lake.read_small(EVENTS, columns=["nope"])


def test_row_filters_on_any_column_narrow_the_rows(lake, spark):
    lake.append(EVENTS, events(spark, [row("a", D1, 1.0), row("b", D1, 5.0), row("c", D2, 7.0)]))
    got = lake.read_small(EVENTS, filters=[("amount", ">", 2.0)], columns=["event_id"])
    assert sorted(got.event_id) == ["b", "c"]
    got = lake.read_small(EVENTS, where=[("day", "=", D1)], filters=[("event_id", "in", ["a", "c"])])
    assert got.event_id.tolist() == ["a"]
