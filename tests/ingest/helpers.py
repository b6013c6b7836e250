"""Run the real collector against the real replay server over loopback, bounded in time."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from jobs.ingest.finnhub_ws import FinnhubTradeCollector, CollectorStats
from jobs.replay.finnhub_ws import FinnhubReplayConfig, FinnhubReplayThread

API_KEY = "test-key-123"


def collect_from_replay(landing: Path, config: FinnhubReplayConfig, symbols: list[str], timeout_s: float = 30.0,
                        backoff: tuple[float, float] = (0.05, 0.5),
                        **collector_kwargs) -> tuple[CollectorStats, list[dict], object]:
    """Stream until the server has replayed everything, stop the collector, return (stats, sent trades, server)."""
    with FinnhubReplayThread(config) as server:
        collector = FinnhubTradeCollector(server.url, API_KEY, symbols, landing, backoff_initial_s=backoff[0],
                                          backoff_max_s=backoff[1], **collector_kwargs)

        async def run() -> CollectorStats:
            stop = asyncio.Event()
            task = asyncio.create_task(collector.run(stop))
            deadline = time.monotonic() + timeout_s
            while not server.finished.is_set():
                assert time.monotonic() < deadline, "replay did not finish in time"
                assert not task.done(), f"collector ended early: {task.exception() if task.done() else ''}"
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # frames in flight on loopback
            stop.set()
            return await asyncio.wait_for(task, timeout=10)

        stats = asyncio.run(run())
        return stats, list(server.sent), server


def landed_trades(landing: Path) -> list[dict]:
    out = []
    for path in sorted(landing.glob("finnhub/trades/date=*/*.ndjson")):
        for line in path.read_text().splitlines():
            out.extend(json.loads(json.loads(line)["frame"])["data"])
    return out
