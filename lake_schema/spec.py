"""The vocabulary every table definition is written in.

A `TableSpec` is the single source of truth for one table: its name, layer,
columns, partitioning, merge key, data-quality rules and a one-line
description. Jobs ask the spec for schemas; they never restate one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

Layer = Literal["landing", "bronze", "silver", "gold"]
LAYERS: tuple[Layer, ...] = ("landing", "bronze", "silver", "gold")

# Column types are named once here and mapped to both Arrow (what delta-rs
# stores) and Spark SQL (what jobs compute with). Timestamps are always UTC
# instants: Delta's plain `timestamp` type, readable by every Delta reader.
_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "long": pa.int64(),
    "int": pa.int32(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "array<string>": pa.list_(pa.string()),
}
_SPARK_TYPES: dict[str, str] = {
    "string": "STRING",
    "long": "BIGINT",
    "int": "INT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "array<string>": "ARRAY<STRING>",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        if self.type not in _ARROW_TYPES:
            raise ValueError(f"column {self.name!r}: unknown type {self.type!r}; use one of {sorted(_ARROW_TYPES)}")


@dataclass(frozen=True)
class Rule:
    """A data-quality expectation, declared once beside its table.

    `condition` is Spark SQL that must be true for a good row (NULL counts as
    false). With action "quarantine" a failing row is moved to the quarantine
    table with `name` as its reason; with "warn" it is kept and counted.
    """

    name: str
    condition: str
    description: str = ""
    action: Literal["quarantine", "warn"] = "quarantine"


@dataclass(frozen=True)
class TableSpec:
    name: str  # "<layer>.<table>", e.g. "silver.daily_bars"
    description: str
    columns: tuple[Column, ...]
    partition_by: tuple[str, ...] = ()
    merge_key: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        layer, _, short = self.name.partition(".")
        if layer not in LAYERS or not short:
            raise ValueError(f"table name {self.name!r} must be '<layer>.<name>' with layer in {LAYERS}")
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate column names")
        for key in (*self.partition_by, *self.merge_key):
            if key not in names:
                raise ValueError(f"{self.name}: {key!r} is not a column")
        if len(self.partition_by) > 1:
            raise ValueError(f"{self.name}: at most one partition column is supported")

    @property
    def layer(self) -> Layer:
        return self.name.split(".", 1)[0]  # type: ignore[return-value]

    @property
    def short_name(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, _ARROW_TYPES[c.type], nullable=c.nullable) for c in self.columns])

    def spark_type(self, name: str) -> str:
        return _SPARK_TYPES[self.column(name).type]

    def spark_ddl(self) -> str:
        """Spark DDL string, e.g. 'ticker STRING NOT NULL, close DOUBLE'."""
        parts = []
        for c in self.columns:
            parts.append(f"`{c.name}` {_SPARK_TYPES[c.type]}{'' if c.nullable else ' NOT NULL'}")
        return ", ".join(parts)


KAFKA_LINEAGE = (
    Column("kafka_topic", "string", False, "the Kafka record this row came from: topic,"),
    Column("kafka_partition", "int", False, "partition"),
    Column("kafka_offset", "long", False, "and offset"),
)
