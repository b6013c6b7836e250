"""The fixed command interface, through the real console script."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

PULSELAKE = str(Path(sys.executable).parent / "pulselake")
LAST_LINE = re.compile(r"^macro_f1=\d+\.\d+ accuracy=\d+\.\d+ n=\d+$")


def run(*args, stdin="", env=None):
    return subprocess.run([PULSELAKE, "sentiment", *args], input=stdin, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_score_default_scorer_reads_and_writes_json_lines():
    lines = [
        {"id": 1, "text": "Good time to sell $TSLA, we'll make a ton of money shorting this"},
        {"id": "b", "text": "bears getting wrecked on NVDA and Apple"},
    ]
    done = run("score", stdin="".join(json.dumps(line) + "\n" for line in lines))
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, "b"]
    assert set(out[0]) == {"id", "tickers", "label", "score", "reason"}
    assert out[0]["label"] == "bearish" and out[0]["tickers"] == ["TSLA"] and out[0]["score"] < 0
    assert out[1]["label"] == "bullish" and out[1]["tickers"] == ["NVDA", "AAPL"]


def test_score_with_the_llm_scorer_over_loopback(llm_server, tmp_path):
    env = {"LLM_BASE_URL": llm_server.base_url, "LLM_MODEL": "fake", "LLM_API_KEY": "k",
           "PULSELAKE_SENTIMENT_LLM_CACHE_PATH": str(tmp_path / "c.sqlite")}
    done = run("score", "--scorer", "llm", stdin='{"id": "x", "text": "$AMD puts printing"}\n', env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["label"] == "bearish"
    assert len(llm_server.behaviour.requests) == 1


def test_score_rejects_bad_input_with_a_clear_message():
    done = run("score", "--scorer", "vader", stdin='{"id": 1, "text": "fine"}\nnot json\n')
    assert done.returncode == 1
    assert "line 2 is not JSON" in done.stderr and "Traceback" not in done.stderr
    done = run("score", "--scorer", "nope", stdin="")
    assert done.returncode == 1 and "unknown scorer" in done.stderr


def test_eval_prints_metrics_and_the_exact_last_line(tmp_path):
    data = tmp_path / "small.tsv"
    data.write_text("label\ttext\nbullish\tGreat quarter, love it\nbearish\tTerrible, awful crash\n"
                    "neutral\tThe meeting is on Monday\nbearish\tGood time to sell, shorting this for money\n")
    done = run("eval", "--data", str(data), "--scorer", "vader")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert LAST_LINE.match(lines[-1]), lines[-1]
    assert lines[-1] == "macro_f1=0.7778 accuracy=0.7500 n=4"  # VADER calls the shorting line bullish
    assert "confusion matrix" in done.stdout


def test_eval_refuses_a_file_without_the_header(tmp_path):
    data = tmp_path / "bad.tsv"
    data.write_text("bullish\tno header here\n")
    done = run("eval", "--data", str(data), "--scorer", "vader")
    assert done.returncode == 1 and "header" in done.stderr and "Traceback" not in done.stderr


def test_every_command_has_help():
    for command in ("score", "eval", "train"):
        done = run(command, "--help")
        assert done.returncode == 0 and "Usage" in done.stdout
