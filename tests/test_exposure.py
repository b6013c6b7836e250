"""Nothing the project starts is reachable from another machine: every server, started the way a
user starts it with its default address, listens on loopback only (read from the kernel's socket
table for the whole process tree), and Airflow answers nothing without a login."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from jobs.local.airflow_launcher import ADMIN, admin_password, passwords_file

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def listening(processes: list[psutil.Process]) -> set[tuple[str, int]]:
    """(address, port) of every listening TCP socket and bound UDP socket of these processes."""
    found = set()
    for process in processes:
        try:
            connections = process.net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue
        for conn in connections:
            if conn.status == psutil.CONN_LISTEN or (conn.type == socket.SOCK_DGRAM and not conn.raddr):
                found.add((conn.laddr.ip, conn.laddr.port))
    return found


def loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip.split("%")[0])
    return (getattr(address, "ipv4_mapped", None) or address).is_loopback  # a JVM shows ::ffff:127.0.0.1


def exposed(addresses: set[tuple[str, int]]) -> set[tuple[str, int]]:
    return {(ip, port) for ip, port in addresses if not loopback(ip)}


def wait_listening(process: subprocess.Popen, log: Path, port: int | None = None, timeout_s: float = 120) -> set:
    """The sockets of the process tree once it listens (on `port`, when given) and has settled."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited with {process.returncode}:\n{log.read_text()[-3000:]}"
        found = listening(tree(process.pid))
        if found and (port is None or port in {p for _, p in found}):
            time.sleep(1.0)  # servers that open more than one socket
            return listening(tree(process.pid))
        time.sleep(0.3)
    raise AssertionError(f"nothing listening after {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def stop(process: subprocess.Popen, grace_s: float = 15) -> None:
    """SIGTERM the process group each server was started in (make and its child too), then SIGKILL."""
    for sig, grace in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10)):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass


def test_every_server_listens_on_loopback_only_by_default(tmp_path):
    dashboard, make_dashboard, notebooks = free_port(), free_port(), free_port()
    py = sys.executable
    # Default host everywhere; port 0 (any free port) where a fixed default could clash with another run.
    servers = {
        "replay finnhub": ([py, "-m", "jobs.cli", "replay", "finnhub", "--port", "0"], None),
        "replay finnhub-rest": ([py, "-m", "jobs.cli", "replay", "finnhub-rest", "--port", "0"], None),
        "replay reddit": ([py, "-m", "jobs.cli", "replay", "reddit", "--port", "0"], None),
        "llm devserver": ([py, "-m", "jobs.local.llm_server", "--port", "0"], None),
        # No --server.address: the repository's .streamlit/config.toml is what keeps it on loopback.
        "streamlit run": ([py, "-m", "streamlit", "run", "jobs/dashboard/app.py", f"--server.port={dashboard}"], dashboard),
        # The Makefile targets as a user types them (STAMP= skips re-syncing the venv).
        "make dashboard": (["make", "-s", "dashboard", "STAMP=", f"DASHBOARD_PORT={make_dashboard}"], make_dashboard),
        "make notebooks": (["make", "-s", "notebooks", "STAMP=", f"NOTEBOOK_PORT={notebooks}"], notebooks),
    }
    env = {**os.environ, "PULSELAKE_LAKE_ROOT": str(tmp_path / "lake"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter")}
    env["PATH"] = f"{Path(py).parent}{os.pathsep}{env['PATH']}"
    started = {}
    try:
        for name, (args, _) in servers.items():
            log = tmp_path / f"{name.replace(' ', '_')}.log"
            with log.open("w") as out:
                started[name] = (subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                                  stdin=subprocess.DEVNULL, start_new_session=True), log)
        sockets = {name: wait_listening(process, log, servers[name][1]) for name, (process, log) in started.items()}
    finally:
        for process, _ in started.values():
            stop(process)
    for name, found in sockets.items():
        assert found and not exposed(found), f"{name} listens on {sorted(found)}"
    assert ("127.0.0.1", dashboard) in sockets["streamlit run"]


def test_spark_driver_listens_on_loopback_only(spark):
    """The JVM get_spark starts (driver RPC, block manager, py4j gateway) binds loopback, the UI is off."""
    jvms = [p for p in psutil.Process().children(recursive=True) if p.name() == "java"]
    assert jvms, "no Spark JVM among this process's children"
    found = listening(jvms)
    assert found and not exposed(found), sorted(found)
    assert spark.sparkContext.uiWebUrl is None


def test_admin_password_is_random_per_home_and_private(tmp_path):
    """No password shared by every checkout: each AIRFLOW_HOME gets its own, kept 0600."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = admin_password(tmp_path / "a"), admin_password(tmp_path / "b")
    assert first != second and len(first) >= 16
    assert admin_password(tmp_path / "a") == first  # stable once generated
    assert stat.S_IMODE(passwords_file(tmp_path / "a").stat().st_mode) == 0o600


@pytest.mark.slow
def test_make_airflow_listens_on_loopback_and_requires_login(tmp_path):
    """`make airflow` (jobs.local.airflow_launcher) with its defaults: api-server, scheduler and
    dag-processor bind loopback only, the API refuses anonymous and wrong-password requests, and the
    generated password (0600 file, never logged) logs in."""
    home, port = tmp_path / "airflow-home", free_port()
    log = tmp_path / "make_airflow.log"
    env = {**os.environ, "AIRFLOW_PORT": str(port), "PULSELAKE_LAKE_ROOT": str(tmp_path / "lake")}
    with log.open("w") as out:
        launcher = subprocess.Popen([sys.executable, "-m", "jobs.local.airflow_launcher", "--home", str(home)],
                                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
    try:
        deadline = time.monotonic() + 420
        while "Airflow is up" not in log.read_text():
            assert launcher.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(2)
        services = tree(launcher.pid)
        found = listening(services)
        assert ("127.0.0.1", port) in found
        assert not exposed(found), f"Airflow listens on {sorted(found)}"

        url = f"http://127.0.0.1:{port}"
        assert requests.get(f"{url}/api/v2/dags", timeout=60).status_code == 401
        assert requests.get(f"{url}/api/v2/dags", headers={"Authorization": "Bearer not-a-token"}, timeout=60).status_code in (401, 403)
        wrong = requests.post(f"{url}/auth/token", json={"username": ADMIN, "password": "admin"}, timeout=60)
        assert wrong.status_code == 401, wrong.text
        password = json.loads(passwords_file(home).read_text())[ADMIN]
        token = requests.post(f"{url}/auth/token", json={"username": ADMIN, "password": password}, timeout=60)
        assert token.status_code == 201, token.text
        dags = requests.get(f"{url}/api/v2/dags", headers={"Authorization": f"Bearer {token.json()['access_token']}"},
                            timeout=60)
        assert dags.status_code == 200, dags.text
    finally:
        stop(launcher, grace_s=90)
    assert launcher.returncode == 0, log.read_text()[-3000:]
    assert not [p for p in services if alive(p)], "Airflow left processes behind"
    for private in (passwords_file(home), home / "pulselake_secrets.json"):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600, private
    logs = [log, *(p for p in home.rglob("*") if p.is_file() and p.suffix in (".log", ".cfg", ".json") and p != passwords_file(home))]
    assert not [p for p in logs if password.encode() in p.read_bytes()], "the admin password was written out"
