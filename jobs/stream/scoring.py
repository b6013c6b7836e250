"""Live scoring beside the stream, off its path to silver.

Each batch reports the newest minute of the bars it refreshed, per symbol; this
thread runs the graph's live steps for them (`models.live`: `jobs.models.steps.score_live`, predicting from
the bars closed by that minute) while the next batches run, so a model, however slow,
never holds trades back from silver. Batches are scored in order; when more
than `CATCH_UP_AFTER` wait, the scorer skips to the newest minute of each
symbol, as a live system must. No app transaction is needed: `score_live` skips
the predictions a model already made, and the scorecard is a merge, so scoring
the same bars twice changes nothing.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from datetime import datetime, timezone
from typing import Callable

from jobs.resources.lake import Lake
from jobs.steps import StepReport
from jobs.window import Window

log = logging.getLogger(__name__)
CATCH_UP_AFTER = 3  # batches waiting to be scored before the scorer skips to the newest


class LiveScorer:
    """A thread that scores what the batches moved; `moved()` hands work over, `stop()` scores what is left."""

    def __init__(self, lake: Lake, on_report: Callable[[StepReport], None] | None = None) -> None:
        self.lake, self.on_report = lake, on_report
        self._pending: deque[tuple[dict[str, datetime], float]] = deque()  # (newest minute per symbol, handed at)
        self._lock, self._wake, self._stopping = threading.Lock(), threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="pulselake-live-scoring", daemon=True)

    def start(self) -> "LiveScorer":
        self._thread.start()
        return self

    def moved(self, newest: dict[str, datetime]) -> None:
        with self._lock:
            self._pending.append((dict(newest), time.time()))
            self._wake.set()

    def stop(self, timeout_s: float = 120.0) -> None:
        with self._lock:
            self._stopping.set()
            self._wake.set()
        self._thread.join(timeout_s)

    def _take(self) -> tuple[dict[str, datetime], float] | None:
        """The oldest batch's moves; every waiting batch's, merged to the newest minute per symbol, when behind."""
        with self._lock:
            if len(self._pending) > CATCH_UP_AFTER:
                merged: dict[str, datetime] = {}
                for newest, _ in self._pending:
                    for symbol, minute in newest.items():
                        merged[symbol] = max(minute, merged.get(symbol, minute))
                taken = (merged, self._pending[0][1])
                self._pending.clear()
            else:
                taken = self._pending.popleft() if self._pending else None
            if not self._pending and not self._stopping.is_set():  # once stopping, run on until nothing is left
                self._wake.clear()
        return taken

    def _run(self) -> None:
        _yield_the_cpu()
        from jobs.pipeline.graph import LIVE  # TensorFlow loads with the first model, in this thread only

        while True:
            self._wake.wait()
            taken = self._take()
            if taken is None:
                if self._stopping.is_set():
                    return
                continue
            newest, handed_at = taken
            try:
                window = Window.latest(datetime.now(timezone.utc), source="stream")
                reports = [live.run(self.lake, window, symbols=sorted(newest),
                                    days=sorted({m.date() for m in newest.values()}), at=newest) for live in LIVE]
                report = StepReport("; ".join(r.step for r in reports))
                for one in reports:
                    report.merge(one)
            except Exception as exc:  # noqa: BLE001  (the stream goes on; the next batch scores again)
                log.exception("live scoring failed")
                report = StepReport("live: score", notes=[f"failed: {type(exc).__name__}: {exc}".splitlines()[0]])
            report.seconds = round(time.time() - handed_at, 2)  # from the batch's bars to its predictions
            if self.on_report is not None:
                self.on_report(report)


SCORER_NICE = 10  # how much lower the scorer's CPU priority is than the batches'


def _yield_the_cpu() -> None:
    """Lower this thread's scheduling priority (Linux: nice is per thread, and the threads it starts, like
    TensorFlow's pools created on its first prediction, inherit it): on a machine with few cores the batches
    get the CPU first and the predictions wait, not the other way round."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), SCORER_NICE)
    except (AttributeError, OSError):  # not Linux, or not allowed: scoring still works, at equal priority
        log.info("could not lower the live scorer's CPU priority")
