"""API keys never leave the process that uses them: a real run with distinctive fake keys, through
the real CLI and the Airflow task callables against the loopback stand-ins, leaves none of them in
any output, log, landed file, Delta log, Parquet file, cache or temp file - nor do the wrong keys
of the failure runs, whose error messages are where keys usually leak."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from jobs.local.replay.finnhub_rest import FinnhubRestConfig, FinnhubRestFake
from jobs.local.replay.finnhub_ws import FinnhubReplayConfig, FinnhubReplayThread
from jobs.local.replay.reddit_server import RedditReplayServer, RedditServerConfig
from jobs.resources.redact import redact
from jobs.local.llm_server import DevServer

ROOT = Path(__file__).resolve().parents[1]
# '+', '/' and '=' change under URL encoding: a scrubber that only knows the raw key misses the encoded one.
FINNHUB_KEY = "fhk+Pulselake/Finnhub=Key-7Q2"
REDDIT_ID = "rdid-Pulselake-Client-9X4"
REDDIT_SECRET = "rds+Pulselake/Reddit=Secret-3M8"
LLM_KEY = "sk-pulselake+LLM/Key=5T1"
AWS_ID = "AKIAPULSELAKEFAKE0001"
AWS_SECRET = "aws+Pulselake/Secret=Access-6V9"  # carried in storage options; a local lake never needs it
WRONG = {"FINNHUB_API_KEY": "fhk+Wrong/Finnhub=Key-1A1", "REDDIT_CLIENT_SECRET": "rds+Wrong/Reddit=Secret-2B2",
         "LLM_API_KEY": "sk-wrong+LLM/Key=3C3"}
SECRETS = [FINNHUB_KEY, REDDIT_ID, REDDIT_SECRET, LLM_KEY, AWS_ID, AWS_SECRET, *WRONG.values()]

TASKS = """
import json, logging
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
from datetime import datetime, timezone
from jobs.orchestration.task_runner import run_step
from jobs.window import Window
window = Window.latest(datetime.now(timezone.utc)).as_xcom()
for step in ("trades.bronze", "reddit.bronze", "reddit.silver", "sentiment.score"):
    print(json.dumps(run_step(step, window), default=str), flush=True)
"""


def forms(secret: str) -> set[bytes]:
    """Every way the value could be written down: raw, URL-encoded, base64."""
    raw = secret.encode()
    return {raw, quote(secret, safe="").encode(), quote_plus(secret).encode(), base64.b64encode(raw),
            base64.urlsafe_b64encode(raw), base64.b64encode(raw).rstrip(b"=")}


NEEDLES = {form: secret for secret in SECRETS for form in forms(secret)}
# HTTP basic auth sends "id:secret" base64-encoded (praw's token request).
NEEDLES.update({base64.b64encode(f"{REDDIT_ID}:{s}".encode()): "reddit basic auth" for s in (REDDIT_SECRET, WRONG["REDDIT_CLIENT_SECRET"])})


def leaks(data: bytes) -> set[str]:
    return {secret for form, secret in NEEDLES.items() if form in data}


def scan(folders: list[Path]) -> tuple[dict[str, int], dict[str, set[str]]]:
    """Every file under `folders`, as bytes; Parquet also decoded (its pages may be compressed)."""
    counts: dict[str, int] = {"files": 0, "parquet": 0, "delta_log": 0, "checkpoint": 0, "logs": 0, "bytes": 0}
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            data = path.read_bytes()
            counts["files"] += 1
            counts["bytes"] += len(data)
            counts["parquet"] += path.suffix == ".parquet"
            counts["delta_log"] += "_delta_log" in path.parts
            counts["checkpoint"] += "_checkpoints" in path.parts
            counts["logs"] += path.suffix == ".log"
            if path.suffix == ".parquet":
                data += json.dumps(pq.read_table(path).to_pylist(), default=str).encode()
            if hit := leaks(data):
                found[str(path)] = hit
    return counts, found


class Runner:
    """Runs CLI commands as real subprocesses; each one's stdout and stderr land in logs/ for the scan."""

    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.logs, self.env, self.count = work / "logs", env, 0
        self.logs.mkdir(parents=True)

    def start(self, name: str, args: list[str], stdin: str | None = None, **env: str) -> subprocess.Popen:
        self.count += 1
        out = (self.logs / f"{self.count:02d}-{name}.out.log").open("w")
        err = (self.logs / f"{self.count:02d}-{name}.err.log").open("w")
        process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**self.env, **env}, text=True,
                                   stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=out, stderr=err)
        process.files, process.name, process.began = (out, err), name, time.monotonic()
        if stdin:
            process.stdin.write(stdin)
            process.stdin.close()
        return process

    def finish(self, process: subprocess.Popen, timeout_s: float = 300) -> tuple[int, str]:
        try:
            process.wait(timeout=timeout_s)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            for handle in process.files:
                handle.close()
        print(f"{process.name}: {time.monotonic() - process.began:.1f} s")
        return process.returncode, "".join(Path(h.name).read_text() for h in process.files)

    def run(self, name: str, args: list[str], stdin: str | None = None, **env: str) -> tuple[int, str]:
        return self.finish(self.start(name, args, stdin, **env))


