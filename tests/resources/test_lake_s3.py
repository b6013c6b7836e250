"""The same lake I/O on S3: Spark writes through s3a to a real S3-compatible server (moto) on loopback, and
delta-rs (the dashboard's reader) reads what it wrote. One writing process per S3 lake: Delta's default S3 log
store is safe for a single writer only, and the lake enforces it (jobs/resources/s3_writer.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import date

import pytest

from jobs.resources.lake import Lake, Txn
from jobs.resources.settings import Settings
from tests.resources.faults import log_commits
from tests.resources.test_lake import D1, D2, D3, EVENTS, events, row


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


pytestmark = pytest.mark.slow  # minutes of Spark work or a private service: `make test` runs it, `make test-fast` does not


# moto_server answers on threads, and its If-None-Match check and its write are not one atomic step, so two
# racing conditional PUTs could both win there (never on S3). Writes are made one at a time to keep it honest.
_MOTO = """
import sys, threading
from werkzeug.serving import run_simple
from moto.server import DomainDispatcherApplication, create_backend_app

app, lock = DomainDispatcherApplication(create_backend_app), threading.Lock()

def one_write_at_a_time(environ, start_response):
    if environ["REQUEST_METHOD"] in ("PUT", "POST", "DELETE"):
        with lock:
            return list(app(environ, start_response))
    return app(environ, start_response)

run_simple("127.0.0.1", int(sys.argv[1]), one_write_at_a_time, threaded=True)
"""


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server in its own process, as a real store would be."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", _MOTO, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("moto_server did not start")
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


def _s3_options(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing-key-id",
        "AWS_SECRET_ACCESS_KEY": "testing-secret",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }


def _bucket(endpoint: str, name: str) -> str:
    import boto3

    bucket = f"lake-{name.replace('_', '-')[:40].lower()}"
    boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="testing-key-id",
        aws_secret_access_key="testing-secret", region_name="us-east-1",
    ).create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture
def s3_lake(spark, s3_endpoint, request):
    bucket = _bucket(s3_endpoint, request.node.name)
    settings = Settings(lake_root=f"s3a://{bucket}/lake", storage_options=_s3_options(s3_endpoint), spark_master="local[2]")
    return Lake(spark, settings)


def test_append_overwrite_merge_and_txn_on_s3(s3_lake, spark):
    lake = s3_lake
    assert lake.uri(EVENTS).startswith("s3a://")
    first = lake.append(EVENTS, events(spark, [row("a", D1, 1.0), row("b", D2, 2.0)]), txn=Txn("s3-load:1"))
    assert first.rows == 2
    assert lake.append(EVENTS, events(spark, [row("a", D1, 1.0)]), txn=Txn("s3-load:1")).skipped
    lake.overwrite(EVENTS, events(spark, [row("b2", D2, 20.0)]), where=[("day", "=", D2)])
    lake.merge(EVENTS, events(spark, [row("a", D1, 10.0), row("c", D3, 3.0)]))
    got = sorted((r.event_id, r.day, r.amount) for r in lake.read(EVENTS).collect())
    assert got == [("a", D1, 10.0), ("b2", D2, 20.0), ("c", D3, 3.0)]
    assert [r.event_id for r in lake.read(EVENTS, where=[("day", ">", date(2010, 1, 5))]).collect()] == ["c"]


def test_what_spark_wrote_on_s3_reads_back_through_delta_rs(s3_lake, spark, s3_endpoint):
    lake = s3_lake
    lake.append(EVENTS, events(spark, [row("a", D1, 1.0), row("b", D2, 2.0)]))
    lake.append(EVENTS, events(spark, [row("c", D1, 3.0)]))  # a second small file in D1
    assert lake.optimize(EVENTS) == {"files_added": 1, "files_removed": 2}  # compacted on S3
    commits = log_commits(lake.uri(EVENTS), _s3_options(s3_endpoint))  # whole JSON commits, no gap
    assert len(commits) == 4  # create, two appends, optimize
    ids = sorted(lake.read_small(EVENTS, columns=["event_id"])["event_id"].tolist())
    assert ids == ["a", "b", "c"] and lake.row_count(EVENTS) == 3
    assert sorted(lake.read_small(EVENTS, where=[("day", "=", D1)])["event_id"]) == ["a", "c"]


_HOLD_CLAIM = """
import sys
from jobs.resources.s3_writer import claim_writer
from jobs.resources.settings import Settings

settings = Settings.model_validate_json(sys.argv[1])
claim_writer(settings)
print("claimed", flush=True)
sys.stdin.read()  # hold the claim until the test closes our stdin (or kills us)
"""


def _holder(settings: Settings) -> subprocess.Popen:
    """Another process that claims the lake as a writer and holds the claim."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLD_CLAIM, settings.model_dump_json()], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "claimed"
    return proc


def test_on_s3_one_process_writes_a_lake_and_another_is_refused_until_it_exits(s3_lake, spark):
    from jobs.resources.s3_writer import LakeWriterBusy

    other = _holder(s3_lake.settings)
    try:
        with pytest.raises(LakeWriterBusy, match=f"process {other.pid} on .* single writer"):
            s3_lake.append(EVENTS, events(spark, [row("a", D1, 1.0)]))
        assert not s3_lake.exists(EVENTS)  # refused before anything was written
    finally:
        other.stdin.close()  # it exits and gives the claim back
        assert other.wait(30) == 0
    assert s3_lake.append(EVENTS, events(spark, [row("a", D1, 1.0)])).rows == 1


def test_on_s3_the_claim_of_a_writer_that_died_on_this_host_is_taken_over(s3_lake, spark, s3_endpoint):
    import boto3

    from jobs.resources.s3_writer import claim_location

    other = _holder(s3_lake.settings)
    other.kill()
    other.wait()
    bucket, key = claim_location(s3_lake.settings.lake_root)
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="testing-key-id",
                      aws_secret_access_key="testing-secret", region_name="us-east-1")
    assert f'"pid": {other.pid}' in s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()  # left behind

    assert s3_lake.append(EVENTS, events(spark, [row("a", D1, 1.0)])).rows == 1
    assert f'"pid": {os.getpid()}' in s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
