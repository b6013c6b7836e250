"""A real local Apache Kafka broker: KRaft (one JVM that is broker and controller), SASL PLAIN, 127.0.0.1 only.

Tests and `make kafka` need a genuine broker (the wire protocol, acks, restarts and crash recovery are the
point), but not Docker or a Kafka download: the jars already come from jvm/kafka/pom.xml into .jars/kafka/.
Every listener asks for a password, so a stray client on the machine cannot read or write the stream.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import secrets
import subprocess
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

import typer
from rich.console import Console

from jobs.resources.jars import DEFAULT_JARS_DIR, PROJECT_ROOT, module_jars
from jobs.local.jvm_daemon import (
    JvmDaemon, NotReady, java_binary, probe_until_ready, read_since, ready_or_killed, serve_in_foreground, write_secret,
)

__all__ = ["KafkaBroker", "main"]

INTERNAL_USER = "pulselake-broker"  # the broker's own login (broker -> controller, broker -> itself)
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # room for a 10 MB record plus batch overhead
DEFAULT_DATA_DIR = PROJECT_ROOT / ".kafka"
_ERROR_LINE = re.compile(r"^(\[[^]]+\] (ERROR|FATAL) |Caused by: )")
_USERNAME_RE = re.compile(r"^[A-Za-z0-9._-]+$")  # a JAAS `user_<name>` key must stay one token

_LOG4J2 = """\
# Written by jobs/local/kafka_broker.py on every start: the broker logs here, not to the console.
status = warn
# Kafka logs all through its own shutdown; log4j2's hook would stop the appender too early (and complain).
shutdownHook = disable
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = {log}
appender.file.filePattern = {log}.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
# Per-request and state-change chatter would drown the lines that explain a failure.
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
"""


class KafkaBroker:
    """One single-node Kafka 4.x broker+controller whose whole state lives in `data_dir`.

    The first `start()` formats the storage; later starts (after `stop()` or a crash via `kill()`) reuse the
    cluster id, topics and records. The process runs in its own process group so a Ctrl-C meant for a
    foreground Python program does not kill it half-way; `stop()` shuts it down cleanly.
    """

    def __init__(
        self,
        data_dir: str | Path,
        port: int,
        controller_port: int | None = None,
        *,
        username: str,
        password: str,
        jars_dir: str | Path | None = None,
        heap: str = "512m",
        retention_ms: int | None = None,
    ) -> None:
        if not _USERNAME_RE.match(username) or username == INTERNAL_USER:
            raise ValueError(f"username must match {_USERNAME_RE.pattern} and not be {INTERNAL_USER!r}: {username!r}")
        if not password or any(c in password for c in '"\\') or any(ord(c) < 32 for c in password):
            raise ValueError("password must be non-empty, without quotes, backslashes or control characters")
        self.data_dir = Path(data_dir).resolve()
        self.port = int(port)
        self.controller_port = int(controller_port) if controller_port is not None else self.port + 1
        if self.controller_port == self.port:
            raise ValueError("port and controller_port must differ")
        self.username = username
        self.password = password
        self.jars_dir = Path(jars_dir) if jars_dir is not None else DEFAULT_JARS_DIR
        self.heap = heap
        self.retention_ms = retention_ms
        self._daemon = JvmDaemon([*self._java_command(), "kafka.Kafka", str(self._properties_file)],
                                 self._stdout_file, self.data_dir)
        self._log_offset = 0

    # -- where things live -------------------------------------------------------------------------------
    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        """The broker's own log (log4j2): the place to look when something went wrong."""
        return self.data_dir / "broker.log"

    @property
    def _log_dir(self) -> Path:
        return self.data_dir / "logs"  # Kafka's `log.dirs`: partitions and the KRaft metadata log

    @property
    def _properties_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def _stdout_file(self) -> Path:
        return self.data_dir / "broker.out"  # JVM crashes and anything printed before log4j2 starts

    @property
    def running(self) -> bool:
        return self._daemon.running

    @property
    def pid(self) -> int | None:
        return self._daemon.pid

    def client_config(self) -> dict[str, str]:
        """What a confluent_kafka Producer/Consumer/AdminClient needs to talk to this broker."""
        return {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "PLAIN",
            "sasl.username": self.username,
            "sasl.password": self.password,
        }

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self, timeout_s: float = 60) -> KafkaBroker:
        """Format on first use, spawn the JVM, return once an authenticated client sees cluster metadata."""
        if self.running:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._write_configs()
        # broker.log is appended to across restarts: errors are quoted from this start on only.
        self._log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        if not (self._log_dir / "meta.properties").exists():
            self._format_storage(timeout_s)
        self._daemon.start()
        ready_or_killed(self._wait_ready, self.kill, timeout_s)
        return self

    def stop(self, timeout_s: float = 30) -> None:
        """Clean shutdown (SIGTERM: Kafka flushes and closes its logs), SIGKILL if it hangs."""
        self._daemon.stop(timeout_s)

    def kill(self) -> None:
        """SIGKILL, no goodbye: simulates a crash; `start()` on the same data_dir must recover."""
        self._daemon.kill()

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- topics ------------------------------------------------------------------------------------------
    def create_topics(self, names: Mapping[str, int] | Iterable[str], partitions: int = 3, timeout_s: float = 30) -> None:
        """Create topics (name -> partitions, or names with `partitions` each); existing ones are left alone."""
        from jobs.resources.kafka_admin import ensure_topics

        ensure_topics(self.client_config(), names, partitions=partitions, timeout_s=timeout_s)

    # -- internals ---------------------------------------------------------------------------------------
    def _internal_password(self) -> str:
        """The broker's own password: generated once, kept in the data dir so a restart logs in again."""
        path = self.data_dir / "broker-password"
        if not path.exists():
            write_secret(path, secrets.token_urlsafe(24))
        return path.read_text().strip()

    def _server_properties(self) -> dict[str, str]:
        internal = self._internal_password()
        users = f'user_{INTERNAL_USER}="{internal}" user_{self.username}="{self.password}"'
        # `username`/`password` are what this node presents as a client (broker -> controller); the
        # `user_*` entries are who the listener accepts.
        jaas = (
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="{INTERNAL_USER}" password="{internal}" '
        )
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            # Static voters (kraft.version 0): the config, not the formatted log, says where the controller
            # listens, so the controller port may change between restarts of the same data dir.
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"CLIENT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"CLIENT://127.0.0.1:{self.port}",
            "listener.security.protocol.map": "CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
            "inter.broker.listener.name": "CLIENT",
            "controller.listener.names": "CONTROLLER",
            "sasl.enabled.mechanisms": "PLAIN",
            "sasl.mechanism.inter.broker.protocol": "PLAIN",
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.client.plain.sasl.jaas.config": jaas + users + ";",
            # Only the broker itself talks to the controller listener.
            "listener.name.controller.plain.sasl.jaas.config": jaas + f'user_{INTERNAL_USER}="{internal}";',
            "log.dirs": str(self._log_dir),
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "5",  # not 50: the first consumer group on 2 cores waits less
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "5",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "message.max.bytes": str(MAX_MESSAGE_BYTES),
            "replica.fetch.max.bytes": str(MAX_MESSAGE_BYTES),
            "num.network.threads": "2",
            "num.io.threads": "4",
            "num.recovery.threads.per.data.dir": "2",
            # After a crash the controller keeps the dead incarnation registered until its session expires
            # (default 9 s) and refuses the restarted broker meanwhile: a shorter session, a faster recovery.
            "broker.session.timeout.ms": "4000",
            "broker.heartbeat.interval.ms": "1000",
        }
        if self.retention_ms is not None:
            props["log.retention.ms"] = str(int(self.retention_ms))
        return props

    def _write_configs(self) -> None:
        body = "".join(f"{key}={_escape_property(value)}\n" for key, value in self._server_properties().items())
        write_secret(self._properties_file, "# Written by jobs/local/kafka_broker.py on every start.\n" + body)
        (self.data_dir / "log4j2.properties").write_text(_LOG4J2.format(log=self.log_file))

    def _java_command(self) -> list[str]:
        return [
            java_binary(),
            f"-Xmx{self.heap}",
            # Measured on 2 cores: serial GC + C1 only start the broker in ~4 s instead of ~6-7 s (G1 + C2),
            # and peak throughput does not matter for a local broker.
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            "-Djava.net.preferIPv4Stack=true",  # plain AF_INET 127.0.0.1 sockets, not IPv6 ::ffff:127.0.0.1
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.data_dir}",
            "-cp",
            _classpath(self.jars_dir),
        ]

    def _format_storage(self, timeout_s: float) -> None:
        """Write meta.properties and the bootstrap metadata: once per data dir (it holds the cluster id)."""
        command = [*self._java_command(), "kafka.tools.StorageTool", "format",
                   "-t", _random_cluster_id(), "-c", str(self._properties_file)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, cwd=self.data_dir)
        if result.returncode != 0:
            raise RuntimeError(f"formatting Kafka storage in {self._log_dir} failed:\n{result.stdout}{result.stderr}"
                               f"{self._log_tail()}")

    def _wait_ready(self, timeout_s: float) -> None:
        """Probe with an authenticated AdminClient until it sees a broker; fail fast if the JVM dies."""
        probe_until_ready(self._probe, timeout_s, 0.2, f"Kafka broker on {self.bootstrap}", self._log_tail)

    def _probe(self) -> None:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        if not self._daemon.running:
            raise RuntimeError(f"Kafka broker exited with code {self._daemon.exit_code} during startup{self._log_tail()}")
        # A fresh client per probe, never bound to a name: it is gone when the probe returns or raises,
        # instead of reconnecting (and logging) in the background for as long as a traceback lives.
        config = {
            **self.client_config(),
            "log_level": 0,  # "connection refused" while the JVM boots is expected, not news
            "reconnect.backoff.max.ms": 200,  # default 10 s: we would notice the broker long after it is up
        }
        try:
            brokers = AdminClient(config).list_topics(timeout=2).brokers
        except KafkaException as exc:
            raise NotReady(str(exc)) from None
        if not brokers:
            raise NotReady("no broker in the cluster metadata yet")

    def _log_tail(self, lines: int = 25) -> str:
        """For error messages, from this start on: the first ERROR/FATAL lines and causes (the shutdown
        chatter after a fatal error buries them), then the last lines of broker.log and the JVM's output."""
        parts = []
        text = read_since(self.log_file, self._log_offset).splitlines()
        errors = [line for line in text if _ERROR_LINE.match(line)]
        if errors:
            parts.append(f"\n--- first errors in {self.log_file} ---\n" + "\n".join(dict.fromkeys(errors[:12])))
        if text:
            parts.append(f"\n--- last lines of {self.log_file} ---\n" + "\n".join(text[-lines:]))
        text = self._daemon.output_since_start().splitlines()
        if text:
            parts.append(f"\n--- last lines of {self._stdout_file} ---\n" + "\n".join(text[-lines:]))
        return "".join(parts) or f"\n(no output in {self.log_file} or {self._stdout_file})"


