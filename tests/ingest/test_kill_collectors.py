"""SIGKILL the real collectors (`python -m jobs.cli ingest trades|reddit`) at random points, restart them,
and check the lake against a clean run. (The stream's own kill loop is tests/stream/test_kill.py.)

What "equals a clean run" means differs by source:

* Finnhub's websocket cannot send again what a dead collector missed: trades sent while it was dead, or
  still in flight (socket, queue, write buffer) when it died, are gone. The replay server records what it
  sent on each connection, and the contract is: (1) what landed from a connection is a prefix of what was
  sent on it, so a kill loses only the tail in flight; (2) every byte a killed collector wrote reaches
  bronze once its file is recovered (by the next collector or the next bronze run); a line torn by the
  kill is quarantined as `malformed_landing_line`, never dropped and never a crash; (3) bronze, silver and
  the quarantine equal, row for row, one clean pass of the batch definitions over the same landed files,
  and every silver trade is one the server sent, exactly once.
* Reddit can be fetched again, so after a final run silver equals a single clean run exactly, apart from
  the fetch bookkeeping columns (first/last_fetched_at, times_fetched: every fetch is recorded by design).

The seed comes from PULSELAKE_KILL_SEED (printed), the kills per collector from PULSELAKE_COLLECTOR_KILLS
(default 10 each; with the stream's 3 that is 23 kills per `make test`).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from jobs.ingest.landed import LandedFile
from jobs.ingest.finnhub_ws import TRADES_STREAM
from jobs.ingest.landing import TMP_DIR, landing_root, recover_orphans
from jobs.reddit.pipeline import bronze_reddit, silver_reddit
from jobs.replay.finnhub_ws import FinnhubReplayConfig, FinnhubReplayThread
from jobs.replay.reddit_server import RedditReplayServer
from jobs.resources.lake import Lake
from jobs.settings import Settings
from jobs.stream.batch import read_files
from jobs.trades.bronze import bronze_trades, parse_trade_lines
from jobs.trades.pipeline import silver_trades
from jobs.trades.silver import build_silver_trades
from lake_schema.quarantine import QUARANTINE
from lake_schema.reddit import SILVER_REDDIT_COMMENTS, SILVER_REDDIT_POSTS
from lake_schema.trades import BRONZE_TRADES, SILVER_TRADES
from tests.ingest.helpers import API_KEY
from tests.stream.helpers import rows

ROOT = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("PULSELAKE_COLLECTOR_KILLS", "10"))
SEED = int(os.environ.get("PULSELAKE_KILL_SEED", str(int(time.time()))))
BOOKKEEPING = ("first_fetched_at", "last_fetched_at", "times_fetched")


def _start(args: list[str], env: dict[str, str], log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "jobs.cli", "ingest", *args], cwd=ROOT, env={**os.environ, **env},
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _kill(proc: subprocess.Popen) -> bool:
    """SIGKILL; False when the process had already ended on its own (no kill happened)."""
    alive = proc.poll() is None
    if alive:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return alive


def _wait(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def _landed_lines(landing: Path, stream: str) -> tuple[list[dict], list[str]]:
    """(every whole JSON line, every torn one) across the finished files; a torn line is always a file's last."""
    whole, torn = [], []
    for path in sorted(landing.glob(f"{stream}/date=*/*.ndjson")):
        text = path.read_text(encoding="utf-8", errors="replace")
        lines = text.split("\n")
        tail = lines.pop()  # "" when the file ends with a newline
        for line in lines:
            whole.append(json.loads(line))  # raises if a torn line is anywhere but last
        if tail:
            torn.append(tail)
    return whole, torn


def _assert_nothing_left_behind(landing: Path) -> None:
    leftovers = [p for p in landing.glob(f"*/*/{TMP_DIR}/*.ndjson") if p.stat().st_size]
    assert not leftovers, f"seed {SEED}: unrecovered temp files {leftovers}"


