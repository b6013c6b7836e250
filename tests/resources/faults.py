"""Helpers for the commit-fault tests: start worker processes, freeze or kill them, and audit a Delta log."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from jobs.resources.storage import arrow_filesystem, join_uri

REPO = Path(__file__).resolve().parents[2]
_COMMIT_FILE = re.compile(r"^(\d{20})\.json$")


def start_worker(args: dict[str, Any], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A worker in its own process group: a signal to the group reaches its Spark JVM and Python workers too."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.resources.workers", json.dumps(args)],
        cwd=REPO, env={**os.environ, **(env or {})}, stdout=log.open("w"), stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def kill(proc: subprocess.Popen) -> None:
    signal_group(proc, signal.SIGKILL)
    proc.wait(timeout=30)


def wait_until(predicate: Callable[[], Any], timeout_s: float, proc: subprocess.Popen | None = None, poll_s: float = 0.001) -> Any:
    """Poll `predicate` until it is truthy; fail on timeout or when `proc` exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"worker exited ({proc.returncode}) before the awaited state")
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s} s")


def outputs(log: Path) -> list[dict[str, Any]]:
    """The JSON lines a worker printed (Spark's own log lines are skipped)."""
    found = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return found


def log_commits(table_uri: str, storage_options: dict[str, str] | None = None) -> list[list[dict[str, Any]]]:
    """Every commit of a table's Delta log, in order; asserts the versions are 0..n with no gap and that
    every line of every commit is a JSON action (a torn or half-written commit fails here)."""
    fs, root = arrow_filesystem(table_uri, storage_options)
    from pyarrow.fs import FileSelector

    names = sorted(
        info.base_name for info in fs.get_file_info(FileSelector(join_uri(root, "_delta_log")))
        if _COMMIT_FILE.match(info.base_name)
    )
    versions = [int(_COMMIT_FILE.match(name).group(1)) for name in names]
    assert versions == list(range(len(versions))), f"log versions are not contiguous: {versions}"
    commits = []
    for name in names:
        with fs.open_input_stream(join_uri(root, "_delta_log", name)) as stream:
            text = stream.read().decode()
        actions = [json.loads(line) for line in text.splitlines() if line.strip()]
        assert actions and all(len(action) == 1 for action in actions), f"{name} is not a whole commit"
        assert any("commitInfo" in action for action in actions), f"{name} has no commitInfo"
        commits.append(actions)
    return commits


def commit_info(commit: list[dict[str, Any]]) -> dict[str, Any]:
    return next(action["commitInfo"] for action in commit if "commitInfo" in action)


def ever_added(table_dir: Path) -> set[str]:
    """Data files any commit ever added (live or since removed)."""
    return {action["add"]["path"] for commit in log_commits(str(table_dir)) for action in commit if "add" in action}


def data_files(table_dir: Path) -> set[str]:
    return {str(p.relative_to(table_dir)) for p in table_dir.rglob("*.parquet") if "_delta_log" not in p.parts}


def new_files(table_dir: Path, known: set[str]) -> set[str]:
    """Parquet files on disk that were not there before (`known`)."""
    try:
        on_disk = data_files(table_dir)
    except FileNotFoundError:  # a partition folder vanished while listing: try again on the next poll
        return set()
    return on_disk - known


def race(lake_root: str, tmp_path: Path, steps_of: dict[str, list[dict[str, Any]]],
         storage_options: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Writer processes, one per key of `steps_of`, each running its steps; step i of every writer starts
    when the last writer has finished step i - 1 (barrier files), so each round's writes race for the same
    log version. Returns what they reported, step by step, tagged with the writer."""
    writers = list(steps_of)
    procs = {}
    for who, steps in steps_of.items():
        staged = [{**step, "wait": str(tmp_path / f"round{i}.go"), "done": str(tmp_path / f"round{i}.{who}")}
                  for i, step in enumerate(steps)]
        args = {"lake_root": lake_root, "steps": staged, "storage_options": storage_options or {}}
        log = tmp_path / f"race-{who}.log"
        procs[who] = (start_worker(args, log), log)
    try:
        for proc, log in procs.values():
            wait_until(lambda: any(o.get("ready") for o in outputs(log)), 240, proc, poll_s=0.05)
        rounds = max(len(steps) for steps in steps_of.values())
        for i in range(rounds):
            (tmp_path / f"round{i}.go").touch()
            wait_until(lambda: all((tmp_path / f"round{i}.{who}").exists() for who in writers), 240, poll_s=0.05)
        for proc, log in procs.values():
            assert proc.wait(timeout=120) == 0, log.read_text()[-3000:]
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:
                kill(proc)
    return [{**o, "who": who} for who, (_, log) in procs.items() for o in outputs(log) if "step" in o]


def shared_read_versions(commits: list[list[dict[str, Any]]]) -> dict[int, int]:
    """readVersions that more than one commit was built on: each such pair raced for the same log
    version, and Delta committed the loser on a later version after checking it did not conflict."""
    from collections import Counter

    counts = Counter(commit_info(c).get("readVersion") for c in commits[1:])
    return {version: n for version, n in counts.items() if version is not None and n > 1}
