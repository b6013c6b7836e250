"""Run a `make <service>` entry point the way a user does: in the foreground, until Ctrl-C."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def foreground(command: list[str], env: dict[str, str], ready_marker: str, timeout_s: float = 90) -> Iterator[tuple[subprocess.Popen, list[str]]]:
    """Start `command`, wait until a line of its output contains `ready_marker`, yield (process, lines so far and
    to come). The caller stops it (SIGINT); a process still running afterwards is killed."""
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            if ready_marker in line:
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(timeout_s) and proc.poll() is None, "".join(lines)
        yield proc, lines
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(10)