def _classpath(jars_dir: Path) -> str:
    """The kafka module's jars, with the slf4j binding repaired if Maven picked mismatched versions.

    Kafka 4.1 asks for slf4j-api 1.7.36, log4j-slf4j2-impl needs slf4j-api 2.x: with 1.7 on the class path
    slf4j finds no binding and silently drops every log line (broker.log stays empty). Until
    jvm/kafka/pom.xml pins slf4j-api 2.x (or uses log4j-slf4j-impl), take pyspark's slf4j-api 2.x instead.
    """
    jars = module_jars(jars_dir, "kafka")
    names = [Path(j).name for j in jars]
    old_api = [j for j, n in zip(jars, names) if n.startswith("slf4j-api-1.")]
    if old_api and any(n.startswith("log4j-slf4j2-impl-") for n in names):
        spec = importlib.util.find_spec("pyspark")
        replacement = sorted(Path(spec.origin).parent.glob("jars/slf4j-api-2.*.jar")) if spec and spec.origin else []
        if replacement:
            jars = [str(replacement[-1]), *(j for j in jars if j not in old_api)]
    return os.pathsep.join(jars)


def _random_cluster_id() -> str:
    """Kafka's Uuid format (22 url-safe base64 chars); like Uuid.randomUuid, never starting with '-'."""
    while True:
        value = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not value.startswith("-"):
            return value


