"""Scenario 4: the micro-batch stream at a sustained arrival rate (1k and 5k trades/s by default).

A writer thread plays the collector: it stamps Finnhub-shaped trade frames with their receive time
and lands them through the collector's own `LandingWriter`, rolled every second, at the target rate.
The stream runs in this process (trigger every PULSELAKE_BENCH_STREAM_TRIGGER seconds, default 1),
warmed up first on two seconds of light traffic so the numbers are the steady state, not JIT warm-up.
A trade's delay runs from its receive time to the moment the silver commit holding it returned
(readable from then on); the sustained rate is trades in silver over the time from the first landing
to the last silver commit (so a short run understates it: the final drain counts).
Knobs: PULSELAKE_BENCH_STREAM_SECONDS (default 120), PULSELAKE_BENCH_STREAM_RATES (default 1000,5000).
`sizes` (row counts for the batch scenarios) does not apply here.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from pathlib import Path

import numpy as np

from bench.timing import jvm_peak_heap_mib
from jobs.ingest.finnhub_ws import TRADES_STREAM
from jobs.ingest.landing import LandingWriter, iso, landing_root, utc_now
from jobs.resources.lake import Lake
from jobs.settings import Settings
from jobs.stream.batch import BatchReport
from jobs.stream.query import StreamConfig, start_stream
from lake_schema.quarantine import QUARANTINE
from lake_schema.trades import SILVER_TRADES

TRADES_PER_FRAME = 10
SYMBOLS = [f"S{i:03d}" for i in range(200)]
DRAIN_TIMEOUT_S = 600


class FileWriter(threading.Thread):
    """Lands frames at `rate` trades/s for `seconds`, recording (receive time, trades) per landed file."""

    def __init__(self, landing: Path, rate: int, seconds: float, seed: int = 11) -> None:
        super().__init__(daemon=True)
        self.landing, self.rate, self.seconds = landing, rate, seconds
        self.rng = random.Random(seed)
        self.prices = {s: 50.0 + i for i, s in enumerate(SYMBOLS)}
        self.files: dict[str, list[tuple[float, int]]] = {}  # relative path -> [(received epoch s, trades)]
        self.started_at = self.stopped_at = 0.0
        self.trades = 0

    def _frame(self, received: float, count: int) -> str:
        data = []
        for _ in range(count):
            symbol = self.rng.choice(SYMBOLS)
            self.prices[symbol] = round(max(1.0, self.prices[symbol] + self.rng.uniform(-0.05, 0.05)), 2)
            t_ms = int((received - self.rng.uniform(0, 0.5)) * 1000)  # exchange time a little before receipt
            data.append({"s": symbol, "p": self.prices[symbol], "t": t_ms, "v": self.rng.randint(1, 500), "c": ["1"]})
        return json.dumps({"type": "trade", "data": data})

    def run(self) -> None:
        writer = LandingWriter(self.landing, TRADES_STREAM, max_age_s=1.0, prefix="trades")
        pending: list[tuple[float, int]] = []
        self.started_at = time.time()
        while (now := time.time()) < self.started_at + self.seconds:
            due = int(self.rate * (now - self.started_at)) - self.trades
            while due > 0:
                count = min(TRADES_PER_FRAME, due)
                stamp = utc_now()
                writer.write({"received_at": iso(stamp), "frame": self._frame(stamp.timestamp(), count)}, stamp.date())
                pending.append((stamp.timestamp(), count))
                self.trades += count
                due -= count
            finished = len(writer.finished)
            writer.maybe_roll()
            if len(writer.finished) > finished:
                self._landed(writer.finished[-1], pending)
                pending = []
            time.sleep(0.02)
        finished = len(writer.finished)
        writer.close()
        if len(writer.finished) > finished:
            self._landed(writer.finished[-1], pending)
        self.stopped_at = time.time()

    def _landed(self, path: Path, lines: list[tuple[float, int]]) -> None:
        self.files[path.relative_to(self.landing).as_posix()] = lines


def _write(writer: FileWriter) -> FileWriter:
    writer.start()
    writer.join()
    return writer


def _until_taken(writer: FileWriter, reports: list[BatchReport]) -> None:
    deadline = time.time() + DRAIN_TIMEOUT_S
    while not set(writer.files) <= {f for r in reports for f in r.taken} and time.time() < deadline:
        time.sleep(0.2)


def measure(lake: Lake, rate: int, seconds: float, trigger_s: float) -> dict:
    landing = landing_root(lake.settings)
    reports: list[BatchReport] = []
    query = start_stream(lake, StreamConfig(query_name=f"bench_{rate}", trigger_seconds=trigger_s),
                         on_batch=reports.append)
    try:
        _until_taken(_write(FileWriter(landing, 100, 2.0, seed=1)), reports)  # warm-up: JIT, Python workers
        warm = len(reports)
        writer = _write(FileWriter(landing, rate, seconds))
        _until_taken(writer, reports)
    finally:
        query.stop()
    reports = reports[warm:]
    visible = {f: r.silver_visible_at for r in reports for f in r.taken if r.silver_visible_at}
    delays = np.concatenate([
        np.repeat([visible[f] - received for received, _ in lines], [n for _, n in lines])
        for f, lines in writer.files.items() if f in visible
    ] or [np.array([])])
    last_commit = max(visible.values()) if visible else float("nan")
    in_silver = sum(r.tables.get(SILVER_TRADES.name, 0) for r in reports)
    quarantined = sum(r.tables.get(QUARANTINE.name, 0) for r in reports)  # e.g. identical prints in two frames
    batch_seconds = [r.seconds for r in reports if r.taken]
    steps: dict[str, list[float]] = {}
    for r in reports:
        for step, step_s in r.step_seconds.items():
            steps.setdefault(step, []).append(step_s)
    return {
        "scenario": "stream", "target_trades_per_s": rate, "seconds": seconds, "trigger_s": trigger_s,
        "trades_landed": writer.trades, "files_landed": len(writer.files),
        "files_unprocessed": len(set(writer.files) - set(visible)), "trades_in_silver": in_silver,
        "rows_quarantined": quarantined,
        "sustained_trades_per_s": round(in_silver / (last_commit - writer.started_at)) if visible else 0,
        "drain_after_writer_stop_s": round(last_commit - writer.stopped_at, 1) if visible else None,
        "delay_p50_s": round(float(np.percentile(delays, 50)), 2) if delays.size else None,
        "delay_p95_s": round(float(np.percentile(delays, 95)), 2) if delays.size else None,
        "delay_max_s": round(float(delays.max()), 2) if delays.size else None,
        "batches": len(batch_seconds),
        "batch_mean_s": round(float(np.mean(batch_seconds)), 2) if batch_seconds else None,
        "batch_max_s": round(float(np.max(batch_seconds)), 2) if batch_seconds else None,
        "mean_step_s": ", ".join(f"{step} {np.mean(v):.2f}" for step, v in steps.items()),  # where a batch's time goes
        "jvm_peak_heap_mib": jvm_peak_heap_mib(lake.spark),
    }


def run(spark, workdir: Path, sizes: list[int]) -> list[dict]:
    seconds = float(os.environ.get("PULSELAKE_BENCH_STREAM_SECONDS", "120"))
    rates = [int(r) for r in os.environ.get("PULSELAKE_BENCH_STREAM_RATES", "1000,5000").split(",")]
    trigger_s = float(os.environ.get("PULSELAKE_BENCH_STREAM_TRIGGER", "1"))
    results = []
    for rate in rates:
        lake = Lake(spark, Settings(lake_root=str(workdir / f"stream_{rate}"), spark_master=spark.sparkContext.master))
        results.append(measure(lake, rate, seconds, trigger_s))
    return results
