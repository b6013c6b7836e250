"""jobs/backfill.py through the real `spark-submit` that ships with pyspark: first in local
mode on a local lake, then on a Spark standalone cluster on 127.0.0.1 (a master and two workers,
each its own JVM launching its own executor and Python workers) on a lake in a real HDFS, both
taking a replayed trading day from a real Kafka broker too. Both runs must leave the same tables,
and the cluster's event log must show that its executors, not its driver, read and wrote them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pyspark
import pytest
from deltalake import DeltaTable

from jobs.local.jvm_daemon import free_ports

REPO = Path(__file__).resolve().parents[2]
SLICE = REPO / "tests" / "dags" / "fixtures" / "sp500_slice.csv"
SPARK_BIN = Path(pyspark.__file__).parent / "bin"
PROPERTIES = REPO / ".jars" / "spark-defaults.conf"  # written by make setup
TABLES = ("landing/daily_bar_lines", "bronze/daily_bars", "silver/symbols", "silver/daily_bars", "gold/daily_features",
          "bronze/trades", "silver/trades", "silver/bars_1m")
TRADES_TABLES = ("bronze/trades", "silver/trades", "silver/bars_1m")  # the driver commits them (delta-rs)
VOLATILE = {"landed_at", "ingest_date"}  # when the run happened, not what it computed


def spark_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSELAKE_", "SPARK_", "PYSPARK_"))}
    env.update({
        "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(tmp / "spark-logs"), "SPARK_DAEMON_MEMORY": "384m",
        "SPARK_CONF_DIR": str(tmp / "spark-conf"),  # an empty conf dir: no stray spark-defaults
    })
    (tmp / "spark-conf").mkdir(exist_ok=True)
    return env


def submit(env: dict[str, str], lake: Path | str, *spark_args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    command = [str(SPARK_BIN / "spark-submit"), "--properties-file", str(PROPERTIES), *spark_args,
               "--conf", "spark.ui.enabled=false",
               "jobs/backfill.py", "--start", "2010-01-04", "--end", "2010-02-26", "--lake-root", str(lake),
               "--price-file", f"sp500_2009={SLICE}", "--from-kafka"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done


def snapshot(lake: Path | str) -> dict[str, list[tuple]]:
    """Every table's rows, read by delta-rs (from HDFS through hdfs-native)."""
    out = {}
    for table in TABLES:
        frame = DeltaTable(f"{lake}/{table}").to_pyarrow_table().to_pandas()
        frame = frame[[c for c in frame.columns if c not in VOLATILE]]
        # Sums of floats (a bar's VWAP) differ in the last bit with the order the tasks added them in.
        out[table] = sorted(tuple(f"{v:.12g}" if isinstance(v, float) else str(v) for v in row)
                            for row in frame.itertuples(index=False))
    return out


def _json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)


