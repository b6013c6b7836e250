"""Every write of a table with "quarantine" rules applies them (Lake.append / overwrite / merge).

The specs are discovered from `lake_schema.TABLES`, so a table that gains a rule is tested without
touching this file. Good rows and one rule-breaking change per rule come from a small fixture per
table (fixtures/lake_rules/<table>.json): a rule can be broken generically (NULL breaks most), but a
row that passes every rule cannot be built from the spec alone, and `test_every_rule_has_a_fixture`
says which table or rule lacks one.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from jobs.resources.lake import CommitResult, Txn
from jobs.steps import StepReport
from lake_schema import TABLES
from lake_schema.quarantine import QUARANTINE
from lake_schema.spec import TableSpec

FIXTURES = Path(__file__).parent / "fixtures" / "lake_rules"
RULED = [spec for spec in TABLES.values()
         if spec is not QUARANTINE and any(r.action == "quarantine" for r in spec.rules)]
OPERATIONS = ["append", "overwrite", "merge"]


def quarantine_rules(spec: TableSpec) -> list[str]:
    return [r.name for r in spec.rules if r.action == "quarantine"]


def fixture(spec: TableSpec) -> dict:
    path = FIXTURES / f"{spec.name}.json"
    if not path.exists():
        pytest.fail(f"{spec.name} declares quarantine rules but has no fixture {path}")
    return json.loads(path.read_text())


def typed(spec: TableSpec, row: dict) -> tuple:
    """A fixture row (JSON) or a row read back as Python values of the spec's column types, in column order."""
    out = []
    for column in spec.columns:
        value = row.get(column.name)
        if isinstance(value, str) and column.type == "date":
            value = date.fromisoformat(value)
        elif isinstance(value, str) and column.type == "timestamp":
            value = datetime.fromisoformat(value)
        elif value is not None and column.type == "double":
            value = float(value)
        out.append(value)
    return tuple(out)


def frame(spark, spec: TableSpec, rows: list[dict]):
    """Rows in the spec's column types, every column nullable (a broken row may hold NULL anywhere)."""
    ddl = ", ".join(f"`{c.name}` {spec.spark_type(c.name)}" for c in spec.columns)
    return spark.createDataFrame([typed(spec, r) for r in rows], StructType.fromDDL(ddl))


def rekeyed(spec: TableSpec, row: dict, suffix: str) -> dict:
    """`row` under another merge key (a suffix on its first string key column, or a number derived from the suffix
    added to its first integer one), so it is a different record."""
    column = next(c for c in spec.merge_key if spec.column(c).type in ("string", "long"))
    if spec.column(column).type == "long":
        return {**row, column: row[column] + zlib.crc32(suffix.encode())}
    return {**row, column: f"{row[column]}-{suffix}"}


def record_key(spec: TableSpec, row: dict) -> str | None:
    """The key as the lake's quarantine writes it (Spark's string casts: a timestamp as UTC 'YYYY-MM-DD HH:MM:SS')."""
    if not spec.merge_key:
        return None
    values = dict(zip(spec.column_names, typed(spec, row)))
    return ":".join(_key_text(values[k]) for k in spec.merge_key if values.get(k) is not None)


def _key_text(value) -> str:
    if isinstance(value, datetime):
        utc = value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
        return utc.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def batch(spec: TableSpec, row: dict) -> str:
    if not spec.partition_by:
        return f"{spec.name}__all"
    value = row.get(spec.partition_by[0])
    return f"{spec.name}__{'null' if value is None else value}"


def write(lake, spec: TableSpec, df, operation: str, where=None, txn=None) -> CommitResult:
    if operation == "append":
        return lake.append(spec, df, txn=txn)
    if operation == "overwrite":
        return lake.overwrite(spec, df, where=where, txn=txn)
    return lake.merge(spec, df, txn=txn)


def rejects(lake, spec: TableSpec) -> list:
    return lake.read(QUARANTINE).where(F.col("target_table") == spec.name).collect()


def table_keys(lake, spec: TableSpec) -> list[str]:
    return sorted(record_key(spec, r.asDict()) for r in lake.read(spec).collect())


