"""The small lake the notebooks run against (shared on disk with tests/dashboard in one session)."""

from __future__ import annotations

import pytest

from tests.small_lake import ensure_small_lake


@pytest.fixture(scope="session")
def small_lake(spark, tmp_path_factory):
    return ensure_small_lake(spark, tmp_path_factory.getbasetemp() / "small_lake")