@pytest.mark.slow
def test_trade_collector_killed_at_random_points_loses_only_what_was_in_flight(lake, tmp_path):
    rng = random.Random(SEED)
    landing = landing_root(lake.settings)
    # 2 x 6000 trades a day over 23400 market seconds at speedup 390: ~200 trades a second for 10 minutes.
    config = FinnhubReplayConfig(symbols=["AAPL", "MSFT"], trades_per_day=6000, days=10, speedup=390.0, api_key=API_KEY)
    env = {"FINNHUB_API_KEY": API_KEY}
    args = ["trades", "--symbols", "AAPL,MSFT", "--max-file-age", "2s", "--lake-root", lake.settings.lake_root]
    log_path, kills, recovered_beside_live = tmp_path / "collector.log", [], 0
    started = time.monotonic()
    with FinnhubReplayThread(config) as server, log_path.open("w") as log:
        env["FINNHUB_WS_URL"] = server.url
        for cycle in range(KILLS):
            connections = server.connections
            proc = _start(args, env, log)
            try:
                if rng.random() < 0.2:  # anywhere from start-up on: maybe before it even connected
                    mode, delay = "from start", rng.uniform(0.1, 1.5)
                else:
                    mode, delay = "while streaming", rng.uniform(0.0, 2.0)
                    assert _wait(lambda: server.sent_by_connection.get(connections + 1), 60), log_path.read_text()
                    # what bronze does first, beside a live writer: it may finish a dead one's file, never the
                    # live one's (taking it would crash the collector at its next roll: see the log check)
                    recovered_beside_live += len(recover_orphans(landing, TRADES_STREAM))
                time.sleep(delay)
            finally:
                assert _kill(proc), f"the collector ended on its own:\n{log_path.read_text()[-3000:]}"
            kills.append(f"{mode} +{delay:.2f} s")
            if cycle == KILLS // 2:  # half the files go to bronze now, the rest later: each exactly once
                bronze_trades(lake)
        assert not server.finished.is_set(), "the replay ran out of trades: later kills saw no data"
        connections = server.connections
        proc = _start(args, env, log)  # the restart finishes the last kill's files, collects, and stops cleanly
        assert _wait(lambda: server.sent_by_connection.get(connections + 1), 60)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log_path.read_text()[-3000:]
        sent_by_connection = {n: list(trades) for n, trades in server.sent_by_connection.items()}
    print(f"seed {SEED}; {len(kills)} trade collector kills in {time.monotonic() - started:.0f} s: {kills}")
    output = log_path.read_text()
    assert "Traceback" not in output, output[-3000:]
    assert json.loads(output.strip().splitlines()[-1])["failures"] == {}  # the server never failed it

    _assert_nothing_left_behind(landing)
    whole, torn = _landed_lines(landing, TRADES_STREAM)
    key = lambda t: (t["s"], t["t"], t["p"], t["v"])  # noqa: E731
    origin = {}  # trade -> (connection, position in what was sent on it)
    for number, trades in sent_by_connection.items():
        for position, trade in enumerate(trades):
            assert key(trade) not in origin, "the replay sent one trade twice"
            origin[key(trade)] = (number, position)
    landed = [key(t) for line in whole for t in json.loads(line["frame"])["data"]]
    assert len(landed) == len(set(landed)), f"seed {SEED}: a trade landed twice"
    assert set(landed) <= set(origin), f"seed {SEED}: landed a trade the server never sent"
    per_connection = Counter(origin[k][0] for k in landed)
    for number, trades in sent_by_connection.items():
        got = sorted(origin[k][1] for k in landed if origin[k][0] == number)
        assert got == list(range(len(got))), f"seed {SEED}: connection {number} lost trades before its last"
    last = max(sent_by_connection)
    assert per_connection[last] == len(sent_by_connection[last]) > 0  # SIGTERM: nothing lost
    lost = sum(len(t) for t in sent_by_connection.values()) - len(landed)
    print(f"{len(landed)} trades landed, {lost} lost in flight at kills, {len(torn)} torn lines; "
          f"{recovered_beside_live} dead writers' files recovered beside a live one; "
          f"{len(list(landing.glob(f'{TRADES_STREAM}/date=*/*.ndjson')))} files")

    loading = time.monotonic()
    bronze_trades(lake)
    silver_trades(lake)
    print(f"bronze + silver over the landed files: {time.monotonic() - loading:.1f} s")
    files = sorted(landing.glob(f"{TRADES_STREAM}/date=*/*.ndjson"))
    clean_bronze, bad_lines = parse_trade_lines(read_files(lake.spark, [
        LandedFile(p, p.relative_to(landing).as_posix()) for p in files]))
    clean_silver, rejected = build_silver_trades(clean_bronze)
    assert rows(lake.read(BRONZE_TRADES)) == rows(clean_bronze), f"seed {SEED}: bronze differs from a clean pass"
    assert rows(lake.read(SILVER_TRADES)) == rows(clean_silver), f"seed {SEED}: silver differs from a clean pass"
    quarantined = Counter(r.reason for r in lake.read(QUARANTINE).collect())
    expected = Counter(r.reason for r in bad_lines.select("reason").unionByName(rejected.select("reason")).collect())
    assert quarantined == expected == Counter({"malformed_landing_line": len(torn)} if torn else {}), f"seed {SEED}"
    assert lake.read(SILVER_TRADES).count() == len(landed)


