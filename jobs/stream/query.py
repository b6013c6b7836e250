"""The freshness stream: `finnhub.trades` -> bronze, silver and 1-minute bars every few seconds.

It is the nightly's own consumer (`jobs.ingest.consume`, the same checkpoint and
batch function) on a timer instead of `Trigger.AvailableNow`, and holds the
checkpoint's lock while it runs: while the stream is up, the nightly leaves the
topic to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from pyspark.sql.streaming import StreamingQuery

from jobs.ingest.consume import CheckpointLock, checkpoint_location, start_sink
from jobs.resources.lake import Lake
from jobs.stream.batch import DEFAULT_WATERMARK, BatchReport, trades_sink


@dataclass(frozen=True)
class StreamConfig:
    trigger_seconds: float = 5.0
    available_now: bool = False  # take what the topic holds, then stop (catch-up runs and tests)
    max_offsets_per_trigger: int | None = None
    watermark: timedelta = DEFAULT_WATERMARK
    score: bool = True  # live predictions and the scorecard after each batch (jobs.models.live)


class TradesStream:
    """The running query and the checkpoint lock it holds; `stop()` ends both."""

    def __init__(self, lake: Lake, config: StreamConfig, on_batch: Callable[[BatchReport], None] | None = None,
                 lock_wait_s: float = 0.0) -> None:
        sink = trades_sink(config.watermark, config.score)
        self.checkpoint = checkpoint_location(lake, sink)
        self.lock = CheckpointLock(lake, sink).acquire(lock_wait_s)
        try:
            self.query: StreamingQuery = start_sink(
                lake, sink, available_now=config.available_now, trigger_seconds=config.trigger_seconds,
                max_offsets_per_trigger=config.max_offsets_per_trigger,
                on_batch=(lambda _, report: on_batch(report)) if on_batch else None)
        except BaseException:
            self.lock.release()
            raise

    def await_termination(self, timeout_s: float | None = None) -> bool:
        return self.query.awaitTermination(timeout_s) if timeout_s is not None else self.query.awaitTermination()

    def stop(self) -> None:
        try:
            self.query.stop()
        finally:
            self.lock.release()


def start_stream(lake: Lake, config: StreamConfig, on_batch: Callable[[BatchReport], None] | None = None) -> TradesStream:
    """Start the stream on Spark's stream thread; raises CheckpointBusy when another query consumes the topic."""
    return TradesStream(lake, config, on_batch)