def test_redact_masks_raw_and_url_encoded_forms():
    url = f"GET /api/v1/quote?token={quote_plus(FINNHUB_KEY)}&symbol=AAPL; echo: {FINNHUB_KEY}; other: apikey=zzz"
    masked = redact(url, FINNHUB_KEY)
    assert not leaks(masked.encode())
    assert masked == "GET /api/v1/quote?token=***&symbol=AAPL; echo: ***; other: apikey=***"


@pytest.mark.slow
def test_no_key_in_any_output_log_or_lake_file(tmp_path, kafka):
    # The Kafka password (every collector and Spark use it) must not be written down either.
    NEEDLES.update({form: "kafka password" for form in forms(kafka.password())})
    lake, work = tmp_path / "lake", tmp_path / "work"
    for folder in ("home", "tmp", "spark"):
        (work / folder).mkdir(parents=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PULSELAKE_", "FINNHUB_", "REDDIT_", "LLM_", "AWS_"))},
        "HOME": str(work / "home"), "TMPDIR": str(work / "tmp"), "SPARK_LOCAL_DIRS": str(work / "spark"),
        "PULSELAKE_LAKE_ROOT": str(lake), "PULSELAKE_SPARK_MASTER": "local[2]", "PULSELAKE_SPARK_DRIVER_MEMORY": "1g",
        "PULSELAKE_STORAGE_OPTIONS": json.dumps({"AWS_ACCESS_KEY_ID": AWS_ID, "AWS_SECRET_ACCESS_KEY": AWS_SECRET}),
        "AWS_ACCESS_KEY_ID": AWS_ID, "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "FINNHUB_API_KEY": FINNHUB_KEY, "REDDIT_CLIENT_ID": REDDIT_ID, "REDDIT_CLIENT_SECRET": REDDIT_SECRET,
        "LLM_API_KEY": LLM_KEY, "LLM_MODEL": "fake-finance-1", "PULSELAKE_SENTIMENT_SCORER": "llm",
        "PULSELAKE_SENTIMENT_LLM_CACHE_PATH": str(work / "llm_cache.sqlite"),
        "PULSELAKE_SENTIMENT_LLM_REQUESTS_PER_MINUTE": "6000",
        "COLUMNS": "10000",  # rich must not fold a long line: a key split by a newline would escape the scan
    }
    runner = Runner(work, env)
    ws_config = FinnhubReplayConfig(symbols=["AAPL", "MSFT"], trades_per_day=20, speedup=0, api_key=FINNHUB_KEY)
    with FinnhubReplayThread(ws_config) as ws, FinnhubRestFake(FinnhubRestConfig(api_key=FINNHUB_KEY)) as rest, \
            RedditReplayServer(RedditServerConfig(client_id=REDDIT_ID, client_secret=REDDIT_SECRET)) as reddit, \
            DevServer(api_key=LLM_KEY) as llm:
        runner.env.update(FINNHUB_WS_URL=ws.url, FINNHUB_API_URL=rest.url, REDDIT_OAUTH_URL=reddit.url,
                          REDDIT_URL=reddit.url, LLM_BASE_URL=llm.base_url)
        # A dead REST endpoint: requests' error text carries the URL with its token query. It retries
        # with backoff, so it runs beside the others.
        unreachable = runner.start("quote-unreachable", ["-m", "jobs.cli", "ingest", "quote", "AAPL"],
                                   FINNHUB_API_URL="http://127.0.0.1:9/api/v1", FINNHUB_MAX_ATTEMPTS="2")

        # The right keys: everything is served and landed.
        code, out = runner.run("trades", ["-m", "jobs.cli", "ingest", "trades", "--symbols", "AAPL,MSFT",
                                          "--duration", "4s", "--verbose"])
        assert code == 0, out
        assert len(ws.sent) == 40
        code, out = runner.run("quote", ["-m", "jobs.cli", "ingest", "quote", "AAPL,MSFT"])
        assert code == 0 and '"c":' in out, out
        code, out = runner.run("reddit", ["-m", "jobs.cli", "ingest", "reddit", "--subreddits", "wallstreetbets",
                                          "--as-of", "2010-08-21", "--since", "30d", "--max-posts", "6",
                                          "--comment-depth", "1"])
        assert code == 0 and '"posts": 6' in out, out

        # Wrong keys: each stand-in refuses them, and the message says which setting to check.
        code, out = runner.run("trades-wrong-key", ["-m", "jobs.cli", "ingest", "trades", "--symbols", "AAPL",
                                                    "--duration", "5s"], FINNHUB_API_KEY=WRONG["FINNHUB_API_KEY"])
        assert code == 1 and "HTTP 401" in out and "FINNHUB_API_KEY" in out, out
        # A URL that is not ws://: websockets' own error would print it, token included.
        code, out = runner.run("trades-bad-url", ["-m", "jobs.cli", "ingest", "trades", "--symbols", "AAPL",
                                                  "--duration", "5s"], FINNHUB_WS_URL=rest.url)
        assert code == 2 and "is not a ws:// or wss:// URL" in out, out
        code, out = runner.run("quote-wrong-key", ["-m", "jobs.cli", "ingest", "quote", "AAPL"],
                               FINNHUB_API_KEY=WRONG["FINNHUB_API_KEY"])
        assert code == 1 and "HTTP 401" in out and "FINNHUB_API_KEY" in out, out
        code, out = runner.run("reddit-wrong-secret", ["-m", "jobs.cli", "ingest", "reddit", "--subreddits", "stocks",
                                                       "--as-of", "2010-08-21", "--max-posts", "1"],
                               REDDIT_CLIENT_SECRET=WRONG["REDDIT_CLIENT_SECRET"])
        assert code == 1 and "401" in out and "REDDIT_CLIENT_ID/SECRET" in out, out
        # The LLM stand-in echoes the refused key in its 401 body; the message shows it masked.
        code, out = runner.run("llm-wrong-key", ["-m", "jobs.cli", "sentiment", "score", "--scorer", "llm"],
                               stdin='{"id": "p1", "text": "buying $AAPL calls"}\n', LLM_API_KEY=WRONG["LLM_API_KEY"])
        assert code == 1 and "HTTP 401" in out and "Incorrect API key provided: ***" in out, out

        # bronze, silver and LLM sentiment, as the Airflow tasks run them (one Spark process).
        code, out = runner.run("tasks", ["-c", TASKS])
        assert code == 0, out[-3000:]
        code, out = runner.finish(unreachable, timeout_s=120)
        assert code == 1 and "Finnhub quote" in out, out
        authorizations = {request["authorization"] for request in llm.behaviour.requests}

    # The keys were really used: the LLM got the key as a bearer token, scored posts reached silver.
    assert authorizations == {f"Bearer {LLM_KEY}"}
    sentiment = DeltaTable(str(lake / "silver" / "post_sentiment")).to_pyarrow_table().to_pylist()
    assert sentiment and {row["scorer"] for row in sentiment} == {"llm"}
    assert all(row["reason"].startswith("keyword rules") for row in sentiment)  # the stand-in's answers
    assert DeltaTable(str(lake / "bronze" / "trades")).to_pyarrow_table().num_rows == 40

    counts, found = scan([lake, work])
    assert found == {}, f"secrets written to disk: {found}"
    # The scan saw what the run wrote: Kafka checkpoints, Parquet data, Delta logs, every command's output.
    assert counts["checkpoint"] >= 4 and counts["parquet"] >= 5 and counts["delta_log"] >= 5, counts
    assert counts["logs"] >= 2 * runner.count, counts
    assert (work / "llm_cache.sqlite").stat().st_size > 0
