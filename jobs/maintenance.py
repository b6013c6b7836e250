"""Table maintenance: Delta's OPTIMIZE (compact the small files the stream's micro-batches leave) and
VACUUM (delete files no recent version references: replaced data, and the uncommitted files of a
writer killed before its commit). Run by `pulselake optimize` / `pulselake vacuum` and the
`pulselake_maintenance` DAG."""

from __future__ import annotations

from typing import Iterable

from jobs.resources.lake import Lake
from jobs.steps import StepReport, timed
from lake_schema import TABLES
from lake_schema.spec import TableSpec

# Delta's own default: readers of versions older than this (time travel, long queries) may lose files.
DEFAULT_RETAIN_HOURS = 168.0


def chosen_tables(names: Iterable[str] | None) -> list[TableSpec]:
    """The named tables (all of lake_schema's when none), with a clear error for an unknown name."""
    names = list(names or [])
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        raise ValueError(f"unknown table(s) {unknown}; `pulselake tables` lists them")
    return [TABLES[n] for n in names] if names else list(TABLES.values())


@timed
def optimize_tables(lake: Lake, specs: list[TableSpec]) -> StepReport:
    report = StepReport("maintenance: optimize")
    for spec in specs:
        if not lake.exists(spec):
            report.skipped.append(f"{spec.name} (no table yet)")
            continue
        metrics = lake.optimize(spec)
        report.notes.append(f"{spec.name}: {metrics['files_removed']} files compacted into {metrics['files_added']}")
    return report


@timed
def vacuum_tables(lake: Lake, specs: list[TableSpec], retain_hours: float = DEFAULT_RETAIN_HOURS) -> StepReport:
    report = StepReport(f"maintenance: vacuum (retain {retain_hours:g} h)")
    for spec in specs:
        if not lake.exists(spec):
            report.skipped.append(f"{spec.name} (no table yet)")
            continue
        report.notes.append(f"{spec.name}: {lake.vacuum(spec, retain_hours)} files deleted")
    return report
