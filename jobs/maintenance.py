"""Table maintenance: Delta's OPTIMIZE (compact the small files the stream's micro-batches leave) and
VACUUM (delete files no recent version references: replaced data, and the uncommitted files of a
writer killed before its commit). Run by `pulselake optimize` / `pulselake vacuum` and the
`pulselake_maintenance` DAG."""

from __future__ import annotations

import json
from datetime import datetime, timezone
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


def pinned_versions(lake: Lake) -> dict[str, tuple[int, str]]:
    """Per table, the oldest version a registered model run read, and that run: what `pulselake models reproduce`
    needs kept."""
    from jobs.models.registry import runs

    oldest: dict[str, tuple[int, str]] = {}
    for run in runs(lake):
        for table, version in json.loads(run.get("input_versions") or "{}").items():
            if table not in oldest or version < oldest[table][0]:
                oldest[table] = (version, run["version"])
    return oldest


@timed
def vacuum_tables(lake: Lake, specs: list[TableSpec], retain_hours: float = DEFAULT_RETAIN_HOURS,
                  keep_model_inputs: bool = True) -> StepReport:
    """VACUUM each table; with `keep_model_inputs`, a table a registered model run read keeps every file since the
    version that run read (its retention stretches back to that commit), so the run stays reproducible."""
    report = StepReport(f"maintenance: vacuum (retain {retain_hours:g} h)")
    pinned = pinned_versions(lake) if keep_model_inputs else {}
    now = datetime.now(timezone.utc)
    for spec in specs:
        if not lake.exists(spec):
            report.skipped.append(f"{spec.name} (no table yet)")
            continue
        hours = retain_hours
        if spec.name in pinned:
            version, run = pinned[spec.name]
            needed = (now - lake.commit_time(spec, version)).total_seconds() / 3600 + 1
            if needed > hours:
                hours = needed
                report.notes.append(f"{spec.name}: kept {needed:.0f} h, back to version {version} (model run {run})")
        report.notes.append(f"{spec.name}: {lake.vacuum(spec, hours)} files deleted")
    return report
