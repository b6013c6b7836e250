"""Data-quality expectations, enforced once for every table that declares them.

Rules live in `lake_schema` beside their table. `split_by_rules` sends each
row that breaks a "quarantine" rule to the reject side with the rule's name as
its reason; `to_quarantine` shapes rejects for the quarantine table, so no
row is ever dropped without a trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lake_schema.quarantine import QUARANTINE
from lake_schema.spec import TableSpec

REASON = "reason"
DETAIL = "detail"
# The lake's own split names its flag columns apart from any table column (silver.post_sentiment has a `reason`).
_LAKE_REASON = "_pulselake_rule_reason"
_LAKE_DETAIL = "_pulselake_rule_detail"


def first_failed_rule(spec: TableSpec, action: str = "quarantine") -> Column:
    """The name of the first rule of `spec` the row breaks (NULL counts as broken), else NULL."""
    reason = F.lit(None).cast("string")
    for rule in reversed([r for r in spec.rules if r.action == action]):
        reason = F.when(~F.coalesce(F.expr(rule.condition), F.lit(False)), F.lit(rule.name)).otherwise(reason)
    return reason


def has_rules(spec: TableSpec) -> bool:
    """Whether a write of `spec` is judged by the lake: it declares quarantine or warn rules."""
    return bool(spec.rules)


def split_by_rules(df: DataFrame, spec: TableSpec, reason: str = REASON,
                   detail: str = DETAIL) -> tuple[DataFrame, DataFrame]:
    """Return (rows passing every quarantine rule, rows failing one with `reason`/`detail`)."""
    flagged = df.withColumn(reason, first_failed_rule(spec))
    passed = flagged.where(F.col(reason).isNull()).drop(reason)
    failed = flagged.where(F.col(reason).isNotNull()).withColumn(detail, rule_text(spec, reason))
    return passed, failed


def warning_counts(df: DataFrame, spec: TableSpec) -> dict[str, int]:
    """How many rows of `df` break each "warn" rule (the data-quality notebook's whole-table view; a write's own
    count is in its CommitResult)."""
    rules = [r for r in spec.rules if r.action == "warn"]
    if not rules:
        return {}
    row = df.select(
        *[F.sum(F.when(~F.coalesce(F.expr(r.condition), F.lit(False)), 1).otherwise(0)).alias(r.name) for r in rules]
    ).first()
    return {r.name: int(row[r.name] or 0) for r in rules}


def rule_text(spec: TableSpec, reason: str = REASON) -> Column:
    """The description and condition of the rule named in column `reason` (NULL for any other value)."""
    expr = F.lit(None).cast("string")
    for rule in spec.rules:
        expr = F.when(F.col(reason) == rule.name, F.lit(f"{rule.description} ({rule.condition})")).otherwise(expr)
    return expr


def to_quarantine(
    rejected: DataFrame,
    *,
    target: TableSpec,
    batch: Column,
    record_columns: Iterable[str],
    record_key: Column | None = None,
    reason: str = REASON,
    detail: str = DETAIL,
) -> DataFrame:
    """Shape rejected rows (which carry `reason` and `detail`, or the columns so named) for the quarantine table."""
    columns = list(record_columns)
    has = set(rejected.columns)

    def optional(name: str, type_name: str) -> Column:
        return F.col(name) if name in has else F.lit(None).cast(type_name)

    return rejected.select(
        F.concat(F.lit(f"{target.name}__"), batch.cast("string")).alias("quarantine_batch"),
        F.lit(target.name).alias("target_table"),
        F.col(reason).alias("reason"),
        optional(detail, "string").alias("detail"),
        (record_key if record_key is not None else F.lit(None)).cast("string").alias("record_key"),
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


@dataclass(frozen=True)
class RuleSplit:
    """A frame split by its table's quarantine rules, for the lake's write path."""

    passed: DataFrame  # the rows to write to the table
    rejects: DataFrame | None = None  # shaped for bronze.quarantine; None when no row failed
    batches: tuple[str, ...] = ()  # the quarantine batches `rejects` fill
    counts: dict[str, int] = field(default_factory=dict)  # reason -> rejected rows
    warnings: dict[str, int] = field(default_factory=dict)  # warn rule -> rows kept that break it (none: absent)
    held: DataFrame | None = None  # the evaluated frame both sides read from; `release` frees it

    def release(self) -> None:
        """Free the evaluated frame once both sides are written."""
        if self.held is not None:
            self.held.unpersist()


def enforce_rules(df: DataFrame, spec: TableSpec) -> RuleSplit:
    """Split `df` by `spec`'s quarantine rules so no writer can skip them (Lake calls this on every write).

    `df` is evaluated once: its rows, flagged with the first rule each breaks, are persisted while one
    aggregation tallies the rejects per batch and reason and the kept rows breaking each "warn" rule (reported,
    not refused); both sides are then written from that copy, so an
    expensive plan (silver's dedupe) is not computed again for the write. The caller calls `release` after.
    Batches are "<table>__<partition value>", as `quarantine_batches` names them, so a step's own rejects
    and the lake's share a partition's batch; "<table>__all" for an unpartitioned table, "<table>__null"
    for a NULL partition value."""
    if not has_rules(spec):
        return RuleSplit(df)
    flagged = df.withColumn(_LAKE_REASON, first_failed_rule(spec)).persist(StorageLevel.MEMORY_AND_DISK)
    partition = spec.partition_by[0] if spec.partition_by else None
    value = F.coalesce(F.col(partition).cast("string"), F.lit("null")) if partition else F.lit("all")
    batch = F.concat(F.lit(f"{spec.name}__"), value)  # as to_quarantine names it
    warn_rules = [r for r in spec.rules if r.action == "warn"]
    kept_breaking = [F.sum(F.when(F.col(_LAKE_REASON).isNull() & ~F.coalesce(F.expr(r.condition), F.lit(False)), 1)
                           .otherwise(0)).alias(f"_warn_{i}") for i, r in enumerate(warn_rules)]
    tally = flagged.groupBy(batch.alias("batch"), F.col(_LAKE_REASON).alias("reason")).agg(
        F.count(F.lit(1)).alias("count"), *kept_breaking).collect()
    warnings = {r.name: total for i, r in enumerate(warn_rules)
                if (total := sum(int(row[f"_warn_{i}"] or 0) for row in tally))}
    passed = flagged.where(F.col(_LAKE_REASON).isNull()).drop(_LAKE_REASON)
    failed_rows = [row for row in tally if row["reason"] is not None]
    if not failed_rows:
        return RuleSplit(passed, held=flagged, warnings=warnings)
    failed = flagged.where(F.col(_LAKE_REASON).isNotNull()).withColumn(_LAKE_DETAIL, rule_text(spec, _LAKE_REASON))
    key = F.concat_ws(":", *[F.col(k).cast("string") for k in spec.merge_key]) if spec.merge_key else None
    rejects = to_quarantine(failed, target=spec, batch=value, record_columns=[c for c in spec.column_names if c in df.columns],
                            record_key=key, reason=_LAKE_REASON, detail=_LAKE_DETAIL)
    counts: dict[str, int] = {}
    for row in failed_rows:
        counts[row["reason"]] = counts.get(row["reason"], 0) + row["count"]
    return RuleSplit(passed, rejects, tuple(sorted({row["batch"] for row in failed_rows})), counts, held=flagged,
                     warnings=warnings)


# Times every reader of the lake can hold (Python's datetime ends with year 9999): [1970-01-01, 9999-12-31).
TIME_RANGE_MS = (0, 253_402_214_400_000)


def in_time_range(millis: Column) -> Column:
    """Whether `millis` (ms since the epoch) lies in TIME_RANGE_MS: a wild time becomes a reason, not a crash."""
    return (millis >= TIME_RANGE_MS[0]) & (millis < TIME_RANGE_MS[1])


def lake_time(ts: Column) -> Column:
    """`ts` (a timestamp) when it lies in TIME_RANGE_MS, else NULL."""
    return F.when(in_time_range(F.unix_millis(ts)), ts)
