"""The same lake I/O on S3: a real S3-compatible server (moto) on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from jobs.resources.lake import Lake, Txn
from jobs.settings import Settings
from tests.resources.test_lake import D1, D2, D3, EVENTS, events, row


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server in its own process (delta-rs holds the GIL while it waits on I/O,
    so an in-process server thread could never answer it)."""
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
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


@pytest.fixture
def s3_lake(spark, s3_endpoint, request):
    import boto3

    bucket = f"lake-{request.node.name.replace('_', '-')[:40].lower()}"
    options = {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing-key-id",
        "AWS_SECRET_ACCESS_KEY": "testing-secret",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
        # One writer per table in these tests; concurrent S3 writers need a lock (issue: reliability).
        "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
    }
    boto3.client(
        "s3", endpoint_url=s3_endpoint, aws_access_key_id="testing-key-id",
        aws_secret_access_key="testing-secret", region_name="us-east-1",
    ).create_bucket(Bucket=bucket)
    return Lake(spark, Settings(lake_root=f"s3://{bucket}/lake", storage_options=options, spark_master="local[2]"))


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
