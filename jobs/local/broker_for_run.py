"""The broker a run talks to: the configured cluster, the local one already up, or one started for the run."""

from __future__ import annotations

import socket
from contextlib import contextmanager
from typing import Iterator

from jobs.resources.kafka import KafkaSettings


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def kafka_for_run(settings: KafkaSettings) -> Iterator[str]:
    """Yield a line naming the broker. With no KAFKA_BOOTSTRAP_SERVERS and nothing on 127.0.0.1:KAFKA_PORT,
    start the project's broker (data in KAFKA_DATA_DIR, default .kafka/) for the run and stop it after."""
    if not settings.local:
        yield f"Kafka at {settings.bootstrap}"
        return
    if _answers(settings.port):
        yield f"local Kafka at {settings.bootstrap} (already running)"
        return
    from jobs.local.kafka_broker import KafkaBroker

    broker = KafkaBroker(settings.data_dir, settings.port, username=settings.sasl_username,
                         password=settings.password(create=True))
    broker.start()
    try:
        yield f"local Kafka at {broker.bootstrap} (started for this run, data in {settings.data_dir})"
    finally:
        broker.stop()