def failed_rules(spark, spec: TableSpec, *rows: dict) -> list[list[str]]:
    """Per row, the quarantine rules it breaks (NULL counts as broken) in declared order, evaluated by Spark as
    the lake does, in one job."""
    rules = [r for r in spec.rules if r.action == "quarantine"]
    got = frame(spark, spec, list(rows)).select(
        F.monotonically_increasing_id().alias("_n"),
        *[(~F.coalesce(F.expr(r.condition), F.lit(False))).alias(r.name) for r in rules]).orderBy("_n").collect()
    return [[r.name for r in rules if row[r.name]] for row in got]


def test_some_tables_declare_quarantine_rules():
    assert RULED, "no spec in lake_schema declares a quarantine rule: this file tests nothing"


def test_every_rule_has_a_fixture(spark):
    """Each ruled table has a good row passing every rule, and per rule a change that breaks it first."""
    for spec in RULED:
        data = fixture(spec)
        assert set(data["good"]) == set(spec.column_names), f"{spec.name}: the good row must name every column"
        assert set(data["breaks"]) == set(quarantine_rules(spec)), f"{spec.name}: one change per quarantine rule"
        changes = list(data["breaks"].items())
        good, *broken = failed_rules(spark, spec, data["good"], *[{**data["good"], **c} for _, c in changes])
        assert good == [], f"{spec.name}: the good row breaks {good}"
        for (rule, _), rules in zip(changes, broken):
            # The first rule broken names the reason. Rules may overlap (a NULL price breaks prices_present and,
            # being NULL, prices_positive too), so a later one may break as well, never an earlier one.
            assert rules[:1] == [rule], f"{spec.name}: the change for {rule} breaks {rules}"


def _write_case(spec: TableSpec):
    """(a good row, the same row breaking the spec's first rule, that rule's name)."""
    data = fixture(spec)
    good = data["good"]
    first = quarantine_rules(spec)[0]
    bad = rekeyed(spec, {**good, **data["breaks"][first]}, "bad")
    return good, bad, first


def _lane(spec: TableSpec) -> tuple:
    """The fast lane (`make test-fast`) writes one ruled table each way; `make test` writes every one."""
    return () if spec is RULED[0] else (pytest.mark.slow,)


# Every ruled table through append, with one row breaking each of its rules (its own rules, its own fixture);
# every operation through one partitioned and one unpartitioned table (the operations share one rule path,
# `jobs.quality.enforce_rules`, so the whole table x operation matrix would test the same code 27 times).
OPERATION_TABLES = [RULED[0], next(spec for spec in RULED if not spec.partition_by)]
CASES = [pytest.param(spec, "append", id=f"{spec.name}-append", marks=_lane(spec)) for spec in RULED] + [
    pytest.param(spec, op, id=f"{spec.name}-{op}", marks=_lane(spec)) for spec in OPERATION_TABLES
    for op in OPERATIONS[1:] if op != "merge" or spec.merge_key]


@pytest.mark.parametrize("spec, operation", CASES)
def test_every_write_quarantines_rows_breaking_a_rule(lake, spark, spec, operation):
    data = fixture(spec)
    good = data["good"]
    # One row per rule, each under its own key, breaking that rule first (test_every_rule_has_a_fixture).
    bad = {rule: rekeyed(spec, {**good, **data["breaks"][rule]}, rule) for rule in quarantine_rules(spec)}
    rows, reasons = [good, *bad.values()], dict.fromkeys(bad, 1)
    expected = Counter(batch(spec, row) for row in bad.values())
    nulls = {c: None for c in spec.column_names}
    # An all-NULL row breaks every rule whose condition NULL makes NULL; it never reaches the table, so its
    # NOT NULL columns do not matter, and its NULL partition value still names a batch.
    null_rule = (failed_rules(spark, spec, nulls)[0] or [None])[0]
    if null_rule is not None:
        rows.append(nulls)
        expected[batch(spec, nulls)] += 1
        reasons[null_rule] += 1
    where = [(spec.partition_by[0], "=", typed(spec, good)[spec.column_names.index(spec.partition_by[0])])] \
        if operation == "overwrite" and spec.partition_by else None
    df = frame(spark, spec, rows)

    result = write(lake, spec, df, operation, where=where)

    assert result.rows == 1 and not result.skipped
    assert result.quarantined == reasons
    assert table_keys(lake, spec) == [record_key(spec, good)]
    got = rejects(lake, spec)
    assert {r.target_table for r in got} == {spec.name} and all(r.detail for r in got)
    assert Counter(r.quarantine_batch for r in got) == expected
    by_key = {r.record_key: r for r in got}
    for rule, row in bad.items():  # each broken row is quarantined under the name of the rule it breaks
        reject = by_key[record_key(spec, row)]
        assert (reject.reason, reject.quarantine_batch) == (rule, batch(spec, row))
        assert json.loads(reject.record).get(spec.column_names[0]) == row[spec.column_names[0]]

    again = write(lake, spec, df, operation, where=where)

    assert again.quarantined == result.quarantined
    assert len(rejects(lake, spec)) == len(got), "a rerun must replace its quarantine batches, not add to them"
    assert lake.row_count(QUARANTINE) == len(got)


