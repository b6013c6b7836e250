"""The freshness stream: `finnhub.trades` -> bronze, silver and 1-minute bars every few seconds.

It is the nightly's own consumer (`jobs.ingest.consume`, the same checkpoint and
batch function) on a timer instead of `Trigger.AvailableNow`, and holds the
checkpoint's lock while it runs: while the stream is up, the nightly leaves the
topic to it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from pyspark.sql.streaming import StreamingQuery

from jobs.ingest.consume import CheckpointLock, checkpoint_location, start_sink
from jobs.resources.lake import Lake
from jobs.steps import StepReport
from jobs.trades.batch import DEFAULT_WATERMARK, BatchReport, trades_sink
from jobs.stream.scoring import LiveScorer


@dataclass(frozen=True)
class StreamConfig:
    trigger_seconds: float = 5.0
    available_now: bool = False  # take what the topic holds, then stop (catch-up runs and tests)
    max_offsets_per_trigger: int | None = None
    watermark: timedelta = DEFAULT_WATERMARK
    score: bool = True  # live predictions and the scorecard for the bars each batch moved (jobs.stream.scoring)


class TradesStream:
    """The running query, the checkpoint lock it holds and the live scorer beside it; `stop()` ends all three."""

    def __init__(self, lake: Lake, config: StreamConfig, on_batch: Callable[[BatchReport], None] | None = None,
                 lock_wait_s: float = 0.0, on_score: Callable[[StepReport], None] | None = None) -> None:
        sink = trades_sink(config.watermark)
        self.checkpoint = checkpoint_location(lake, sink)
        self.lock = CheckpointLock(lake, sink).acquire(lock_wait_s)
        self.scorer = LiveScorer(lake, on_score).start() if config.score else None

        def each(_: int, report: BatchReport) -> None:
            if self.scorer is not None and report.moved:
                self.scorer.moved(report.moved)
            if on_batch is not None:
                on_batch(report)

        try:
            self.query: StreamingQuery = start_sink(
                lake, sink, available_now=config.available_now, trigger_seconds=config.trigger_seconds,
                max_offsets_per_trigger=config.max_offsets_per_trigger, on_batch=each)
        except BaseException:
            self._stop_scorer()
            self.lock.release()
            raise

    def await_termination(self, timeout_s: float | None = None) -> bool:
        return self.query.awaitTermination(timeout_s) if timeout_s is not None else self.query.awaitTermination()

    def batch_running(self) -> bool:
        return bool(self.query.isActive and self.query.status.get("isTriggerActive"))

    def stop(self, finish_batch_s: float = 0.0, hurry: threading.Event | None = None) -> str | None:
        """Stop the query, the scorer and the lock. A batch in progress gets up to `finish_batch_s` (or until
        `hurry` is set) to finish: stopping inside one interrupts its thread mid-commit (safe, it is replayed, but
        noisy). Returns "finished" or "abandoned" for that batch, None when none was running."""
        outcome = None
        try:
            if finish_batch_s > 0 and self.batch_running():
                deadline = time.monotonic() + finish_batch_s
                while self.batch_running() and time.monotonic() < deadline and not (hurry and hurry.is_set()):
                    time.sleep(0.1)
                outcome = "abandoned" if self.batch_running() else "finished"
            self.query.stop()
        finally:
            self._stop_scorer()
            self.lock.release()
        return outcome

    def _stop_scorer(self) -> None:
        if self.scorer is not None:
            self.scorer.stop()


def start_stream(lake: Lake, config: StreamConfig, on_batch: Callable[[BatchReport], None] | None = None,
                 on_score: Callable[[StepReport], None] | None = None) -> TradesStream:
    """Start the stream on Spark's stream thread (and live scoring on a thread of its own when `config.score`);
    raises CheckpointBusy when another query consumes the topic."""
    return TradesStream(lake, config, on_batch, on_score=on_score)
