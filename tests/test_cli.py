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
