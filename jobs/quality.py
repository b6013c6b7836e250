"""Data-quality expectations, enforced once for every table that declares them.

Rules live in `lake_schema` beside their table. `split_by_rules` sends each
row that breaks a "quarantine" rule to the reject side with the rule's name as
its reason; `to_quarantine` shapes rejects for the quarantine table, so no
row is ever dropped without a trace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lake_schema.quarantine import QUARANTINE
from lake_schema.spec import TableSpec

if TYPE_CHECKING:
    from jobs.resources.lake import Lake

REASON = "reason"
DETAIL = "detail"


def first_failed_rule(spec: TableSpec, action: str = "quarantine") -> Column:
    """The name of the first rule of `spec` the row breaks (NULL counts as broken), else NULL."""
    reason = F.lit(None).cast("string")
    for rule in reversed([r for r in spec.rules if r.action == action]):
        reason = F.when(~F.coalesce(F.expr(rule.condition), F.lit(False)), F.lit(rule.name)).otherwise(reason)
    return reason


def split_by_rules(df: DataFrame, spec: TableSpec) -> tuple[DataFrame, DataFrame]:
    """Return (rows passing every quarantine rule, rows failing one with `reason`/`detail`)."""
    flagged = df.withColumn(REASON, first_failed_rule(spec))
    passed = flagged.where(F.col(REASON).isNull()).drop(REASON)
    failed = flagged.where(F.col(REASON).isNotNull()).withColumn(DETAIL, _rule_text(spec))
    return passed, failed


def warning_counts(df: DataFrame, spec: TableSpec) -> dict[str, int]:
    """How many rows break each "warn" rule (kept, but reported)."""
    rules = [r for r in spec.rules if r.action == "warn"]
    if not rules:
        return {}
    row = df.select(
        *[F.sum(F.when(~F.coalesce(F.expr(r.condition), F.lit(False)), 1).otherwise(0)).alias(r.name) for r in rules]
    ).first()
    return {r.name: int(row[r.name] or 0) for r in rules}


def _rule_text(spec: TableSpec) -> Column:
    expr = F.lit(None).cast("string")
    for rule in spec.rules:
        expr = F.when(F.col(REASON) == rule.name, F.lit(f"{rule.description} ({rule.condition})")).otherwise(expr)
    return expr


def to_quarantine(
    rejected: DataFrame,
    *,
    target: TableSpec,
    batch: Column,
    record_columns: Iterable[str],
    record_key: Column | None = None,
) -> DataFrame:
    """Shape rejected rows (which carry `reason` and `detail`) for the quarantine table."""
    columns = list(record_columns)
    has = set(rejected.columns)

    def optional(name: str, type_name: str) -> Column:
        return F.col(name) if name in has else F.lit(None).cast(type_name)

    return rejected.select(
        F.concat(F.lit(f"{target.name}__"), batch.cast("string")).alias("quarantine_batch"),
        F.lit(target.name).alias("target_table"),
        F.col(REASON).alias("reason"),
        optional(DETAIL, "string").alias("detail"),
        (record_key if record_key is not None else F.lit(None).cast("string")).alias("record_key"),
        F.to_json(F.struct(*[F.col(c) for c in columns])).alias("record"),
        optional("source_file", "string").alias("source_file"),
        optional("line_number", "bigint").alias("line_number"),
        optional("kafka_topic", "string").alias("kafka_topic"),
        optional("kafka_partition", "int").alias("kafka_partition"),
        optional("kafka_offset", "bigint").alias("kafka_offset"),
        optional("ingest_date", "date").alias("ingest_date"),
    ).select(*QUARANTINE.column_names)


def quarantine_batches(target: TableSpec, partition_values: Iterable[object]) -> list[str]:
    return [f"{target.name}__{value}" for value in partition_values]


def write_quarantine(lake: "Lake", quarantine: DataFrame, batches: list[str]) -> dict[str, int]:
    """Replace these quarantine batches with `quarantine` (so reruns never pile up rejects);
    return the rows now held per reason."""
    where = [("quarantine_batch", "in", batches)]
    if not lake.overwrite(QUARANTINE, quarantine, where=where).rows:
        return {}
    counts = lake.read(QUARANTINE, where=where).groupBy("reason").count().collect()
    return {row["reason"]: row["count"] for row in counts}


# Times every reader of the lake can hold (Python's datetime ends with year 9999): [1970-01-01, 9999-12-31).
TIME_RANGE_MS = (0, 253_402_214_400_000)


def in_time_range(millis: Column) -> Column:
    """Whether `millis` (ms since the epoch) lies in TIME_RANGE_MS: a wild time becomes a reason, not a crash."""
    return (millis >= TIME_RANGE_MS[0]) & (millis < TIME_RANGE_MS[1])


def lake_time(ts: Column) -> Column:
    """`ts` (a timestamp) when it lies in TIME_RANGE_MS, else NULL."""
    return F.when(in_time_range(F.unix_millis(ts)), ts)
