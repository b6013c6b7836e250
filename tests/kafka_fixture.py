"""A real Kafka broker (KRaft, SASL PLAIN, 127.0.0.1) for tests, started once per test session.

Tests that need Kafka take the `kafka_broker` fixture and connect with `kafka_broker.client_config()`;
topics are not auto-created, so a test creates its own (unique names keep tests independent).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from jobs.local.jvm_daemon import free_ports  # noqa: F401  (tests take their ports from here)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory) -> Iterator:
    from jobs.local.kafka_broker import KafkaBroker

    port, controller_port = free_ports(2)
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka"), port, controller_port,
                         username="pulselake-test", password=secrets.token_urlsafe(16))
    with broker:
        yield broker
