"""One Java daemon (a Kafka broker, a NameNode, a DataNode) run from the locked jars in .jars/.

Each runs in its own process group, so a Ctrl-C meant for the Python program in the foreground does not
kill it half-way, and `stop()` can take down the JVM and nothing else. Its console output is appended to
a file, and `output_since_start()` quotes only what this start wrote: the part an error message needs.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable

from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_delay, wait_fixed


def free_ports(count: int = 1) -> list[int]:
    """Distinct free ports on 127.0.0.1 (all sockets held open together, so none repeats)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def java_binary() -> str:
    """$JAVA_HOME/bin/java when set, else `java` from PATH."""
    return str(Path(os.environ["JAVA_HOME"], "bin", "java")) if os.environ.get("JAVA_HOME") else "java"


def read_since(path: Path, offset: int) -> str:
    """A log file's text from `offset` (from the start if it rolled over and is shorter now)."""
    if not path.exists():
        return ""
    with path.open("rb") as f:
        if f.seek(0, os.SEEK_END) >= offset:
            f.seek(offset)
        else:
            f.seek(0)
        return f.read().decode(errors="replace")


def write_secret(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds passwords)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


class JvmDaemon:
    """`java <command>` in its own process group, stdout and stderr appended to `output_file`."""

    def __init__(self, command: list[str], output_file: Path, cwd: Path) -> None:
        self.command = command
        self.output_file = output_file
        self.cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None
        self._offset = 0

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running else None

    @property
    def exit_code(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def start(self) -> None:
        if self.running:
            return
        self.kill()  # reap a JVM that exited by itself, if any
        self._offset = self.output_file.stat().st_size if self.output_file.exists() else 0
        with open(self.output_file, "ab") as out:
            self._process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=out,
                                             stderr=subprocess.STDOUT, cwd=self.cwd, start_new_session=True)
        atexit.register(self.kill)  # never leave an orphan JVM behind a crashed run

    def stop(self, timeout_s: float = 30) -> None:
        """SIGTERM (the daemon's shutdown hook runs), SIGKILL if it hangs."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self._process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        self._forget()

    def kill(self) -> None:
        """SIGKILL, no goodbye: a crash."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._signal(signal.SIGKILL)
            self._process.wait()
        self._forget()

    def output_since_start(self) -> str:
        return read_since(self.output_file, self._offset)

    def _signal(self, sig: signal.Signals) -> None:
        assert self._process is not None
        try:
            os.killpg(self._process.pid, sig)  # its own group (start_new_session): the JVM and nothing else
        except ProcessLookupError:
            pass

    def _forget(self) -> None:
        atexit.unregister(self.kill)
        self._process = None


def serve_in_foreground(console, name: str, start: Callable[[], object], running: Callable[[], bool],
                        stop: Callable[[], None], announce: Callable[[], None], logs: str) -> None:
    """What `make kafka` and `make hdfs` do: start a service, announce how to reach it, keep it until Ctrl-C,
    SIGTERM or SIGHUP (the terminal closed), then stop it cleanly. Exits 1 when it fails or dies by itself."""
    import typer
    from rich.markup import escape

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # SIGINT even when inherited as ignored; SIGHUP: the terminal closed, and the service must not outlive us.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, terminate)
    try:
        try:
            with console.status(f"starting {name} ..."):
                start()
        except RuntimeError as exc:  # it quotes the service's log: say that, without a Python traceback
            console.print(f"[bold red]{name} did not start:[/] {escape(str(exc))}", soft_wrap=True, highlight=False)
            raise typer.Exit(1) from None
        announce()
        while running():
            time.sleep(0.5)
        console.print(f"[bold red]{name} exited on its own[/]; see {logs}", soft_wrap=True)
        raise typer.Exit(1)
    except KeyboardInterrupt:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean shutdown short
        console.print(f"stopping {name} ...")
    finally:
        stop()
    console.print(f"{name} stopped")


def ready_or_killed(wait_ready: Callable[[float], None], kill: Callable[[], None], timeout_s: float) -> None:
    """Wait until a service just started is ready; kill it when it is not (never leave a half-started daemon)."""
    try:
        wait_ready(timeout_s)
    except BaseException:
        kill()
        raise


class NotReady(Exception):
    """A service is still starting (not listening, booting, no metadata yet): worth another probe."""


def probe_until_ready(probe: Callable[[], None], timeout_s: float, interval_s: float, what: str,
                      log_tail: Callable[[], str]) -> None:
    """Call `probe` every `interval_s` until it stops raising NotReady; after `timeout_s`, a RuntimeError that
    names `what`, the last reason and the service's log tail."""
    try:
        for attempt in Retrying(stop=stop_after_delay(timeout_s), wait=wait_fixed(interval_s),
                                retry=retry_if_exception_type(NotReady)):
            with attempt:
                probe()
    except RetryError as exc:
        raise RuntimeError(f"{what} not ready after {timeout_s:.0f}s (last: {exc.last_attempt.exception()})"
                           f"{log_tail()}") from None
