"""`make airflow`: Airflow 3 for this repository on 127.0.0.1, started with one command.

Runs the three Airflow 3 services as child processes — api-server (UI and
REST API), scheduler (with the LocalExecutor) and dag-processor — against an
SQLite database under AIRFLOW_HOME (default ``.airflow/`` in the repo, git-ignored),
with our ``dags/`` folder, the example DAGs off and authentication on
(SimpleAuthManager: user ``admin``, a random password generated here into a
0600 file under AIRFLOW_HOME, never printed). Every port listens on 127.0.0.1
only: the scheduler runs without its log server (which binds all interfaces;
tasks log to local files the api-server reads). Ctrl-C or SIGTERM stops all three.

Every setting is passed as an ``AIRFLOW__SECTION__KEY`` environment variable,
so the same function configures the end-to-end test's throwaway instance.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from jobs.resources.settings import repository_settings

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("api-server", "scheduler", "dag-processor")
# The LocalExecutor's log server binds every interface (host "" is hard-coded in Airflow); tasks run here, so
# their logs are local files the api-server reads directly.
SERVICE_ARGS = {"scheduler": ["--skip-serve-logs"]}
ADMIN = "admin"


def _private_json(path: Path, make: dict[str, str]) -> dict[str, str]:
    """The JSON object in `path`, with the keys of `make` it lacks added; the file is kept 0600."""
    values = json.loads(path.read_text().strip() or "{}") if path.exists() else {}
    missing = {k: v for k, v in make.items() if k not in values}
    if missing or not path.exists():
        values.update(missing)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(values) + "\n")
    os.chmod(path, 0o600)
    return values


def _secrets(home: Path) -> dict[str, str]:
    """JWT and session secrets, generated once per AIRFLOW_HOME (0600); all services must share them."""
    return _private_json(home / "pulselake_secrets.json",
                         {"jwt_secret": secrets.token_urlsafe(48), "api_secret_key": secrets.token_urlsafe(32)})


def passwords_file(home: Path) -> Path:
    return home / "simple_auth_manager_passwords.json.generated"


def admin_password(home: Path) -> str:
    """The admin's password: random per AIRFLOW_HOME, in a 0600 file. Written before Airflow starts,
    so the auth manager finds it and never generates one itself (it would print it to the log)."""
    return _private_json(passwords_file(home), {ADMIN: secrets.token_urlsafe(16)})[ADMIN]


def airflow_env(home: Path, port: int, dags: Path = REPO / "dags", lake_root: str | None = None,
                parallelism: int = 2, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every Airflow service (and every task it runs) gets."""
    home.mkdir(parents=True, exist_ok=True)
    keys = _secrets(home)
    admin_password(home)
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ if base is None else base)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # Sized for 2 cores: at most `parallelism` task processes (each may run a local Spark).
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(parallelism),
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file(home)),
        "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
        "AIRFLOW__API__SECRET_KEY": keys["api_secret_key"],
        "AIRFLOW__API__EXPOSE_CONFIG": "False",
        # Off by default; if someone turns it on it still listens on loopback only.
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
        # Tasks find the lake and the repo's packages however the executor starts them.
        "PULSELAKE_LAKE_ROOT": str(Path(lake_root or repository_settings().lake_root).resolve()),
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p),
    })
    return env


def _airflow() -> str:
    return str(Path(sys.executable).parent / "airflow")


@dataclass
class LocalAirflow:
    """The api-server, scheduler and dag-processor as child processes, each in its own process group."""

    home: Path
    port: int = 8080
    dags: Path = REPO / "dags"
    lake_root: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {**airflow_env(self.home, self.port, self.dags, self.lake_root), **self.extra_env}

    def log_path(self, service: str) -> Path:
        return self.home / "logs" / f"{service}.log"

    def migrate(self) -> None:
        """Create or upgrade the SQLite metadata database (idempotent)."""
        done = subprocess.run([_airflow(), "db", "migrate"], env=self.env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"airflow db migrate failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")

    def start(self) -> None:
        env = self.env
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        for service in SERVICES:
            args = [_airflow(), service] + SERVICE_ARGS.get(service, [])
            if service == "api-server":
                args += ["--host", "127.0.0.1", "--port", str(self.port)]
            with self.log_path(service).open("ab") as log:
                self.processes[service] = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                           stdin=subprocess.DEVNULL, start_new_session=True)

    def wait_healthy(self, timeout_s: float = 180.0) -> None:
        """Until the API answers and the scheduler and dag-processor report healthy."""
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5) as answer:
                    health = json.load(answer)
                states = {k: (v or {}).get("status") for k, v in health.items()}
                if all(states.get(k) == "healthy" for k in ("metadatabase", "scheduler", "dag_processor")):
                    return
                last = str(states)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = str(exc)
            time.sleep(2)
        raise TimeoutError(f"Airflow at {self.url} not healthy after {timeout_s:.0f} s ({last}); logs in {self.home / 'logs'}")

    def check_alive(self) -> None:
        for service, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"airflow {service} exited with {process.returncode}; see {self.log_path(service)}")

    def stop(self, grace_s: float = 30.0) -> None:
        """SIGTERM each service's process group (its workers and task processes too), SIGKILL stragglers."""
        for process in self.processes.values():
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process, signal.SIGKILL)  # anything of the group still left
            process.wait()
        self.processes.clear()

    def __enter__(self) -> "LocalAirflow":
        self.migrate()
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # the group this launcher created with start_new_session
    except (ProcessLookupError, PermissionError):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make airflow", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", default=str(REPO / ".airflow"),
                        help="AIRFLOW_HOME (default: .airflow/ in the repo)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("AIRFLOW_PORT", "8080")), help="UI/API port on 127.0.0.1")
    parser.add_argument("--lake-root", default=None, help="lake the tasks write; default $PULSELAKE_LAKE_ROOT or ./lake")
    args = parser.parse_args(argv)

    airflow = LocalAirflow(Path(args.home).resolve(), args.port, lake_root=args.lake_root)
    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"==> AIRFLOW_HOME={airflow.home} (SQLite, LocalExecutor x2, DAGs from {airflow.dags})", flush=True)
    print("==> migrating the metadata database", flush=True)
    airflow.migrate()
    airflow.start()
    try:
        print(f"==> starting {', '.join(SERVICES)}; logs in {airflow.home / 'logs'}", flush=True)
        airflow.wait_healthy()
        print(f"\nAirflow is up: {airflow.url}\n"
              f"  login:    {ADMIN}\n"
              f"  password: in {passwords_file(airflow.home)} (random, generated on first start)\n"
              f"  lake:     {airflow.env['PULSELAKE_LAKE_ROOT']}\n"
              "DAGs start paused: unpause pulselake_nightly (or trigger it) in the UI. Ctrl-C stops Airflow.", flush=True)
        while not stopping:
            airflow.check_alive()
            time.sleep(1)
    except (RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("==> stopping Airflow", flush=True)
        airflow.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
