"""Finnhub REST, the Finnhub websocket and Reddit misbehaving on loopback, one parametrized test per service.

Each fault of `jobs.replay.faults` (connection reset, an answer slower than the client's timeout, 429 with
Retry-After, 5xx, a truncated body, a body that is not JSON) is played by the stand-in server on a real
socket. Once, it must be retried (or its frame quarantined) and the data must arrive; for good, the
user-facing `python -m jobs.cli ingest ...` must end with a summary line, a plain error and the designed
exit code, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from jobs.replay.faults import FAULTS
from jobs.replay.finnhub_rest import FinnhubRestConfig, FinnhubRestFake
from jobs.replay.finnhub_ws import FinnhubReplayConfig, FinnhubReplayThread
from jobs.replay.intraday import daily_bars
from jobs.replay.reddit_server import RedditReplayServer, RedditServerConfig
from tests.ingest.helpers import API_KEY, collect_from_replay, landed_trades

ROOT = Path(__file__).resolve().parents[2]
# What the error line says for each fault, whatever the service.
SAYS = {"reset": "the connection was reset", "slow": "no answer within the timeout", "429": "HTTP 429",
        "503": "HTTP 503", "truncated": "cut off", "not_json": "not JSON"}


def _cli(*args: str, env: dict[str, str], timeout: float = 90) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "jobs.cli", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


def _summary(stderr: str) -> dict:
    """The collector's one-line JSON summary on stderr."""
    lines = [line for line in stderr.splitlines() if line.startswith("{")]
    assert lines, f"no summary line in:\n{stderr}"
    return json.loads(lines[-1])


