"""SIGTERM on a running `pulselake ingest trades` process flushes everything it received."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from jobs.replay.finnhub_ws import FinnhubReplayConfig, FinnhubReplayThread
from tests.ingest.helpers import API_KEY, landed_trades

ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_flushes_open_files(tmp_path):
    config = FinnhubReplayConfig(trades_per_day=50, days=1, speedup=0, api_key=API_KEY)
    env = {**os.environ, "FINNHUB_API_KEY": API_KEY, "PULSELAKE_LAKE_ROOT": str(tmp_path / "lake")}
    landing = tmp_path / "lake" / "landing_zone"
    with FinnhubReplayThread(config) as server:
        env["FINNHUB_WS_URL"] = server.url
        process = subprocess.Popen(
            [sys.executable, "-m", "jobs.cli", "ingest", "trades", "--symbols", "AAPL,MSFT", "--max-file-age", "1h"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert server.finished.wait(timeout=60), "the collector never subscribed"
            time.sleep(0.5)
            # Files roll by age (1 h) or size (8 MB): so far everything sits in the open temp file.
            assert landed_trades(landing) == []
            assert list(landing.glob("finnhub/trades/_tmp/*.ndjson"))
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        sent = list(server.sent)
    assert process.returncode == 0, err
    assert len(sent) == 100
    landed = landed_trades(landing)
    assert Counter((t["s"], t["t"], t["p"]) for t in landed) == Counter((t["s"], t["t"], t["p"]) for t in sent)
    assert not list(landing.glob("finnhub/trades/_tmp/*"))
    assert API_KEY not in out + err