@contextmanager
def standalone_cluster(tmp: Path, env: dict[str, str]):
    """A master and two one-core workers, each a JVM started from the classes shipped in pyspark."""
    # Every port at once (distinct): one taken twice makes the master's UI move, and /json/ answers with HTML.
    port, ui, *worker_ports = free_ports(6)
    master_url, ui_url = f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui}/json/"
    spark_class = str(SPARK_BIN / "spark-class")
    processes = []

    def launch(name: str, *args: str) -> None:
        log = (tmp / f"{name}.log").open("wb")
        processes.append(subprocess.Popen([spark_class, *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True))

    try:
        launch("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
               "--webui-port", str(ui))
        for i in (1, 2):
            (tmp / f"worker{i}").mkdir()
            rpc, web = worker_ports[2 * i - 2:2 * i]
            launch(f"worker{i}", "org.apache.spark.deploy.worker.Worker", master_url, "--host", "127.0.0.1",
                   "--port", str(rpc), "--webui-port", str(web), "--cores", "1", "--memory", "1g",
                   "--work-dir", str(tmp / f"worker{i}"))
        deadline = time.monotonic() + 120
        while True:
            assert all(p.poll() is None for p in processes), "a cluster JVM died; see master.log / worker*.log"
            try:
                if _json(ui_url).get("aliveworkers") == 2:
                    break
            except (OSError, ValueError):  # not listening yet, or not answering JSON yet
                pass
            assert time.monotonic() < deadline, "the standalone cluster did not register two workers in 120 s"
            time.sleep(1)
        yield master_url, ui_url
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def executor_work(event_log_dir: Path) -> dict:
    """From Spark's event log: per executor id, the tasks it ran and the records it read and wrote; and the
    bytes of task results sent back to the driver."""
    logs = [p for p in event_log_dir.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert len(logs) == 1, logs  # one application, one uncompressed, unrolled log
    work: dict[str, dict[str, int]] = {}
    result_bytes = 0
    for line in logs[0].read_text().splitlines():
        event = json.loads(line)
        if event.get("Event") != "SparkListenerTaskEnd":
            continue
        executor = event["Task Info"]["Executor ID"]
        metrics = event.get("Task Metrics") or {}
        done = work.setdefault(executor, {"tasks": 0, "records_read": 0, "records_written": 0})
        done["tasks"] += 1
        done["records_read"] += (metrics.get("Input Metrics") or {}).get("Records Read", 0)
        done["records_written"] += (metrics.get("Output Metrics") or {}).get("Records Written", 0)
        result_bytes += metrics.get("Result Size", 0)
    return {"executors": work, "result_bytes": result_bytes}


@pytest.mark.slow
def test_backfill_on_a_standalone_cluster_over_hdfs_and_kafka_equals_local_mode(tmp_path, hdfs, kafka_broker):
    from jobs.local.sources import collect_replay_trades
    from tests.hdfs_fixture import hdfs_lake_root
    from tests.kafka_records import kafka_environment

    with kafka_environment(kafka_broker):  # a replayed trading day, through the real collector, into Kafka
        collected = collect_replay_trades(None, trades_per_day=300, days=1)
        env = spark_env(tmp_path)  # KAFKA_* (this test's broker and topics) pass on to spark-submit
    assert "went to Kafka" in collected.notes[0]
    helped = subprocess.run([str(SPARK_BIN / "spark-submit"), "jobs/backfill.py", "--help"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "--start" in helped.stdout and "--from-kafka" in helped.stdout, helped.stderr[-2000:]

    began = time.monotonic()
    local = submit(env, tmp_path / "lake-local", "--master", "local[2]")
    assert "on local[2]" in local.stdout and "backfill finished" in local.stdout
    local_s = time.monotonic() - began
    # (Reruns leave the same tables: tests/prices/test_pipeline.py and tests/trades/test_bronze.py prove it step
    # by step; a second spark-submit here would cost two minutes of CI for the same proof.)
    expected = snapshot(tmp_path / "lake-local")
    gold_months = DeltaTable(str(tmp_path / "lake-local" / "gold" / "daily_features")).to_pyarrow_table()["trade_month"]
    assert set(gold_months.to_pylist()) == {"2010-01", "2010-02"}  # the range's months; December is only in bronze
    assert len(expected["bronze/trades"]) == 1_500 and expected["silver/bars_1m"]

    hdfs_lake = hdfs_lake_root(hdfs, "cluster-backfill")
    events = tmp_path / "events"
    events.mkdir()
    with standalone_cluster(tmp_path, env) as (master_url, ui_url):
        began = time.monotonic()
        cluster = submit(env, hdfs_lake, "--master", master_url, "--conf", "spark.executor.memory=512m",
                         "--conf", "spark.cores.max=2", "--conf", "spark.executor.cores=1",
                         "--conf", "spark.eventLog.enabled=true", "--conf", f"spark.eventLog.dir={events.as_uri()}",
                         "--conf", "spark.eventLog.compress=false", "--conf", "spark.eventLog.rolling.enabled=false")
        cluster_s = time.monotonic() - began
        assert f"on {master_url} into {hdfs_lake}" in cluster.stdout
        apps = _json(ui_url)
    assert snapshot(hdfs_lake) == expected
    assert any(app["state"] == "FINISHED" for app in apps.get("completedapps", [])) or apps.get("activeapps")
    # The work ran in the workers' executors (one JVM per worker), not in the driver: every task of every job
    # ran on an executor, both executors wrote rows, and what came back to the driver was small.
    work = executor_work(events)
    assert "driver" not in work["executors"] and len(work["executors"]) == 2, work
    assert all(w["tasks"] > 0 and w["records_written"] > 0 for w in work["executors"].values()), work
    assert sum(w["records_read"] for w in work["executors"].values()) > 0, work
    # Every row of every price table was written by a task (merges rewrite some twice): none by the driver. The
    # trades tables are the exception by design: the executors parse and judge each Kafka batch, and the driver
    # commits the collected rows with delta-rs (jobs/stream/batch.py), in batches of a bounded size.
    spark_written = {name: rows for name, rows in expected.items() if name not in TRADES_TABLES}
    assert sum(w["records_written"] for w in work["executors"].values()) >= sum(map(len, spark_written.values())), work
    assert work["result_bytes"] < 50_000_000, work
    for i in (1, 2):
        assert list((tmp_path / f"worker{i}").glob("app-*/*/stderr")), f"worker{i} ran no executor"
    print(f"spark-submit backfill: local[2] {local_s:.0f} s, standalone cluster on HDFS {cluster_s:.0f} s; {work}")
