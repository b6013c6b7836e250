"""The landing zone: raw records as NDJSON files, rolled by size or age, partitioned by date.

A file is written under ``_tmp/`` and renamed into ``date=YYYY-MM-DD/`` only when
complete (``os.replace`` is atomic on one filesystem), so a reader listing the
date folders never sees a partial file. Each finished file is immutable; the
bronze jobs pick every file up exactly once, keyed on its relative path.

A writer holds an exclusive ``flock`` on its open file. A collector killed with
SIGKILL leaves its file in ``_tmp/`` unlocked (the kernel drops the lock with
the process); `recover_orphans` (run when a writer for the stream starts and
before bronze lists the stream) moves every such file into its date folder, so
what the dead process wrote is not lost. Its last line may be torn mid-record:
bronze quarantines it as a malformed line, with its reason.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import IO, Any

from jobs.settings import Settings

LANDING_DIR = "landing_zone"
TMP_DIR = "_tmp"
SUFFIX = ".ndjson"
ORPHAN_EMPTY_AGE_S = 60.0  # an unlocked empty temp file older than this is a dead writer's: removed


def landing_root(settings: Settings) -> Path:
    """`<lake_root>/landing_zone`; the landing zone is a local folder (collectors write plain files)."""
    if not settings.lake_is_local:
        raise ValueError(
            f"the landing zone needs a local lake root, not {settings.lake_root!r}; "
            "run collectors on a machine with a local PULSELAKE_LAKE_ROOT and ship the files"
        )
    return Path(settings.lake_root.removeprefix("file://")) / LANDING_DIR


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def landed_files(root: Path, stream: str) -> list[Path]:
    """Finished files of one stream (e.g. ``finnhub/trades``), oldest name first; temp files never match."""
    base = root / stream
    return sorted(base.glob(f"date=*/*{SUFFIX}"))


def recover_orphans(root: Path, stream: str) -> list[Path]:
    """Move the temp files of dead writers (no lock held, something written) into their date folders.

    Temp files are named ``<day>_<final name>``. A live writer holds its file's lock from before its
    first byte until after the rename, so a file that has bytes and no lock is an orphan. Returns the
    finished paths."""
    recovered = []
    for path in sorted((root / stream / TMP_DIR).glob(f"*{SUFFIX}")):
        day, sep, name = path.name.partition("_")
        if not sep:
            continue
        try:
            handle = path.open("rb")
        except FileNotFoundError:  # its writer finished it meanwhile
            continue
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live writer
                continue
            try:
                if os.stat(path).st_ino != os.fstat(handle.fileno()).st_ino:
                    continue
            except FileNotFoundError:  # renamed by its writer between our open and our lock
                continue
            if os.fstat(handle.fileno()).st_size == 0:
                # empty: its writer died before writing, or is between creating and locking it
                if time.time() - os.fstat(handle.fileno()).st_mtime > ORPHAN_EMPTY_AGE_S:
                    path.unlink(missing_ok=True)
                continue
            final = root / stream / f"date={day}" / name
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, final)
            recovered.append(final)
    return recovered


@dataclass
class _OpenFile:
    day: date
    tmp_path: Path
    handle: IO[str]
    opened: float
    bytes: int = 0
    lines: int = 0


@dataclass
class LandingWriter:
    """Appends JSON records to the current file of one stream and rolls it by size, age or day."""

    root: Path
    stream: str  # e.g. "finnhub/trades"
    max_bytes: int = 8 << 20
    max_age_s: float = 60.0
    prefix: str = "part"
    finished: list[Path] = field(default_factory=list)
    records: int = 0
    recovered: list[Path] = field(default_factory=list)  # files of a killed predecessor, finished at start
    _current: _OpenFile | None = None

    def __post_init__(self) -> None:
        self.recovered = recover_orphans(self.root, self.stream)

    def write(self, record: dict[str, Any], day: date) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        current = self._current
        if current is not None and current.day != day:
            self.roll()
            current = None
        if current is None:
            current = self._current = self._open(day)
        current.handle.write(line)
        current.bytes += len(line.encode("utf-8"))
        current.lines += 1
        self.records += 1
        if current.bytes >= self.max_bytes:
            self.roll()

    def maybe_roll(self) -> None:
        """Roll the open file if it is older than `max_age_s` (call this on a timer)."""
        if self._current is not None and time.monotonic() - self._current.opened >= self.max_age_s:
            self.roll()

    def roll(self) -> Path | None:
        """Finish the open file: flush, fsync, rename into its date folder (still locked), close."""
        current, self._current = self._current, None
        if current is None:
            return None
        try:
            current.handle.flush()
            os.fsync(current.handle.fileno())
            if current.lines == 0:
                current.tmp_path.unlink(missing_ok=True)
                return None
            final_dir = self.root / self.stream / f"date={current.day.isoformat()}"
            final_dir.mkdir(parents=True, exist_ok=True)
            final = final_dir / current.tmp_path.name.partition("_")[2]
            os.replace(current.tmp_path, final)
        finally:
            current.handle.close()  # releases the lock
        self.finished.append(final)
        return final

    def close(self) -> None:
        self.roll()

    def _open(self, day: date) -> _OpenFile:
        tmp_dir = self.root / self.stream / TMP_DIR
        tmp_dir.mkdir(parents=True, exist_ok=True)
        stamp = utc_now().strftime("%Y%m%dT%H%M%S%f")
        path = tmp_dir / f"{day.isoformat()}_{self.prefix}-{stamp}-{uuid.uuid4().hex[:8]}{SUFFIX}"
        handle = path.open("w", encoding="utf-8")
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # held until the file is finished (or the process dies)
        return _OpenFile(day, path, handle, time.monotonic())

    def __enter__(self) -> "LandingWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
