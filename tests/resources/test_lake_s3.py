"""The same lake I/O on S3: a real S3-compatible server (moto) on loopback, one writer and two racing."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import date

import pytest

from jobs.resources.lake import Lake, Txn
from jobs.settings import Settings
from tests.resources.faults import log_commits, race, shared_read_versions
from tests.resources.test_lake import D1, D2, D3, EVENTS, events, row


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    """moto's S3 server in its own process (delta-rs holds the GIL while it waits on I/O,
    so an in-process server thread could never answer it)."""
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
    # No AWS_S3_ALLOW_UNSAFE_RENAME: delta-rs puts each log entry with S3's conditional write
    # (If-None-Match: *), so concurrent writers are safe without a lock service.
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
    settings = Settings(lake_root=f"s3://{bucket}/lake", storage_options=_s3_options(s3_endpoint), spark_master="local[2]")
    return Lake(spark, settings)


def test_append_overwrite_merge_and_txn_on_s3(s3_lake, spark):
    lake = s3_lake
    assert lake.uri(EVENTS).startswith("s3://")
    first = lake.append(EVENTS, events(spark, [row("a", D1, 1.0), row("b", D2, 2.0)]), txn=Txn("s3-load:1"))
    assert first.rows == 2
    assert lake.append(EVENTS, events(spark, [row("a", D1, 1.0)]), txn=Txn("s3-load:1")).skipped
    lake.overwrite(EVENTS, events(spark, [row("b2", D2, 20.0)]), where=[("day", "=", D2)])
    lake.merge(EVENTS, events(spark, [row("a", D1, 10.0), row("c", D3, 3.0)]))
    got = sorted((r.event_id, r.day, r.amount) for r in lake.read(EVENTS).collect())
    assert got == [("a", D1, 10.0), ("b2", D2, 20.0), ("c", D3, 3.0)]
    assert [r.event_id for r in lake.read(EVENTS, where=[("day", ">", date(2010, 1, 5))]).collect()] == ["c"]


def test_concurrent_writers_on_s3_race_and_every_row_lands_once(s3_endpoint, tmp_path, request):
    """Two writer processes append to one S3 table, each round's commits released together: the
    conditional put lets one win each log version, the other is retried on the next."""
    options = _s3_options(s3_endpoint)
    lake = Lake(None, Settings(lake_root=f"s3://{_bucket(s3_endpoint, request.node.name)}/lake", storage_options=options))
    lake.ensure(EVENTS)
    days = ["2012-05-01", "2012-05-02"]
    reported = race(lake.settings.lake_root, tmp_path, days, commits=8, storage_options=options)
    commits = log_commits(lake.uri(EVENTS), options)  # versions 0..n, every commit whole JSON
    assert len(commits) == 1 + 2 * 8
    assert sorted(o["version"] for o in reported) == list(range(1, 17))
    ids = lake.read_small(EVENTS, columns=["event_id"])["event_id"].tolist()
    expected = {f"{who}{i}-{day}-{j}" for who in "ab" for i in range(8) for day in days for j in range(2)}
    assert len(ids) == len(expected) and set(ids) == expected
    assert shared_read_versions(commits), "the writers never collided: the test proved nothing"


def test_a_dynamodb_lock_setting_is_refused_with_the_reason(s3_endpoint):
    """delta-rs 1.6 dropped DynamoDB locking and only logs that it ignores the setting: say so up front."""
    options = {**_s3_options(s3_endpoint), "AWS_S3_LOCKING_PROVIDER": "dynamodb", "DELTA_DYNAMO_TABLE_NAME": "delta_log"}
    with pytest.raises(ValueError, match="no longer supports DynamoDB locking.*conditional writes"):
        Lake(None, Settings(lake_root="s3://any/lake", storage_options=options))