def _wait_for(condition, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def _records(landing: Path, pattern: str) -> list[dict]:
    return [json.loads(line) for path in sorted(landing.glob(pattern)) for line in path.read_text().splitlines()]


# ------------------------------------------------------------------------------------------ Finnhub REST ---

@pytest.mark.parametrize("fault", FAULTS)
def test_finnhub_rest_fault_once_is_retried_and_for_good_ends_the_cli_cleanly(fault, tmp_path):
    """`ingest quote AAPL,MSFT`: AAPL meets the fault once and lands after a retry; MSFT meets it on every
    attempt, so the command stops with exit 1 and says what happened and what landed."""
    daily_bars()  # warm the bundled-data cache: a good answer must never be slower than the 0.5 s timeout
    config = FinnhubRestConfig(api_key=API_KEY, faults=[fault, "ok"], fault_always=fault, slow_s=1.5)
    with FinnhubRestFake(config) as fake:
        done = _cli("ingest", "quote", "AAPL,MSFT", "--lake-root", str(tmp_path),
                    env={"FINNHUB_API_KEY": API_KEY, "FINNHUB_API_URL": fake.url, "FINNHUB_TIMEOUT_S": "0.5",
                         "FINNHUB_MAX_ATTEMPTS": "3", "FINNHUB_BACKOFF_S": "0.05",
                         "FINNHUB_CALLS_PER_MINUTE": "6000"})
        _wait_for(lambda: len(fake.requests) == 5)  # a slow answer is logged when it is (too late) sent
        outcomes = [r[2] for r in fake.requests]
    played = int(fault) if fault.isdigit() else fault
    assert outcomes == [played, 200, played, played, played]  # retried once to success; then 3 attempts
    assert done.returncode == 1
    error = done.stderr
    says = "the answer is not a JSON object" if fault == "not_json" else SAYS[fault]
    assert "error: Finnhub quote failed" in error and says in error and "(landed 1 of 2 symbols)" in error
    quotes = _records(tmp_path / "landing_zone", "finnhub/quotes/date=*/*.ndjson")
    assert [q["symbol"] for q in quotes] == ["AAPL"] and quotes[0]["payload"]["c"] > 0
    assert API_KEY not in done.stdout + done.stderr


# ------------------------------------------------------------------------------------- Finnhub websocket ---

# fault -> (replay config for one occurrence, the counted reason or rejected frames, config for good, exit code)
_WS_ONCE = {
    "reset": {"frame_faults": ["ok"] * 5 + ["reset"]},  # RST in the middle of the stream
    "slow": {"handshake_faults": ["slow"]},  # the upgrade answer comes after the client's open timeout
    "429": {"handshake_faults": ["429"]},
    "503": {"handshake_faults": ["503"]},
    "truncated": {"frame_faults": ["truncated", "ok", "truncated"]},  # trade frames cut in half
    "not_json": {"frame_faults": ["not_json", "ok", "not_json"]},  # a proxy's HTML page instead of a frame
}
_WS_REASON = {"reset": "connection_reset", "slow": "handshake_timeout", "429": "http_429", "503": "http_503"}


@pytest.mark.parametrize("fault", FAULTS)
def test_finnhub_ws_fault_once_is_survived_and_for_good_ends_the_cli_cleanly(fault, tmp_path):
    """Once: a bad handshake or a reset is counted by reason and retried (after Retry-After on a 429), a
    spoiled frame lands in the rejected file with its reason, and every good trade is landed exactly once.
    For good: `ingest trades` exits 1 saying it never connected, or exits 0 with every frame rejected."""
    config = FinnhubReplayConfig(trades_per_day=40, days=1, speedup=0, api_key=API_KEY, slow_s=1.0, retry_after_s=1,
                                 **_WS_ONCE[fault])
    started = time.monotonic()
    stats, sent, server = collect_from_replay(tmp_path / "once", config, ["AAPL", "MSFT"], open_timeout_s=0.3,
                                              backoff=(0.05, 2.0))
    key = lambda t: (t["s"], t["t"], t["p"], t["v"])  # noqa: E731
    assert Counter(map(key, landed_trades(tmp_path / "once"))) == Counter(map(key, sent)) and sent
    if fault in _WS_REASON:
        assert dict(stats.failures) == {_WS_REASON[fault]: 1} and stats.reconnects == 1
        assert stats.connects == (2 if fault == "reset" else 1)  # a failed handshake is no connection
    else:
        assert stats.rejected == Counter(invalid_json=2) and len(server.spoiled) == 2 and not stats.failures
        rejected = _records(tmp_path / "once", "finnhub/rejected/date=*/*.ndjson")
        assert [r["frame"] for r in rejected] == server.spoiled and {r["reason"] for r in rejected} == {"invalid_json"}
    if fault == "429":  # the server said Retry-After: 1; our own backoff would have been 0.05 s
        (first, _), (second, _) = server.handshakes[:2]
        assert second - first >= 0.95
    assert time.monotonic() - started < 20

    handshake = fault in ("reset", "slow", "429", "503")
    for_good = {"handshake_fault_always": fault} if handshake else {"frame_fault_always": fault}
    config = FinnhubReplayConfig(trades_per_day=40, days=1, speedup=0, api_key=API_KEY, slow_s=1.0, retry_after_s=1,
                                 **for_good)
    with FinnhubReplayThread(config) as server:
        done = _cli("ingest", "trades", "--symbols", "AAPL,MSFT", "--duration", "1.5s", "--open-timeout", "0.3s",
                    "--max-backoff", "0.5s", "--lake-root", str(tmp_path / "good"),
                    env={"FINNHUB_API_KEY": API_KEY, "FINNHUB_WS_URL": server.url})
        spoiled = list(server.spoiled)
    summary = _summary(done.stderr)
    if handshake:
        reason = "handshake_cut" if fault == "reset" else _WS_REASON[fault]
        assert done.returncode == 1 and summary["connects"] == 0
        assert set(summary["failures"]) == {reason} and summary["failures"][reason] >= 2
        assert f"error: never connected to {server.url} ({reason} x" in done.stderr
    else:  # connected fine, but every frame was spoiled: all quarantined with a reason, none lost
        assert done.returncode == 0, done.stderr
        assert summary["trades"] == 0 and summary["rejected"] == {"invalid_json": len(spoiled)} and spoiled
        rejected = _records(tmp_path / "good" / "landing_zone", "finnhub/rejected/date=*/*.ndjson")
        assert [r["frame"] for r in rejected] == spoiled
    assert API_KEY not in done.stdout + done.stderr


# ------------------------------------------------------------------------------------------------ Reddit ---

@pytest.mark.parametrize("fault", FAULTS)
def test_reddit_fault_once_is_retried_and_for_good_ends_the_cli_cleanly(fault, tmp_path):
    """`ingest reddit`: the first API read meets the fault and is retried; a few reads later the fault
    stays for good, so the run stops with exit 1, a plain error and the summary of what it landed
    (which stays landed: re-collecting later is normal for Reddit)."""
    config = RedditServerConfig(client_id="app", client_secret="s3cret", faults=[fault, "ok", "ok", "ok"],
                                fault_always=fault, slow_s=1.0, retry_after_s=1)
    with RedditReplayServer(config) as server:
        done = _cli("ingest", "reddit", "--subreddits", "stocks", "--since", "5d", "--as-of", "2010-08-21",
                    "--comment-depth", "1", "--lake-root", str(tmp_path),
                    env={"REDDIT_CLIENT_ID": "app", "REDDIT_CLIENT_SECRET": "s3cret", "REDDIT_OAUTH_URL": server.url,
                         "REDDIT_URL": server.url, "REDDIT_TIMEOUT_S": "0.5", "REDDIT_RETRIES": "1"})
        served = server.faults.served[fault]
    assert done.returncode == 1, done.stderr
    summary = _summary(done.stderr)
    error = done.stderr
    assert "error: " in error and SAYS[fault] in error
    assert served >= 2  # the first one was retried past; the later ones were retried until the run gave up
    posts = _records(tmp_path / "landing_zone", "reddit/posts/date=*/*.ndjson")
    comments = _records(tmp_path / "landing_zone", "reddit/comments/date=*/*.ndjson")
    assert summary["posts"] == len(posts) >= 1 and summary["comments"] == len(comments)
    assert len({p["id"] for p in posts}) == len(posts)
    assert not list((tmp_path / "landing_zone").glob("reddit/*/_tmp/*.ndjson"))  # files finished on the way out
    assert "s3cret" not in done.stdout + done.stderr


def test_reddit_transient_faults_are_invisible_to_the_landing(tmp_path):
    """One of each fault spread over a run: it completes and lands exactly what a clean run lands."""
    from jobs.ingest.reddit import RedditCollectConfig, RedditCollector, reddit_from_env

    config = RedditCollectConfig(["stocks"], since=timedelta(days=5), as_of=datetime(2010, 8, 21, tzinfo=timezone.utc),
                                 comment_depth=1)
    landed = {}
    for name, faults in (("clean", []), ("faulty", ["reset", "ok", "429", "503", "ok", "slow", "not_json"])):
        with RedditReplayServer(RedditServerConfig(faults=faults, slow_s=1.0, retry_after_s=1)) as server:
            env = {"REDDIT_CLIENT_ID": "app", "REDDIT_CLIENT_SECRET": "x", "REDDIT_OAUTH_URL": server.url,
                   "REDDIT_URL": server.url, "REDDIT_TIMEOUT_S": "0.5"}
            RedditCollector(reddit_from_env(env), tmp_path / name).collect(config)
            assert sum(server.faults.served.values()) == len([f for f in faults if f != "ok"])
        landed[name] = sorted((p["id"], p["score"], p["num_comments"])
                              for p in _records(tmp_path / name, "reddit/posts/date=*/*.ndjson"))
        landed[name + "_comments"] = sorted(c["id"] for c in _records(tmp_path / name, "reddit/comments/date=*/*.ndjson"))
    assert landed["faulty"] == landed["clean"] and landed["faulty_comments"] == landed["clean_comments"]
    assert landed["clean"] and landed["clean_comments"]
