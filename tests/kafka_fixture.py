"""A real Kafka broker (KRaft, SASL PLAIN, 127.0.0.1) for tests, started once per test session.

Tests that need Kafka take the `kafka_broker` fixture and connect with `kafka_broker.client_config()`;
topics are not auto-created, so a test creates its own (unique names keep tests independent).
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from contextlib import ExitStack

import pytest


def free_ports(count: int = 1) -> list[int]:
    """Distinct free ports on 127.0.0.1 (all sockets held open together, so none repeats)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory) -> Iterator:
    from jobs.resources.kafka_broker import KafkaBroker

    port, controller_port = free_ports(2)
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka"), port, controller_port,
                         username="pulselake-test", password=secrets.token_urlsafe(16))
    with broker:
        yield broker
