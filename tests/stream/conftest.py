"""Helpers to run the real streaming query in the test session's Spark."""

from __future__ import annotations

import time

import pytest

from jobs.stream.batch import BatchReport
from jobs.stream.query import StreamConfig, start_stream


@pytest.fixture
def run_available_now():
    """Run the query with trigger availableNow (takes what has landed, then stops); return its batch reports."""

    def run(lake, timeout_s: float = 300, **config) -> list[BatchReport]:
        reports: list[BatchReport] = []
        query = start_stream(lake, StreamConfig(available_now=True, **config), on_batch=reports.append)
        try:
            finished = query.awaitTermination(timeout_s)
        finally:
            if query.isActive:
                query.stop()
        assert finished, f"the stream did not catch up in {timeout_s} s"
        return reports

    return run


def wait_until(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(0.2)
