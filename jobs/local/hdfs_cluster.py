"""A real local HDFS: one NameNode and one DataNode, each its own JVM, on 127.0.0.1 only.

The lake's HDFS path (Spark's hdfs:// client, delta-rs through hdfs-native) needs genuine daemons: block
pipelines, a DataNode dying mid-write and coming back are the point. The jars come from jvm/hdfs/pom.xml
into .jars/hdfs/ (Hadoop at the version pyspark bundles); nothing is downloaded. Authentication is Hadoop's
`simple` mode with permissions on, as an HDFS without Kerberos has: the caller's OS user is its identity.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import typer
from rich.console import Console

from jobs.resources.jars import DEFAULT_JARS_DIR, PROJECT_ROOT, module_jars
from jobs.local.jvm_daemon import (
    JvmDaemon, NotReady, free_ports, java_binary, probe_until_ready, read_since, ready_or_killed, serve_in_foreground,
)

__all__ = ["LocalHdfs", "main"]

DEFAULT_DATA_DIR = PROJECT_ROOT / ".hdfs"

_LOG4J = """\
# Written by jobs/local/hdfs_cluster.py on every start: each daemon logs to <data dir>/<daemon>.log.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=${hdfs.daemon.log}
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
# Every block report and audit line would drown the ones that explain a failure.
log4j.logger.org.apache.hadoop.hdfs.server.namenode.FSNamesystem.audit=WARN
log4j.logger.org.apache.hadoop.hdfs.StateChange=WARN
log4j.logger.BlockStateChange=WARN
log4j.logger.org.apache.hadoop.hdfs.server.datanode.DataNode.clienttrace=WARN
log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR
"""


class LocalHdfs:
    """A NameNode and a DataNode whose whole state (metadata, blocks, logs) lives in `data_dir`.

    The first `start()` formats the namespace; later starts reuse it. `kill_datanode()` and
    `start_datanode()` crash and revive the DataNode alone, as a machine failure would.
    """

    def __init__(self, data_dir: str | Path, port: int, http_port: int, *, jars_dir: str | Path | None = None,
                 heap: str = "384m") -> None:
        if port == http_port:
            raise ValueError("port and http_port must differ")
        self.data_dir = Path(data_dir).resolve()
        self.port = int(port)
        self.http_port = int(http_port)
        self.jars_dir = Path(jars_dir) if jars_dir is not None else DEFAULT_JARS_DIR
        self.heap = heap
        # The DataNode's ports stay the same across its restarts: the NameNode keeps handing out the address
        # it registered with until it declares the node dead (minutes later), and clients must reach it there.
        self.datanode_ports = dict(zip(("xfer", "http", "ipc"), free_ports(3)))
        self.namenode = JvmDaemon(self._java("namenode", "org.apache.hadoop.hdfs.server.namenode.NameNode"),
                                  self.data_dir / "namenode.out", self.data_dir)
        self.datanode = JvmDaemon(self._java("datanode", "org.apache.hadoop.hdfs.server.datanode.DataNode"),
                                  self.data_dir / "datanode.out", self.data_dir)

    @property
    def uri(self) -> str:
        """The filesystem's address, as `PULSELAKE_LAKE_ROOT=<uri>/lake` would use it."""
        return f"hdfs://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.namenode.running and self.datanode.running

    def log_file(self, daemon: str) -> Path:
        return self.data_dir / f"{daemon}.log"

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self, timeout_s: float = 90) -> LocalHdfs:
        """Format on first use, start both daemons, return once the NameNode has a live DataNode and has
        left safe mode (writes are accepted)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._write_configs()
        if not (self.data_dir / "name" / "current" / "VERSION").exists():
            self._format(timeout_s)
        self.namenode.start()
        self.datanode.start()
        ready_or_killed(self._wait_ready, self.kill, timeout_s)
        return self

    def stop(self, timeout_s: float = 30) -> None:
        """Clean shutdown: the DataNode first, then the NameNode (which saves nothing it has not logged)."""
        self.datanode.stop(timeout_s)
        self.namenode.stop(timeout_s)

    def kill(self) -> None:
        self.datanode.kill()
        self.namenode.kill()

    def kill_datanode(self) -> None:
        """SIGKILL the DataNode: every block pipeline through it breaks."""
        self.datanode.kill()

    def start_datanode(self, timeout_s: float = 60) -> None:
        """Restart the DataNode on the same storage and wait until the NameNode counts it live again."""
        self.datanode.start()
        self._wait_ready(timeout_s)

    def __enter__(self) -> LocalHdfs:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state ---------------------------------------------------------------------------------------------
    def live_datanodes(self) -> int:
        """How many DataNodes the NameNode counts live (its JMX over HTTP on 127.0.0.1)."""
        return int(self._jmx("FSNamesystemState")["NumLiveDataNodes"])

    # -- internals ---------------------------------------------------------------------------------------
    def _site(self) -> dict[str, dict[str, str]]:
        data = self.data_dir
        loopback_any_port = "127.0.0.1:0"  # servers nothing here uses: any free port
        return {
            "core-site.xml": {
                "fs.defaultFS": self.uri,
                "hadoop.tmp.dir": str(data / "tmp"),
                "hadoop.security.authentication": "simple",
            },
            "hdfs-site.xml": {
                "dfs.namenode.name.dir": (data / "name").as_uri(),
                "dfs.datanode.data.dir": (data / "data").as_uri(),
                "dfs.replication": "1",
                "dfs.permissions.enabled": "true",
                "dfs.namenode.rpc-address": f"127.0.0.1:{self.port}",
                "dfs.namenode.http-address": f"127.0.0.1:{self.http_port}",
                "dfs.namenode.https-address": loopback_any_port,
                "dfs.namenode.secondary.http-address": loopback_any_port,
                "dfs.namenode.secondary.https-address": loopback_any_port,
                "dfs.namenode.backup.address": loopback_any_port,
                "dfs.namenode.backup.http-address": loopback_any_port,
                "dfs.datanode.address": f"127.0.0.1:{self.datanode_ports['xfer']}",
                "dfs.datanode.http.address": f"127.0.0.1:{self.datanode_ports['http']}",
                "dfs.datanode.ipc.address": f"127.0.0.1:{self.datanode_ports['ipc']}",
                "dfs.datanode.https.address": loopback_any_port,
                "dfs.webhdfs.enabled": "false",  # no unauthenticated REST door beside the RPC port
                "dfs.namenode.datanode.registration.ip-hostname-check": "false",
                # One DataNode: no 30 s safe-mode extension, no waiting for replicas that cannot exist.
                "dfs.namenode.safemode.extension": "0",
                "dfs.namenode.safemode.min.datanodes": "1",
                "dfs.client.block.write.replace-datanode-on-failure.enable": "false",
                "dfs.heartbeat.interval": "1",
                "dfs.namenode.handler.count": "8",
                "dfs.datanode.handler.count": "4",
            },
        }

    def _write_configs(self) -> None:
        conf = self.data_dir / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        for name, props in self._site().items():
            body = "".join(f"  <property><name>{xml_escape(k)}</name><value>{xml_escape(v)}</value></property>\n"
                           for k, v in props.items())
            (conf / name).write_text(f'<?xml version="1.0"?>\n<!-- Written by jobs/local/hdfs_cluster.py '
                                     f'on every start. -->\n<configuration>\n{body}</configuration>\n')
        (conf / "log4j.properties").write_text(_LOG4J)
        # The daemons' web servers look up `webapps/<name>` on the class path; Hadoop's tarball ships those
        # folders (the UI's HTML), its jars do not. Empty ones serve what we use: JMX and the servlets.
        for app in ("hdfs", "datanode", "secondary", "static"):
            (conf / "webapps" / app).mkdir(parents=True, exist_ok=True)

    def _java(self, daemon: str, main_class: str, *args: str) -> list[str]:
        classpath = os.pathsep.join([str(self.data_dir / "conf"), *module_jars(self.jars_dir, "hdfs")])
        return [
            java_binary(), f"-Xmx{self.heap}",
            "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",  # a quick start matters more than peak speed here
            "-Djava.net.preferIPv4Stack=true",
            f"-Dhdfs.daemon.log={self.log_file(daemon)}",
            f"-Dhadoop.log.dir={self.data_dir}",
            "-cp", classpath, main_class, *args,
        ]

    def _format(self, timeout_s: float) -> None:
        """Create the namespace: once per data dir (it holds the cluster id and every file's metadata)."""
        command = self._java("format", "org.apache.hadoop.hdfs.server.namenode.NameNode",
                             "-format", "-nonInteractive", "-clusterid", f"pulselake-{uuid.uuid4().hex[:12]}")
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, cwd=self.data_dir)
        if done.returncode != 0:
            raise RuntimeError(f"formatting the HDFS namespace in {self.data_dir / 'name'} failed:\n"
                               f"{done.stdout[-3000:]}{done.stderr[-3000:]}{self._log_tail('format')}")

    def _jmx(self, bean: str, port: int | None = None, service: str = "NameNode") -> dict[str, Any]:
        url = f"http://127.0.0.1:{port or self.http_port}/jmx?qry=Hadoop:service={service},name={bean}"
        with urllib.request.urlopen(url, timeout=3) as answer:
            beans = json.load(answer)["beans"]
        if not beans:
            raise NotReady(f"no {bean} bean yet")
        return beans[0]

    def _probe(self) -> None:
        """Ready: out of safe mode, and the NameNode has heard from *this* DataNode process (a fresh heartbeat
        and its block report: as many blocks as the DataNode holds), not only from a registration it made
        before a crash."""
        for name, daemon in (("namenode", self.namenode), ("datanode", self.datanode)):
            if not daemon.running:
                raise RuntimeError(f"the HDFS {name} exited with code {daemon.exit_code} during startup"
                                   f"{self._log_tail(name)}")
        try:
            info = self._jmx("NameNodeInfo")
            datanode = self._jmx("DataNodeInfo", self.datanode_ports["http"], "DataNode")
            live_nodes = json.loads(info["LiveNodes"])
            held = sum(volume["numBlocks"] for volume in json.loads(datanode["VolumeInfo"]).values())
        except (OSError, ValueError, KeyError) as exc:  # not up, or the beans are still filling in
            raise NotReady(str(exc)) from None
        if info.get("Safemode"):
            raise NotReady(f"in safe mode: {info['Safemode']}")
        xfer = f"127.0.0.1:{self.datanode_ports['xfer']}"
        node = next((n for n in live_nodes.values() if n.get("xferaddr") == xfer), None)
        if node is None or node["lastContact"] > 2:
            raise NotReady("the NameNode has not heard from the DataNode yet")
        if node["numBlocks"] != held:
            raise NotReady(f"block report pending ({node['numBlocks']} of {held} blocks known)")

    def _wait_ready(self, timeout_s: float) -> None:
        probe_until_ready(self._probe, timeout_s, 0.3, f"HDFS on {self.uri}",
                          lambda: self._log_tail("namenode") + self._log_tail("datanode"))

    def _log_tail(self, daemon: str, lines: int = 20) -> str:
        """For error messages: the daemon's log (namenode, datanode, or the one-off format) and, for a running
        daemon, what its JVM printed since this start."""
        sources = [(self.log_file(daemon), read_since(self.log_file(daemon), 0))]
        process = {"namenode": self.namenode, "datanode": self.datanode}.get(daemon)
        if process is not None:
            sources.append((process.output_file, process.output_since_start()))
        parts = []
        for path, text in sources:
            tail = text.splitlines()
            errors = [line for line in tail if " ERROR " in line or " FATAL " in line]
            if errors:
                parts.append(f"\n--- errors in {path} ---\n" + "\n".join(errors[-8:]))
            if tail:
                parts.append(f"\n--- last lines of {path} ---\n" + "\n".join(tail[-lines:]))
        return "".join(parts)


