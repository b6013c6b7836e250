"""jobs/backfill.py through the real `spark-submit` that ships with pyspark: first in local
mode, then on a Spark standalone cluster on 127.0.0.1 (a master and two workers, each its own
JVM launching its own executor and Python workers). Both runs must leave the same tables:
the proof that the lake I/O works when executors are separate processes, as on a real cluster."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pyspark
import pytest
from deltalake import DeltaTable

REPO = Path(__file__).resolve().parents[2]
SLICE = REPO / "tests" / "dags" / "fixtures" / "sp500_slice.csv"
SPARK_BIN = Path(pyspark.__file__).parent / "bin"
PROPERTIES = REPO / ".jars" / "spark-defaults.conf"  # written by make setup
TABLES = ("landing/daily_bar_lines", "bronze/daily_bars", "silver/symbols", "silver/daily_bars", "gold/daily_features")
VOLATILE = {"landed_at", "ingest_date"}  # when the run happened, not what it computed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spark_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSELAKE_", "SPARK_", "PYSPARK_"))}
    env.update({
        "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(tmp / "spark-logs"), "SPARK_DAEMON_MEMORY": "384m",
        "SPARK_CONF_DIR": str(tmp / "spark-conf"),  # an empty conf dir: no stray spark-defaults
    })
    (tmp / "spark-conf").mkdir(exist_ok=True)
    return env


def submit(env: dict[str, str], lake: Path, *spark_args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    command = [str(SPARK_BIN / "spark-submit"), "--properties-file", str(PROPERTIES), *spark_args,
               "--conf", "spark.ui.enabled=false",
               "jobs/backfill.py", "--start", "2010-01-04", "--end", "2010-02-26", "--lake-root", str(lake),
               "--price-file", f"sp500_2009={SLICE}"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done


def snapshot(lake: Path) -> dict[str, list[tuple]]:
    out = {}
    for table in TABLES:
        frame = DeltaTable(str(lake / table)).to_pyarrow_table().to_pandas()
        frame = frame[[c for c in frame.columns if c not in VOLATILE]]
        out[table] = sorted(tuple(str(v) for v in row) for row in frame.itertuples(index=False))
    return out


def _json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)


@contextmanager
def standalone_cluster(tmp: Path, env: dict[str, str]):
    """A master and two one-core workers, each a JVM started from the classes shipped in pyspark."""
    port, ui = free_port(), free_port()
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
            launch(f"worker{i}", "org.apache.spark.deploy.worker.Worker", master_url, "--host", "127.0.0.1",
                   "--port", str(free_port()), "--webui-port", str(free_port()), "--cores", "1", "--memory", "1g",
                   "--work-dir", str(tmp / f"worker{i}"))
        deadline = time.monotonic() + 120
        while True:
            assert all(p.poll() is None for p in processes), "a cluster JVM died; see master.log / worker*.log"
            try:
                if _json(ui_url).get("aliveworkers") == 2:
                    break
            except OSError:
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


@pytest.mark.slow
def test_backfill_on_a_standalone_cluster_equals_local_mode(tmp_path):
    env = spark_env(tmp_path)
    helped = subprocess.run([str(SPARK_BIN / "spark-submit"), "jobs/backfill.py", "--help"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "--start" in helped.stdout and "--price-file" in helped.stdout, helped.stderr[-2000:]

    began = time.monotonic()
    local = submit(env, tmp_path / "lake-local", "--master", "local[2]")
    assert "on local[2]" in local.stdout and "backfill finished" in local.stdout
    local_s = time.monotonic() - began
    first = snapshot(tmp_path / "lake-local")
    rerun = submit(env, tmp_path / "lake-local", "--master", "local[2]")
    expected = snapshot(tmp_path / "lake-local")
    assert expected == first, "rerunning the same range must leave the same tables"
    assert "land daily bar files: wrote nothing" in rerun.stdout  # the file was landed once
    gold_months = DeltaTable(str(tmp_path / "lake-local" / "gold" / "daily_features")).to_pyarrow_table()["trade_month"]
    assert set(gold_months.to_pylist()) == {"2010-01", "2010-02"}  # the range's months; December is only in bronze

    with standalone_cluster(tmp_path, env) as (master_url, ui_url):
        began = time.monotonic()
        cluster = submit(env, tmp_path / "lake-cluster", "--master", master_url, "--conf", "spark.executor.memory=512m",
                         "--conf", "spark.cores.max=2", "--conf", "spark.executor.cores=1")
        cluster_s = time.monotonic() - began
        assert f"on {master_url}" in cluster.stdout
        apps = _json(ui_url)
    assert snapshot(tmp_path / "lake-cluster") == expected
    # The work really ran in the workers' executors: one executor (its own JVM) per worker.
    for i in (1, 2):
        executor_logs = list((tmp_path / f"worker{i}").glob("app-*/*/stderr"))
        assert executor_logs, f"worker{i} ran no executor"
    assert any(app["state"] == "FINISHED" for app in apps.get("completedapps", [])) or apps.get("activeapps")
    print(f"spark-submit backfill: local[2] {local_s:.0f} s, standalone cluster {cluster_s:.0f} s")