def test_a_write_whose_txn_is_applied_skips_the_rules_too(lake, spark):
    spec = RULED[0]
    good, bad, _ = _write_case(spec)
    df = frame(spark, spec, [good, bad])
    assert lake.append(spec, df, txn=Txn("rules-test", 1)).quarantined
    lake.overwrite(QUARANTINE, lake.read(QUARANTINE).limit(0))  # a skipped write must not refill it
    again = lake.append(spec, df, txn=Txn("rules-test", 1))
    assert again.skipped and again.quarantined == {} and lake.row_count(QUARANTINE) == 0


def test_a_clean_write_leaves_the_quarantine_alone(lake, spark):
    """A step that splits its own rejects into the same batch names keeps them: nothing failing writes nothing."""
    spec = RULED[0]
    good, bad, first = _write_case(spec)
    lake.append(spec, frame(spark, spec, [good, bad]))
    before = lake.version(QUARANTINE)
    result = lake.append(spec, frame(spark, spec, [rekeyed(spec, good, "more")]))
    assert result.quarantined == {} and lake.version(QUARANTINE) == before
    assert [r.reason for r in rejects(lake, spec)] == [first]


def test_step_reports_count_what_the_lake_quarantined():
    report = StepReport("s")
    report.add_quarantine({"price_positive": 1})
    report.add_written(CommitResult("silver.trades", "append", 3, 5, quarantined={"price_positive": 2, "x": 1}))
    report.add_written(CommitResult("silver.trades", "append", 4, 1))
    assert report.tables == {"silver.trades": 6} and report.quarantined == {"price_positive": 3, "x": 1}


def test_the_lake_counts_warn_rules_in_its_commit_and_keeps_the_rows(lake, spark):
    """A "warn" rule keeps the row and says so: the write's result counts it per rule, and a step's report adds it
    up, whichever step wrote the table."""
    spec = next(s for s in RULED if any(r.action == "warn" for r in s.rules))
    warn = next(r for r in spec.rules if r.action == "warn")
    good = fixture(spec)["good"]
    breaking = {"silver.daily_bars": {"open": good["high"] * 2},  # opened above the day's high
                "silver.reddit_posts": {"created_at": "2099-01-01T00:00:00+00:00"}}[spec.name]  # after its fetch
    odd = rekeyed(spec, {**good, **breaking}, "odd")
    assert failed_rules(spark, spec, odd) == [[]], "the changed row must pass every quarantine rule"

    result = lake.append(spec, frame(spark, spec, [good, odd]))

    assert result.rows == 2 and result.quarantined == {} and result.warnings == {warn.name: 1}
    assert table_keys(lake, spec) == sorted([record_key(spec, good), record_key(spec, odd)])
    report = StepReport("s")
    report.add_written(result)
    report.add_written(lake.append(spec, frame(spark, spec, [rekeyed(spec, odd, "again")])))
    assert report.warnings == {warn.name: 2}
    assert lake.append(spec, frame(spark, spec, [rekeyed(spec, good, "clean")])).warnings == {}
