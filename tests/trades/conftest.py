"""The bronze trades fixture (the CSV beside these tests), shared by the silver and gold tests."""

from __future__ import annotations

import pytest

from tests.small_lake import bronze_trades_fixture


@pytest.fixture
def bronze(spark):
    return bronze_trades_fixture(spark)
