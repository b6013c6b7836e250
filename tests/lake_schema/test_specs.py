"""lake_schema is the single source of truth: every declaration must be usable as written."""

from __future__ import annotations

import pytest

from lake_schema import LAYERS, TABLES, table
from lake_schema.spec import Column, TableSpec


def test_every_table_is_in_a_known_layer_and_described():
    assert TABLES, "no tables declared"
    for name, spec in TABLES.items():
        assert spec.layer in LAYERS
        assert spec.description.strip(), f"{name} has no description"


@pytest.mark.parametrize("name", sorted(TABLES))
def test_rules_compile_against_their_table(spark, name):
    spec = TABLES[name]
    empty = spark.createDataFrame([], spec.spark_ddl())
    for rule in spec.rules:
        empty.selectExpr(f"({rule.condition}) AS ok").collect()  # raises if the SQL names an unknown column


def test_lookup_by_name_explains_unknown_names():
    assert table("silver.daily_bars").merge_key == ("ticker", "trade_date")
    with pytest.raises(KeyError, match="no table 'silver.nope'"):
        table("silver.nope")


def test_bad_declarations_are_rejected():
    with pytest.raises(ValueError, match="layer"):
        TableSpec("platinum.x", "d", (Column("a", "string"),))
    with pytest.raises(ValueError, match="not a column"):
        TableSpec("silver.x", "d", (Column("a", "string"),), partition_by=("b",))
    with pytest.raises(ValueError, match="unknown type"):
        Column("a", "decimal")
