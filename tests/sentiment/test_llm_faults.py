"""The LLM endpoint misbehaving on loopback, through `python -m jobs.cli sentiment score --scorer llm`.

Four posts go in two batches. The first batch meets the fault once and must come back scored; the
second meets it for good. A transport or HTTP fault then stops the command with exit 1, a summary line
and a plain error, after the first batch's rows were written; a body that is not JSON degrades instead:
those posts are re-queued, then written neutral with the reason, counted in the summary (exit 0).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.local.replay.faults import FAULTS

ROOT = Path(__file__).resolve().parents[2]
POSTS = ["$TSLA puts printing, short it", "$AAPL calls to the moon", "Dumping all my $INTC", "$AMD beat and got upgraded"]
SAYS = {"reset": "the connection was reset", "slow": "no answer within the timeout", "429": "HTTP 429",
        "500": "HTTP 500", "truncated": "cut off"}


@pytest.mark.parametrize("fault", [f if f != "503" else "500" for f in FAULTS])
def test_llm_fault_once_is_retried_and_for_good_ends_the_cli_cleanly(fault, llm_server, tmp_path):
    llm_server.behaviour.script.extend([fault, "ok"])  # batch 1: the fault, then a good answer
    llm_server.behaviour.always = fault  # batch 2: the fault on every try
    llm_server.behaviour.slow_s = 1.5
    env = {**os.environ, "LLM_BASE_URL": llm_server.base_url, "LLM_MODEL": "fake", "LLM_API_KEY": "sk-test-key",
           "PULSELAKE_SENTIMENT_LLM_CACHE_PATH": str(tmp_path / "cache.sqlite"),
           "PULSELAKE_SENTIMENT_LLM_TIMEOUT_S": "0.5", "PULSELAKE_SENTIMENT_LLM_HTTP_ATTEMPTS": "3",
           "PULSELAKE_SENTIMENT_LLM_ATTEMPTS_PER_POST": "2", "PULSELAKE_SENTIMENT_LLM_MAX_BACKOFF_S": "1",
           "PULSELAKE_SENTIMENT_LLM_REQUESTS_PER_MINUTE": "6000"}
    stdin = "".join(json.dumps({"id": i, "text": text}) + "\n" for i, text in enumerate(POSTS))
    done = subprocess.run([sys.executable, "-m", "jobs.cli", "sentiment", "score", "--scorer", "llm", "--batch-size", "2"],
                          input=stdin, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    assert "sk-test-key" not in done.stdout + done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    summary = next(line for line in done.stderr.splitlines() if line.startswith("scored "))
    assert [r["label"] for r in rows[:2]] == ["bearish", "bullish"]  # batch 1: retried past the fault
    assert not rows[0]["reason"].startswith("llm gave no valid answer")
    statuses = llm_server.behaviour.statuses
    played = int(fault) if fault.isdigit() else fault
    assert statuses.count(200) == 1 and statuses.count(played) >= 3
    if fault == "not_json":  # degraded: batch 2 written neutral with the reason, counted, exit 0
        assert done.returncode == 0, done.stderr
        assert [r["id"] for r in rows] == [0, 1, 2, 3]
        assert all(r["label"] == "neutral" and r["reason"].startswith("llm gave no valid answer") for r in rows[2:])
        assert summary.startswith("scored 4 posts") and "3 unusable answers" in summary
        assert "2 without a valid answer" in summary and "2 posts got no valid answer" in done.stderr
    else:  # stopped: batch 1's rows were written, the summary says so, then a plain error
        assert done.returncode == 1
        assert [r["id"] for r in rows] == [0, 1]
        assert summary.startswith("scored 2 posts") and "HTTP retries" in summary
        assert "error: the LLM endpoint kept failing after 3 tries" in done.stderr and SAYS[fault] in done.stderr
