"""Quiet runs: everything a run prints goes to a log file; the terminal shows only our console.

`captured_output(log_path, verbose)` points file descriptors 1 and 2 at the log file
with ``os.dup2``, so whatever starts afterwards inherits them: the JVM Spark launches,
the Python workers it forks (TensorFlow inside UDFs), TensorFlow's C++ logging, and
any other child process. Python's ``logging`` (TensorFlow's retracing warnings come
that way) and ``warnings`` are sent to the same file at INFO. The block gets a rich
Console that writes to a duplicate of the ORIGINAL stderr: the progress bars and
summary tables still reach the terminal. With ``verbose=True`` a thread follows the
log file and prints what is appended above those bars, live.

Where the log goes (`run_log_path`): ``<lake_root>/_logs/<command>-<UTC time>.log``
for a local lake (Spark, Delta and Hadoop skip folders whose names start with ``_``,
and pulselake finds tables from lake_schema, never by listing the lake), and
``./logs/`` in the working directory when the lake is remote (s3a://, hdfs://), since
the log is written as the run goes with plain local file I/O.

Children that outlive the block (Spark's JVM and its workers) keep writing to the log
file, never to the terminal.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
import traceback
import warnings
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn

from jobs.resources.settings import Settings

LOG_DIR = "_logs"
REMOTE_LAKE_LOG_DIR = "logs"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def quiet_tensorflow() -> None:
    """Before TensorFlow is imported anywhere (driver, or Spark workers, which inherit the
    environment): no C++ info/warning lines. Whatever it still prints lands in the log."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def spinner(console: Console, text: str) -> Progress:
    """Like ``console.status(text)``, but leaving sys.stdout/sys.stderr alone: rich's status would
    show a print() made meanwhile on the terminal, where under `captured_output` it belongs in the log."""
    progress = Progress(SpinnerColumn(), TextColumn(text), console=console, transient=True,
                        redirect_stdout=False, redirect_stderr=False)
    progress.add_task(text, total=None)
    return progress


def run_log_path(settings: Settings, command: str, now: datetime | None = None) -> Path:
    """``<lake_root>/_logs/<command>-<UTC>.log`` for a local lake, else ``./logs/<command>-<UTC>.log``."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    if settings.lake_is_local:
        folder = Path(settings.lake_root.removeprefix("file://")) / LOG_DIR
    else:
        folder = Path(REMOTE_LAKE_LOG_DIR)
    return folder.resolve() / f"{command}-{stamp}.log"


@contextmanager
def captured_output(log_path: str | Path, verbose: bool = False) -> Iterator[Console]:
    """Send fds 1 and 2, logging and warnings to `log_path` (appended); yield a Console on the real stderr.

    On the way out, always, the console's last line is ``full log: <path>``. An exception
    escaping the block is a crash: its traceback goes to the log and to the terminal, before
    that line, and the block raises SystemExit(1) instead (so the traceback is not printed
    twice). Click/typer exits and usage errors, SystemExit and Ctrl-C pass through unchanged.
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    _flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    terminal = open(os.dup(2), "w", encoding="utf-8", errors="replace", buffering=1)
    try:
        width = os.get_terminal_size(terminal.fileno()).columns or None  # fds 1/2 will not be terminals any more
    except OSError:
        width = None
    console = Console(file=terminal, width=width)

    for fd in (1, 2):
        os.dup2(log_fd, fd)
    log_stream = open(os.dup(log_fd), "w", encoding="utf-8", errors="replace", buffering=1)
    handler = logging.StreamHandler(log_stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root_level = root.level
    root.addHandler(handler)
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    show_warning = warnings.showwarning
    warnings.showwarning = _log_warning

    stop = threading.Event()
    follower = None
    if verbose:
        follower = threading.Thread(target=_follow, args=(log_path, os.path.getsize(log_path), console, stop),
                                    name="run-log-follower", daemon=True)
        follower.start()

    crash = None
    try:
        yield console
    except BaseException as error:
        if not _is_crash(error):
            raise
        crash = "".join(traceback.format_exception(error))
        log_stream.write(crash)
    finally:
        _flush()
        warnings.showwarning = show_warning
        root.removeHandler(handler)
        root.setLevel(root_level)
        log_stream.close()
        for fd in (1, 2):
            os.dup2(saved[fd], fd)
            os.close(saved[fd])
        os.close(log_fd)
        if follower is not None:
            stop.set()
            follower.join()
        if crash:
            terminal.write(crash)
        console.print(f"full log: {log_path}", highlight=False, soft_wrap=True)
        terminal.close()
    if crash:
        raise SystemExit(1)


def _is_crash(error: BaseException) -> bool:
    """A real failure, not a deliberate exit (SystemExit, Ctrl-C, click/typer's Exit, Abort, usage errors)."""
    if not isinstance(error, Exception):
        return False
    return not any(cls.__module__.split(".")[0] in ("click", "typer") for cls in type(error).__mro__)


def _log_warning(message, category, filename, lineno, file=None, line=None) -> None:
    text = warnings.formatwarning(message, category, filename, lineno, line).rstrip()
    logging.getLogger("py.warnings").warning("%s", text)


def _flush() -> None:
    """Python's buffers and C stdio's (a library's printf to a file is block-buffered)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):
        pass


def _follow(path: Path, offset: int, console: Console, stop: threading.Event) -> None:
    """`tail -f` for --verbose: print what is appended to the log, line by line, through the console
    (so it scrolls above the progress bars); after `stop`, read to the end once more and return."""
    with open(path, "rb") as log:
        log.seek(offset)
        pending = b""
        while True:
            stopping = stop.is_set()
            chunk = log.read(1 << 16)
            if chunk:
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    console.out(line.decode("utf-8", "replace"), highlight=False)
                continue
            if stopping:
                break
            stop.wait(0.1)
        if pending:
            console.out(pending.decode("utf-8", "replace"), highlight=False)
