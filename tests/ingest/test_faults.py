"""Finnhub REST, the Finnhub websocket and Reddit misbehaving on loopback, one parametrized test per service.

Each fault of `jobs.local.replay.faults` (connection reset, an answer slower than the client's timeout, 429 with
Retry-After, 5xx, a truncated body, a body that is not JSON) is played by the stand-in server on a real
socket. Once, it must be retried (or its frame quarantined) and the data must arrive; for good, the
user-facing `python -m jobs.cli ingest ...` must end with a summary line, a plain error and the designed
exit code, never a traceback; and what reached Kafka must be exactly what the collector says it produced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from jobs.ingest.publish import Publisher
from jobs.ingest.topics import FINNHUB_QUOTES, FINNHUB_TRADES, REDDIT_COMMENTS, REDDIT_POSTS
from jobs.local.replay.faults import FAULTS
from jobs.local.replay.finnhub_rest import FinnhubRestConfig, FinnhubRestFake
from jobs.local.replay.finnhub_ws import FinnhubReplayConfig, FinnhubReplayThread
from jobs.local.replay.intraday import daily_bars
from jobs.local.replay.reddit_server import RedditReplayServer, RedditServerConfig
from tests.ingest.helpers import (API_KEY, assert_same_trades, collect_from_replay, frames_of, kafka_env,
                                  kafka_trades, marks, read_records)

ROOT = Path(__file__).resolve().parents[2]
RUN_LOGS = Path(tempfile.gettempdir()) / "pulselake-collector-tests"  # the collectors' run logs (<lake>/_logs)
# What the error line says for each fault, whatever the service.
SAYS = {"reset": "the connection was reset", "slow": "no answer within the timeout", "429": "HTTP 429",
        "503": "HTTP 503", "truncated": "cut off", "not_json": "not JSON"}


def _cli(*args: str, env: dict[str, str], timeout: float = 90) -> subprocess.CompletedProcess:
    """`python -m jobs.cli ...` producing to the test's Kafka topics (the `kafka` fixture's environment)."""
    done = subprocess.run([sys.executable, "-m", "jobs.cli", *args], cwd=ROOT,
                          env={**os.environ, "PULSELAKE_LAKE_ROOT": str(RUN_LOGS), **env},
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


def _values(kafka, topic: str, since: dict[int, int]) -> list[dict]:
    """The JSON values of the records the test added to `topic`."""
    return [json.loads(r.value) for r in read_records(kafka, topic, since)]


# ------------------------------------------------------------------------------------------ Finnhub REST ---

@pytest.mark.parametrize("fault", FAULTS)
def test_finnhub_rest_fault_once_is_retried_and_for_good_ends_the_cli_cleanly(fault, kafka):
    """`ingest quote AAPL,MSFT`: AAPL meets the fault once and reaches Kafka after a retry; MSFT meets it on
    every attempt, so the command stops with exit 1 and says what happened and what was published."""
    daily_bars()  # warm the bundled-data cache: a good answer must never be slower than the 0.5 s timeout
    config = FinnhubRestConfig(api_key=API_KEY, faults=[fault, "ok"], fault_always=fault, slow_s=1.5)
    before = marks(kafka, FINNHUB_QUOTES)
    with FinnhubRestFake(config) as fake:
        done = _cli("ingest", "quote", "AAPL,MSFT",
                    env={**kafka_env(kafka), "FINNHUB_API_KEY": API_KEY, "FINNHUB_API_URL": fake.url,
                         "FINNHUB_TIMEOUT_S": "0.5",
                         "FINNHUB_MAX_ATTEMPTS": "3", "FINNHUB_BACKOFF_S": "0.05",
                         "FINNHUB_CALLS_PER_MINUTE": "6000"})
        _wait_for(lambda: len(fake.requests) == 5)  # a slow answer is logged when it is (too late) sent
        outcomes = [r[2] for r in fake.requests]
    played = int(fault) if fault.isdigit() else fault
    assert outcomes == [played, 200, played, played, played]  # retried once to success; then 3 attempts
    assert done.returncode == 1
    error = done.stderr
    says = "the answer is not a JSON object" if fault == "not_json" else SAYS[fault]
    assert "error: Finnhub quote failed" in error and says in error and "(published 1 of 2)" in error
    quotes = read_records(kafka, FINNHUB_QUOTES, before)
    assert [q.key for q in quotes] == ["AAPL"] and json.loads(quotes[0].value)["c"] > 0
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
def test_finnhub_ws_fault_once_is_survived_and_for_good_ends_the_cli_cleanly(fault, kafka):
    """Once: a bad handshake or a reset is counted by reason and retried (after Retry-After on a 429), a
    spoiled frame is counted with its reason and still produced as received (bronze quarantines it), and
    every good trade reaches Kafka exactly once. For good: `ingest trades` exits 1 saying it never connected
    (nothing produced), or exits 0 with every frame counted as rejected and produced."""
    config = FinnhubReplayConfig(trades_per_day=40, days=1, speedup=0, api_key=API_KEY, slow_s=1.0, retry_after_s=1,
                                 **_WS_ONCE[fault])
    before = marks(kafka, FINNHUB_TRADES)
    started = time.monotonic()
    stats, sent, server = collect_from_replay(kafka, config, ["AAPL", "MSFT"], open_timeout_s=0.3,
                                              backoff=(0.05, 2.0))
    assert sent
    assert_same_trades(kafka_trades(kafka, before), sent)
    _, spoiled_records = frames_of(read_records(kafka, FINNHUB_TRADES, before))
    if fault in _WS_REASON:
        assert dict(stats.failures) == {_WS_REASON[fault]: 1} and stats.reconnects == 1
        assert stats.connects == (2 if fault == "reset" else 1)  # a failed handshake is no connection
        assert spoiled_records == []
    else:
        assert stats.rejected == Counter(invalid_json=2) and len(server.spoiled) == 2 and not stats.failures
        assert sorted(r.text for r in spoiled_records) == sorted(server.spoiled)  # as received, byte for byte
    if fault == "429":  # the server said Retry-After: 1; our own backoff would have been 0.05 s
        (first, _), (second, _) = server.handshakes[:2]
        assert second - first >= 0.95
    assert time.monotonic() - started < 20

    handshake = fault in ("reset", "slow", "429", "503")
    for_good = {"handshake_fault_always": fault} if handshake else {"frame_fault_always": fault}
    config = FinnhubReplayConfig(trades_per_day=40, days=1, speedup=0, api_key=API_KEY, slow_s=1.0, retry_after_s=1,
                                 **for_good)
    before = marks(kafka, FINNHUB_TRADES)
    with FinnhubReplayThread(config) as server:
        done = _cli("ingest", "trades", "--symbols", "AAPL,MSFT", "--duration", "1.5s", "--open-timeout", "0.3s",
                    "--max-backoff", "0.5s",
                    env={**kafka_env(kafka), "FINNHUB_API_KEY": API_KEY, "FINNHUB_WS_URL": server.url})
        spoiled = list(server.spoiled)
    produced = read_records(kafka, FINNHUB_TRADES, before)
    summary = _summary(done.stderr)
    if handshake:
        reason = "handshake_cut" if fault == "reset" else _WS_REASON[fault]
        assert done.returncode == 1 and summary["connects"] == 0
        assert set(summary["failures"]) == {reason} and summary["failures"][reason] >= 2
        assert f"error: never connected to {server.url} ({reason} x" in done.stderr
        assert produced == [] and summary["kafka"]["accepted"] == {}
    else:  # connected fine, but every frame was spoiled: all counted with a reason and produced, none lost
        assert done.returncode == 0, done.stderr
        assert summary["trades"] == 0 and summary["rejected"] == {"invalid_json": len(spoiled)} and spoiled
        assert sorted(r.text for r in produced) == sorted(spoiled)
        assert summary["kafka"]["delivered"] == {FINNHUB_TRADES: len(spoiled)}
    assert API_KEY not in done.stdout + done.stderr


# ------------------------------------------------------------------------------------------------ Reddit ---

@pytest.mark.parametrize("fault", FAULTS)
def test_reddit_fault_once_is_retried_and_for_good_ends_the_cli_cleanly(fault, kafka):
    """`ingest reddit`: the first API read meets the fault and is retried; a few reads later the fault
    stays for good, so the run stops with exit 1, a plain error and the summary of what it produced
    (which Kafka keeps: re-collecting later is normal for Reddit)."""
    config = RedditServerConfig(client_id="app", client_secret="s3cret", faults=[fault, "ok", "ok", "ok"],
                                fault_always=fault, slow_s=1.0, retry_after_s=1)
    before = {topic: marks(kafka, topic) for topic in (REDDIT_POSTS, REDDIT_COMMENTS)}
    with RedditReplayServer(config) as server:
        done = _cli("ingest", "reddit", "--subreddits", "stocks", "--since", "5d", "--as-of", "2010-08-21",
                    "--comment-depth", "1",
                    env={**kafka_env(kafka), "REDDIT_CLIENT_ID": "app", "REDDIT_CLIENT_SECRET": "s3cret",
                         "REDDIT_OAUTH_URL": server.url,
                         "REDDIT_URL": server.url, "REDDIT_TIMEOUT_S": "0.5", "REDDIT_RETRIES": "1"})
        served = server.faults.served[fault]
    assert done.returncode == 1, done.stderr
    summary = _summary(done.stderr)
    error = done.stderr
    assert "error: " in error and SAYS[fault] in error
    assert served >= 2  # the first one was retried past; the later ones were retried until the run gave up
    posts = _values(kafka, REDDIT_POSTS, before[REDDIT_POSTS])
    comments = _values(kafka, REDDIT_COMMENTS, before[REDDIT_COMMENTS])
    assert summary["posts"] == len(posts) >= 1 and summary["comments"] == len(comments)
    assert len({p["id"] for p in posts}) == len(posts)
    assert {c["post_id"] for c in comments} <= {p["id"] for p in posts}
    # what it produced before the failure was acknowledged on the way out
    assert summary["kafka"]["undelivered"] == 0 and summary["kafka"]["failed"] == {}
    assert "s3cret" not in done.stdout + done.stderr


def test_reddit_transient_faults_are_invisible_in_kafka(kafka):
    """One of each fault spread over a run: it completes and produces exactly what a clean run produces."""
    from jobs.ingest.reddit import RedditCollectConfig, RedditCollector, reddit_from_env

    config = RedditCollectConfig(["stocks"], since=timedelta(days=5), as_of=datetime(2010, 8, 21, tzinfo=timezone.utc),
                                 comment_depth=1)
    produced = {}
    for name, faults in (("clean", []), ("faulty", ["reset", "ok", "429", "503", "ok", "slow", "not_json"])):
        before = {topic: marks(kafka, topic) for topic in (REDDIT_POSTS, REDDIT_COMMENTS)}
        with RedditReplayServer(RedditServerConfig(faults=faults, slow_s=1.0, retry_after_s=1)) as server:
            env = {"REDDIT_CLIENT_ID": "app", "REDDIT_CLIENT_SECRET": "x", "REDDIT_OAUTH_URL": server.url,
                   "REDDIT_URL": server.url, "REDDIT_TIMEOUT_S": "0.5"}
            RedditCollector(reddit_from_env(env), Publisher(kafka, "reddit")).collect(config)
            assert sum(server.faults.served.values()) == len([f for f in faults if f != "ok"])
        produced[name] = sorted((p["id"], p["score"], p["num_comments"])
                                for p in _values(kafka, REDDIT_POSTS, before[REDDIT_POSTS]))
        produced[name + "_comments"] = sorted((c["id"], c["post_id"], c["body"])
                                              for c in _values(kafka, REDDIT_COMMENTS, before[REDDIT_COMMENTS]))
    assert produced["faulty"] == produced["clean"] and produced["faulty_comments"] == produced["clean_comments"]
    assert produced["clean"] and produced["clean_comments"]