@pytest.mark.slow
def test_reddit_collector_killed_at_random_points_then_rerun_equals_one_clean_run(spark, tmp_path):
    rng = random.Random(SEED + 1)
    args = ["reddit", "--subreddits", "stocks,investing", "--since", "60d", "--as-of", "2010-08-21",
            "--comment-depth", "3"]
    lakes = {name: Lake(spark, Settings(lake_root=str(tmp_path / name), spark_master="local[2]"))
             for name in ("clean", "killed")}
    log_path, kills = tmp_path / "collector.log", []
    with RedditReplayServer() as server, log_path.open("w") as log:
        env = {"REDDIT_CLIENT_ID": "app", "REDDIT_CLIENT_SECRET": "s", "REDDIT_OAUTH_URL": server.url,
               "REDDIT_URL": server.url}
        started = time.monotonic()
        clean = _start([*args, "--lake-root", lakes["clean"].settings.lake_root], env, log)
        assert clean.wait(timeout=120) == 0, log_path.read_text()
        whole_run = time.monotonic() - started
        killed_args = [*args, "--lake-root", lakes["killed"].settings.lake_root]
        while len(kills) < KILLS:
            proc = _start(killed_args, env, log)
            delay = rng.uniform(0.3, whole_run)
            time.sleep(delay)
            if _kill(proc):
                kills.append(round(delay, 2))
        final = _start(killed_args, env, log)
        assert final.wait(timeout=120) == 0, log_path.read_text()[-3000:]
    output = log_path.read_text()
    print(f"seed {SEED}; clean run {whole_run:.1f} s; {len(kills)} reddit collector kills at {kills} s "
          f"({time.monotonic() - started:.0f} s of collecting)")
    assert "Traceback" not in output, output[-3000:]

    landing = landing_root(lakes["killed"].settings)
    _assert_nothing_left_behind(landing)
    torn = sum(len(_landed_lines(landing, stream)[1]) for stream in ("reddit/posts", "reddit/comments"))
    loading = time.monotonic()
    for lake in lakes.values():
        bronze_reddit(lake)
        silver_reddit(lake)
    print(f"bronze + silver of both lakes: {time.monotonic() - loading:.1f} s")
    for spec in (SILVER_REDDIT_POSTS, SILVER_REDDIT_COMMENTS):
        columns = [c for c in spec.column_names if c not in BOOKKEEPING]
        got, want = (rows(lakes[name].read(spec), columns) for name in ("killed", "clean"))
        assert got == want and want, f"seed {SEED}: {spec.name} differs from a clean run"
    quarantined = Counter(r.reason for r in lakes["killed"].read(QUARANTINE).collect())
    assert quarantined == (Counter({"malformed_landing_line": torn}) if torn else Counter()), f"seed {SEED}"
    assert lakes["clean"].read(QUARANTINE).count() == 0
    print(f"{torn} torn lines quarantined")
