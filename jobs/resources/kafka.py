"""Where Kafka is and how to log in: one set of settings for every producer, Spark and the admin calls.

Read from the environment (prefix ``KAFKA_``) or ``.env``. With no
``KAFKA_BOOTSTRAP_SERVERS`` the project's own broker is meant: ``make kafka`` (or the
nightly, which starts one when none answers) on 127.0.0.1:``KAFKA_PORT``, whose client
password is ``KAFKA_SASL_PASSWORD`` or else the one it generated into
``.kafka/client-password``. Pointing at an existing cluster changes only these settings.
"""

from __future__ import annotations

import logging
import os
import secrets
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_KAFKA_DIR = REPO_ROOT / ".kafka"
PASSWORD_FILE_NAME = "client-password"
MAX_RECORD_BYTES = 16 << 20  # brokers, producers and Spark agree: a 10 MB frame is still a record (then quarantined)

_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAFKA_", env_file=".env", extra="ignore")

    bootstrap_servers: str | None = Field(
        default=None, description="host:port[,host:port]; unset: the local broker on 127.0.0.1:KAFKA_PORT")
    port: int = Field(default=9092, ge=1, le=65535, description="port of the local broker (`make kafka`)")
    data_dir: Path = Field(default=LOCAL_KAFKA_DIR, description="the local broker's data folder")
    security_protocol: Literal["SASL_PLAINTEXT", "SASL_SSL"] = "SASL_PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str = "pulselake"
    sasl_password: SecretStr | None = Field(
        default=None, description="unset: the local broker's generated password (<data_dir>/client-password)")
    partitions: int = Field(default=3, ge=1, description="partitions of the topics the project creates")
    topic_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$",
                              description="put before every topic name, e.g. `prod.` to share a cluster")

    def topic(self, name: str) -> str:
        """The topic's name on the cluster (`topic_prefix` + name)."""
        return self.topic_prefix + name

    @property
    def local(self) -> bool:
        """True when the project's own broker is meant (no KAFKA_BOOTSTRAP_SERVERS)."""
        return not self.bootstrap_servers

    @property
    def bootstrap(self) -> str:
        return self.bootstrap_servers or f"127.0.0.1:{self.port}"

    def password(self, create: bool = False) -> str:
        """The client password: the setting, else the local broker's file (made once when `create`)."""
        if self.sasl_password is not None:
            return self.sasl_password.get_secret_value()
        path = Path(self.data_dir) / PASSWORD_FILE_NAME
        if not path.exists():
            if not create or not self.local:
                raise RuntimeError(f"no Kafka password: set KAFKA_SASL_PASSWORD, or start the local broker "
                                   f"(`make kafka`) which writes {path}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(24), encoding="utf-8")
        return path.read_text(encoding="utf-8").strip()

    def client_config(self) -> dict[str, Any]:
        """Settings for confluent-kafka (librdkafka) producers, consumers and admin clients."""
        return {"bootstrap.servers": self.bootstrap, "security.protocol": self.security_protocol,
                "sasl.mechanisms": self.sasl_mechanism, "sasl.username": self.sasl_username,
                "sasl.password": self.password()}

    def spark_options(self) -> dict[str, str]:
        """The same login for Spark's Kafka source (`kafka.`-prefixed Java client settings)."""
        user, password = (v.replace("\\", "\\\\").replace('"', '\\"') for v in (self.sasl_username, self.password()))
        return {"kafka.bootstrap.servers": self.bootstrap, "kafka.security.protocol": self.security_protocol,
                "kafka.sasl.mechanism": self.sasl_mechanism,
                "kafka.sasl.jaas.config": f'{_LOGIN_MODULES[self.sasl_mechanism]} required '
                                          f'username="{user}" password="{password}";',
                "kafka.max.partition.fetch.bytes": str(MAX_RECORD_BYTES)}


class BrokerUnavailable(RuntimeError):
    """The configured Kafka cannot be reached or logged into; the message says what to do, in one line."""


def require_broker(settings: KafkaSettings, timeout_s: float = 10.0) -> None:
    """Fail fast, in one line, when the broker a command needs is not there (before Spark starts and a Kafka
    source spends half a minute retrying into a stack trace)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    hint = ("start one with `make kafka`" if settings.local
            else "check KAFKA_BOOTSTRAP_SERVERS and KAFKA_SASL_USERNAME/PASSWORD")
    try:
        config = settings.client_config()
    except RuntimeError as exc:  # no password: the local broker was never started here
        raise BrokerUnavailable(f"cannot reach Kafka at {settings.bootstrap}: {exc}") from None
    try:
        AdminClient({**config, "logger": _SILENT}).list_topics(timeout=timeout_s)
    except KafkaException as exc:
        reason = exc.args[0].str() if exc.args and hasattr(exc.args[0], "str") else str(exc)
        raise BrokerUnavailable(f"cannot reach Kafka at {settings.bootstrap} ({reason}); {hint}") from None


# librdkafka's connect errors go to logging (a run log's file when there is one), never raw to the terminal.
_SILENT = logging.getLogger("pulselake.kafka.require_broker")
_SILENT.addHandler(logging.NullHandler())


@lru_cache(maxsize=1)
def get_kafka_settings() -> KafkaSettings:
    return KafkaSettings()


@contextmanager
def kafka_environment(values: dict[str, str]) -> Iterator[KafkaSettings]:
    """`values` (KAFKA_* variables) set in os.environ, where collectors, steps and subprocesses read them, for the
    block; yields the settings they make. The environment and the cached settings are restored afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    get_kafka_settings.cache_clear()
    try:
        yield get_kafka_settings()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_kafka_settings.cache_clear()
