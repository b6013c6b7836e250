"""Delta maintenance on a real table: OPTIMIZE compacts the small files of many appends, VACUUM deletes
what no version needs (compacted-away files, a killed writer's uncommitted file) and nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jobs.maintenance import chosen_tables, optimize_tables, vacuum_tables
from tests.resources.faults import data_files, ever_added
from tests.resources.test_lake import D1, D2, EVENTS, contents, events, row


@pytest.mark.slow
def test_optimize_then_vacuum_compact_and_delete_only_unreferenced_files(lake, spark):
    for i in range(4):  # four commits: four small files in D1, one in D2
        lake.append(EVENTS, events(spark, [row(f"e{i}", D1, float(i))] + ([row("d2", D2, 9.0)] if i == 0 else [])))
    table_dir = Path(lake.uri(EVENTS))
    before = contents(lake)
    small = sorted(data_files(table_dir))
    orphan = table_dir / "day=2010-01-04" / "part-99999-killed-writer.c000.snappy.parquet"
    shutil.copy(table_dir / small[0], orphan)  # what a writer killed before its commit leaves
    assert len(small) == 5

    optimized = optimize_tables(lake, [EVENTS])
    assert optimized.notes == [f"{EVENTS.name}: 4 files compacted into 1"]
    assert contents(lake) == before
    assert optimize_tables(lake, [EVENTS]).notes == [f"{EVENTS.name}: 0 files compacted into 0"]  # nothing left

    kept = vacuum_tables(lake, [EVENTS])  # Delta's 7-day default: everything here is too young to go
    assert kept.notes == [f"{EVENTS.name}: 0 files deleted"] and orphan.exists()
    swept = vacuum_tables(lake, [EVENTS], retain_hours=0)
    assert swept.notes == [f"{EVENTS.name}: 5 files deleted"]  # four compacted-away files and the orphan
    assert not orphan.exists() and len(data_files(table_dir)) == 2
    assert data_files(table_dir) <= ever_added(table_dir)
    assert contents(lake) == before


def test_maintenance_names_tables_it_does_not_know_and_skips_missing_ones(lake):
    with pytest.raises(ValueError, match=r"unknown table\(s\) \['silver.nope'\]"):
        chosen_tables(["silver.nope"])
    missing = chosen_tables(["gold.predictions"])
    assert optimize_tables(lake, missing).skipped == ["gold.predictions (no table yet)"]
    assert not lake.exists(missing[0])  # maintenance never creates tables