def _escape_property(value: str) -> str:
    """Java .properties are read as ISO-8859-1 with backslash escapes."""
    out = value.replace("\\", "\\\\")
    return "".join(c if 32 <= ord(c) < 127 else f"\\u{ord(c):04x}" for c in out)


# -- `make kafka` ----------------------------------------------------------------------------------------
cli = typer.Typer(add_completion=False, help="Run a local Kafka broker (KRaft, SASL PLAIN) in the foreground.")


@cli.command()
def serve(
    port: int = typer.Option(9092, envvar="KAFKA_PORT", help="client listener port on 127.0.0.1"),
    controller_port: int | None = typer.Option(None, envvar="KAFKA_CONTROLLER_PORT",
                                               help="controller listener port (default: port + 1)"),
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, envvar="KAFKA_DATA_DIR", help="broker state: topics, records, logs"),
    username: str = typer.Option("pulselake", envvar="KAFKA_SASL_USERNAME", help="the client login"),
) -> None:
    """Start the broker, print how to connect, run until Ctrl-C or SIGTERM, then stop it cleanly."""
    console = Console()
    data_dir.mkdir(parents=True, exist_ok=True)
    password_file = data_dir / "client-password"
    password = os.environ.get("KAFKA_SASL_PASSWORD")
    if not password:
        if not password_file.exists():
            write_secret(password_file, secrets.token_urlsafe(18) + "\n")
        password = password_file.read_text().strip()
    broker = KafkaBroker(data_dir, port, controller_port, username=username, password=password)

    def announce() -> None:
        secret = ("KAFKA_SASL_PASSWORD (as set)" if os.environ.get("KAFKA_SASL_PASSWORD")
                  else f"KAFKA_SASL_PASSWORD=$(cat {password_file})")
        console.print(f"[bold green]Kafka broker ready[/] on [bold]{broker.bootstrap}[/] (pid {broker.pid})", soft_wrap=True)
        console.print("clients authenticate with SASL_PLAINTEXT + PLAIN; export:", soft_wrap=True)
        console.print(f"  KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap}", soft_wrap=True, highlight=False)
        console.print(f"  KAFKA_SASL_USERNAME={username}", soft_wrap=True, highlight=False)
        console.print(f"  {secret}", soft_wrap=True, highlight=False)
        console.print(f"data in {data_dir.resolve()}; broker log: {broker.log_file}; Ctrl-C stops it",
                      soft_wrap=True, highlight=False)

    serve_in_foreground(console, f"the Kafka broker on {broker.bootstrap}", broker.start, lambda: broker.running,
                        broker.stop, announce, str(broker.log_file))


def main() -> None:
    """Entry point of `python -m jobs.local.kafka_broker` (`make kafka`)."""
    cli()


if __name__ == "__main__":
    main()
