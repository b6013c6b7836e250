"""The local Kafka broker is a real one: records round-trip, strangers are refused, only 127.0.0.1 listens,
a crash loses no acknowledged record, and `make kafka`'s entry point starts and stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from jobs.local.kafka_broker import KafkaBroker
from tests.foreground import foreground
from tests.kafka_fixture import free_ports  # the `kafka_broker` fixture comes from tests/conftest.py

pytestmark = pytest.mark.slow  # minutes of Spark work or a private service: `make test` runs it, `make test-fast` does not

REPO = Path(__file__).resolve().parents[2]
BIG = 10 * 1024 * 1024


def produce(config: dict, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    """Send and wait for every acknowledgement (acks=all); fail on any delivery error."""
    failures: list[KafkaError] = []
    producer = Producer({**config, "acks": "all", "message.max.bytes": 16 * 1024 * 1024, "linger.ms": 0})
    for key, value in records:
        producer.produce(topic, value, key, on_delivery=lambda err, msg: err and failures.append(err))
    assert producer.flush(30) == 0, "records still in flight after 30 s"
    assert not failures, failures


def consume(config: dict, topic: str, count: int, *, group: str | None = None, timeout_s: float = 30) -> list:
    """Read `count` records from the start: through a consumer group when `group` is given, else by assign()."""
    consumer = Consumer({**config, "group.id": group or f"reader-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        if group:
            consumer.subscribe([topic])
        else:
            consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        records, deadline = [], time.monotonic() + timeout_s
        while len(records) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            records.append((msg.key(), msg.value()))
        return records
    finally:
        consumer.close()


def test_an_authenticated_client_round_trips_records_through_a_consumer_group(kafka_broker):
    topic = f"roundtrip-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topics({topic: 1})
    kafka_broker.create_topics([topic])  # idempotent: an existing topic is fine
    big = os.urandom(BIG)  # message.max.bytes is 16 MiB: a 10 MB record fits
    produce(kafka_broker.client_config(), topic, [(b"AAPL", b'{"price": 1.5}'), (b"BIG", big)])

    got = consume(kafka_broker.client_config(), topic, 2, group="roundtrip")

    assert got == [(b"AAPL", b'{"price": 1.5}'), (b"BIG", big)]


def _metadata_error(config: dict) -> KafkaError | None:
    """The error of one metadata request (None if it succeeded); the client never outlives the call."""
    try:
        AdminClient({**config, "log_level": 0}).list_topics(timeout=3)
    except KafkaException as exc:
        return exc.args[0]
    return None


def _auth_errors(config: dict, timeout_s: float = 15) -> list[KafkaError]:
    """Errors a client reports while it tries to connect, until an authentication failure shows up."""
    errors: list[KafkaError] = []
    admin = AdminClient({**config, "log_level": 0, "error_cb": errors.append})
    future = admin.describe_cluster(request_timeout=timeout_s)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not any(e.code() == KafkaError._AUTHENTICATION for e in errors):
        admin.poll(0.2)
    future.cancel()
    return errors


def test_clients_without_the_password_are_refused(kafka_broker):
    assert _metadata_error(kafka_broker.client_config()) is None

    no_sasl = {"bootstrap.servers": kafka_broker.bootstrap, "security.protocol": "PLAINTEXT"}
    assert _metadata_error(no_sasl) is not None

    wrong_password = {**kafka_broker.client_config(), "sasl.password": "not-the-password"}
    unknown_user = {**kafka_broker.client_config(), "sasl.username": "mallory"}
    for config in (wrong_password, unknown_user):
        errors = _auth_errors(config)
        assert any(e.code() == KafkaError._AUTHENTICATION for e in errors), errors


def test_the_broker_listens_on_127_0_0_1_only(kafka_broker):
    listening = [c for c in psutil.Process(kafka_broker.pid).net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN]

    assert {c.laddr.port for c in listening} == {kafka_broker.port, kafka_broker.controller_port}, listening
    assert all(c.laddr.ip == "127.0.0.1" for c in listening), listening
    mode = stat.S_IMODE((kafka_broker.data_dir / "server.properties").stat().st_mode)
    assert mode == 0o600  # it holds the passwords


def test_a_killed_broker_restarts_on_its_data_dir_with_every_acknowledged_record(tmp_path):
    port, controller_port = free_ports(2)
    broker = KafkaBroker(tmp_path / "kafka", port, controller_port, username="crash", password="crash-pw")
    try:
        broker.start()
        broker.create_topics({"ticks": 1, "other": 2})
        produce(broker.client_config(), "ticks", [(b"k", b"before the crash")])
        first_pid = broker.pid

        broker.kill()
        assert not broker.running and not psutil.pid_exists(first_pid)
        broker.start()

        assert broker.pid != first_pid
        assert consume(broker.client_config(), "ticks", 1) == [(b"k", b"before the crash")]
        produce(broker.client_config(), "ticks", [(b"k", b"after")])
        assert consume(broker.client_config(), "ticks", 2)[-1] == (b"k", b"after")
        topics = AdminClient(broker.client_config()).list_topics(timeout=10).topics
        assert {"ticks", "other"} <= set(topics) and len(topics["other"].partitions) == 2
    finally:
        broker.stop()
    assert not broker.running


def test_a_broker_that_cannot_start_says_why(tmp_path):
    port, controller_port = free_ports(2)
    broker = KafkaBroker(tmp_path / "kafka", port, controller_port, username="u", password="p")

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(RuntimeError, match="exited with code") as raised:
            broker.start(timeout_s=60)

    assert "Address already in use" in str(raised.value)  # the tail of broker.log is quoted
    assert not broker.running


def test_the_command_line_help():
    result = subprocess.run([sys.executable, "-m", "jobs.local.kafka_broker", "--help"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert "--port" in result.stdout and "--data-dir" in result.stdout


def test_make_kafka_prints_how_to_connect_and_stops_cleanly_on_ctrl_c(tmp_path):
    port, controller_port = free_ports(2)
    data_dir = tmp_path / "kafka"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    env.update(PYTHONUNBUFFERED="1", KAFKA_PORT=str(port), KAFKA_CONTROLLER_PORT=str(controller_port), COLUMNS="200")
    command = [sys.executable, "-m", "jobs.local.kafka_broker", "--data-dir", str(data_dir)]
    with foreground(command, env, "KAFKA_SASL_PASSWORD") as (proc, lines):
        out = "".join(lines)
        password_file = data_dir / "client-password"
        assert f"KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:{port}" in out
        assert "KAFKA_SASL_USERNAME=pulselake" in out and str(password_file) in out
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        jvm_pid = int(re.search(r"pid (\d+)", out).group(1))
        config = {"bootstrap.servers": f"127.0.0.1:{port}", "security.protocol": "SASL_PLAINTEXT",
                  "sasl.mechanisms": "PLAIN", "sasl.username": "pulselake",
                  "sasl.password": password_file.read_text().strip()}
        assert _metadata_error(config) is None

        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, "".join(lines)
    assert "stopped" in "".join(lines)
    assert not psutil.pid_exists(jvm_pid) or psutil.Process(jvm_pid).status() == psutil.STATUS_ZOMBIE