# -- `make hdfs` ---------------------------------------------------------------------------------------------
cli = typer.Typer(add_completion=False, help="Run a local HDFS (a NameNode and a DataNode) in the foreground.")


@cli.command()
def serve(
    port: int = typer.Option(9000, envvar="HDFS_PORT", help="NameNode RPC port on 127.0.0.1 (the hdfs:// port)"),
    http_port: int = typer.Option(9870, envvar="HDFS_HTTP_PORT", help="NameNode web UI and JMX port on 127.0.0.1"),
    data_dir: Path = typer.Option(DEFAULT_DATA_DIR, envvar="HDFS_DATA_DIR", help="metadata, blocks and logs"),
) -> None:
    """Start HDFS, print its address, run until Ctrl-C or SIGTERM, then stop it cleanly."""
    console = Console()
    hdfs = LocalHdfs(data_dir, port, http_port)

    def announce() -> None:
        console.print(f"[bold green]HDFS ready[/] at [bold]{hdfs.uri}[/] (NameNode pid {hdfs.namenode.pid}, "
                      f"DataNode pid {hdfs.datanode.pid}; web UI http://127.0.0.1:{http_port})", soft_wrap=True)
        console.print("put the lake on it:", soft_wrap=True)
        console.print(f"  PULSELAKE_LAKE_ROOT={hdfs.uri}/lake", soft_wrap=True, highlight=False)
        console.print(f"logs: {hdfs.log_file('namenode')}, {hdfs.log_file('datanode')}; Ctrl-C stops it",
                      soft_wrap=True, highlight=False)

    serve_in_foreground(console, f"HDFS on {hdfs.uri}", hdfs.start, lambda: hdfs.running, hdfs.stop, announce,
                        str(hdfs.data_dir))


def main() -> None:
    """Entry point of `python -m jobs.local.hdfs_cluster` (`make hdfs`)."""
    cli()


if __name__ == "__main__":
    main()
