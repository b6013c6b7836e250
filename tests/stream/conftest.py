"""The real streaming query in the test session's Spark, and a Kafka broker of a test's own.

Most stream tests use the root `kafka` fixture: the session's broker with topics of the test's own (a
fresh KAFKA_TOPIC_PREFIX), so the stream, which reads finnhub.trades from its earliest offset, sees
exactly what its test produced. The broker-crash test kills its broker, so it gets a private one.
"""

from __future__ import annotations

import secrets
import time

import pytest

from jobs.trades.batch import BatchReport
from jobs.stream.query import StreamConfig, start_stream
from tests.kafka_fixture import free_ports
from tests.kafka_records import kafka_environment


@pytest.fixture
def private_kafka(tmp_path):
    """(broker, its KafkaSettings): a broker only this test uses (free to kill), set as the environment."""
    from jobs.local.kafka_broker import KafkaBroker

    port, controller_port = free_ports(2)
    broker = KafkaBroker(tmp_path / "kafka", port, controller_port, username="stream-test",
                         password=secrets.token_urlsafe(16))
    with broker, kafka_environment(broker) as settings:
        yield broker, settings


@pytest.fixture
def run_available_now():
    """Run the query with trigger availableNow (takes what the topic holds, then stops); return its batch reports."""

    def run(lake, timeout_s: float = 300, **config) -> list[BatchReport]:
        reports: list[BatchReport] = []
        stream = start_stream(lake, StreamConfig(available_now=True, **config), on_batch=reports.append)
        try:
            finished = stream.await_termination(timeout_s)
        finally:
            stream.stop()
        assert finished, f"the stream did not catch up in {timeout_s} s"
        return reports

    return run


def wait_until(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(0.2)
