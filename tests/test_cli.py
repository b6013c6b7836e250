"""The `pulselake` console script, run as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PULSELAKE = Path(sys.executable).parent / "pulselake"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(PULSELAKE), *args], capture_output=True, text=True, timeout=120)


def test_every_command_has_help():
    top = run("--help")
    assert top.returncode == 0 and "nightly" in top.stdout and "tables" in top.stdout
    nightly = run("nightly", "--help")
    assert nightly.returncode == 0 and "--start" in nightly.stdout and "--lake-root" in nightly.stdout
    assert "--verbose" in nightly.stdout and "log file" in nightly.stdout


def test_tables_lists_the_schema():
    result = run("tables")
    assert result.returncode == 0
    assert "silver.daily_bars" in result.stdout and "bronze.quarantine" in result.stdout


def test_a_bad_date_is_a_clear_error_not_a_stack_trace():
    result = run("nightly", "--start", "2010-13-01")
    assert result.returncode != 0
    assert "YYYY-MM-DD" in result.stderr and "Traceback" not in result.stderr


def test_one_step_runs_alone_for_a_window_and_a_half_window_is_refused(tmp_path):
    # prices.symbols reads nothing and touches no topic: no Kafka broker is started for it.
    result = run("step", "prices.symbols", "--lake-root", str(tmp_path / "lake"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Kafka: not needed" in result.stderr and "prices.symbols" in result.stderr
    from deltalake import DeltaTable

    assert DeltaTable(str(tmp_path / "lake" / "silver" / "symbols")).to_pyarrow_table().num_rows > 500
    half = run("step", "prices.silver", "--start", "2010-01-01", "--lake-root", str(tmp_path / "lake"))
    assert half.returncode == 2 and "give both start and end" in half.stderr
