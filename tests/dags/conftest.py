"""Airflow reads its configuration when first imported, so point it at a throwaway
AIRFLOW_HOME (SQLite) and our dags/ folder before any test here imports it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
SLICE = FIXTURES / "sp500_slice.csv"

_HOME = tempfile.mkdtemp(prefix="pulselake-airflow-home-")
os.environ.update({
    "AIRFLOW_HOME": _HOME,
    "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME}/airflow.db",
})


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated metadata database in the throwaway AIRFLOW_HOME (dag.test() records its run there)."""
    airflow = str(Path(sys.executable).parent / "airflow")
    done = subprocess.run([airflow, "db", "migrate"], capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return _HOME


def slice_rows(month: str) -> int:
    """Data lines of the fixture slice in a month (yyyyMM), counted from the file itself."""
    with SLICE.open() as handle:
        next(handle)
        return sum(1 for line in handle if line.startswith(month))
