"""SIGTERM on a running `pulselake ingest trades` process: every trade the server sent before it saw the
close reaches Kafka, and the process waits for Kafka's acknowledgement before it exits 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from jobs.ingest.topics import FINNHUB_TRADES
from jobs.local.replay.finnhub_ws import FinnhubReplayConfig, FinnhubReplayThread
from tests.ingest.helpers import API_KEY, assert_same_trades, kafka_env, kafka_trades, marks

ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_mid_stream_flushes_every_trade_sent_into_kafka(kafka, tmp_path):
    # ~100 trades a second for 2 minutes: the stream is in full flow when the signal comes
    config = FinnhubReplayConfig(trades_per_day=6000, days=1, speedup=195.0, api_key=API_KEY)
    env = {**os.environ, **kafka_env(kafka), "FINNHUB_API_KEY": API_KEY, "PULSELAKE_LAKE_ROOT": str(tmp_path / "lake")}
    before = marks(kafka, FINNHUB_TRADES)
    with FinnhubReplayThread(config) as server:
        env["FINNHUB_WS_URL"] = server.url
        process = subprocess.Popen(
            [sys.executable, "-m", "jobs.cli", "ingest", "trades", "--symbols", "AAPL,MSFT"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while len(server.sent) < 100:
                assert time.monotonic() < deadline and process.poll() is None, "the collector never got trades"
                time.sleep(0.05)
            time.sleep(1.0)
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
        assert not server.finished.is_set(), "the replay ended before the signal: nothing was in flight"
        sent = list(server.sent)
    assert process.returncode == 0, err
    assert len(sent) > 100
    assert_same_trades(kafka_trades(kafka, before), sent)
    summary = json.loads([line for line in err.splitlines() if line.startswith("{")][-1])
    assert summary["trades"] == len(sent) and summary["connects"] == 1
    assert summary["kafka"]["undelivered"] == 0 and summary["kafka"]["failed"] == {}
    assert summary["kafka"]["delivered"] == {FINNHUB_TRADES: summary["trade_frames"]}
    assert API_KEY not in out + err
