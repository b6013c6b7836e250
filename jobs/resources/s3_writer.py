"""One writing process per lake on S3, enforced: Delta's S3 log store is safe for a single writer only.

On S3, delta-spark commits through S3SingleDriverLogStore, which serialises the commits of one driver
JVM but not of two: two processes committing the same version at once can both "win", and one commit
is silently lost. Delta's answer for several writers, the DynamoDB log store
(io.delta:delta-storage-s3-dynamodb), is not served by the Maven registry this project builds from, so
pulselake runs S3 lakes in single-writer mode and enforces it here.

The first write of a process claims the lake: a conditional PUT (``If-None-Match: *``) of
``<lake root>/_writer.json`` naming the host, process and time. S3 lets exactly one of several racing
PUTs create an object, so one process holds the claim; any other gets `LakeWriterBusy` naming the
holder. The claim goes when its process exits. A claim left by a process that died on this host is
taken over; one left by another host is the operator's to remove, after making sure that writer is gone.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import json
import logging
import socket
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

import psutil

from jobs.resources.settings import Settings

CLAIM_NAME = "_writer.json"
log = logging.getLogger(__name__)

_held: dict[str, str] = {}  # lake root -> claim id held by this process
_lock = threading.Lock()


class LakeWriterBusy(RuntimeError):
    """Another process holds the lake's single-writer claim."""


def is_s3(lake_root: str) -> bool:
    return lake_root.startswith(("s3://", "s3a://"))


def claim_location(lake_root: str) -> tuple[str, str]:
    """(bucket, key) of the lake's claim object."""
    bucket, _, prefix = lake_root.split("://", 1)[1].partition("/")
    return bucket, f"{prefix.strip('/')}/{CLAIM_NAME}".lstrip("/")


def claim_writer(settings: Settings) -> None:
    """Make this process the lake's only writer, or raise LakeWriterBusy. A no-op for lakes off S3 (HDFS and
    local folders have atomic renames: Delta's own log stores there are safe for any number of writers)."""
    root = settings.lake_root
    if not is_s3(root) or root in _held:
        return
    with _lock:
        if root in _held:
            return
        client = _client(settings)
        bucket, key = claim_location(root)
        me = _identity()
        with _host_lock(root):  # two processes of this host must not take over a dead claim together
            for _ in range(2):
                if _put_if_absent(client, bucket, key, me):
                    _held[root] = me["claim"]
                    atexit.register(release_writer, settings)
                    return
                holder = _read(client, bucket, key)
                if holder is None:
                    continue  # released between our PUT and our read: try again
                if holder.get("host") == me["host"] and not _alive(holder):
                    client.delete_object(Bucket=bucket, Key=key)  # its process died: take the lake over
                    continue
                raise LakeWriterBusy(
                    f"the lake {root} has a writer already: process {holder.get('pid')} on {holder.get('host')} "
                    f"since {holder.get('since')}. On S3 one process writes a lake at a time (Delta's S3 log store "
                    "is safe for a single writer; see the README). Stop that writer, or, if it is gone without "
                    f"releasing its claim, delete s3://{bucket}/{key}.")
        raise LakeWriterBusy(f"could not claim the lake {root}: its claim object kept changing")


def release_writer(settings: Settings) -> None:
    """Give the claim back (at process exit, or when a long-lived process is done writing)."""
    root = settings.lake_root
    with _lock:
        claim = _held.pop(root, None)
        if claim is None:
            return
        atexit.unregister(release_writer)
        bucket, key = claim_location(root)
        try:
            client = _client(settings)
            holder = _read(client, bucket, key)
            if holder is not None and holder.get("claim") == claim:
                client.delete_object(Bucket=bucket, Key=key)
        except Exception as exc:  # noqa: BLE001 - at exit, a store that is gone must not hide the real outcome
            log.warning("could not release the writer claim s3://%s/%s (%s); the next writer on this host takes "
                        "it over, one elsewhere needs it deleted", bucket, key, exc)


def _identity() -> dict:
    process = psutil.Process()
    return {"host": socket.gethostname(), "pid": process.pid, "pid_started": process.create_time(),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"), "claim": uuid.uuid4().hex}


def _alive(holder: dict) -> bool:
    """Is the holder's process still running (the same process, not a later one given its pid)?"""
    try:
        return abs(psutil.Process(int(holder["pid"])).create_time() - float(holder.get("pid_started", 0))) < 1
    except (psutil.NoSuchProcess, KeyError, ValueError, TypeError):
        return False


def _put_if_absent(client, bucket: str, key: str, body: dict) -> bool:
    from botocore.exceptions import ClientError

    try:
        client.put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode(), IfNoneMatch="*",
                          ContentType="application/json")
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
            return False
        raise


def _read(client, bucket: str, key: str) -> dict | None:
    from botocore.exceptions import ClientError

    try:
        return json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise


def _client(settings: Settings):
    """A boto3 S3 client from the same settings Spark's s3a and delta-rs use."""
    import boto3

    return boto3.client(
        "s3", endpoint_url=settings.option("AWS_ENDPOINT_URL", "AWS_ENDPOINT"),
        aws_access_key_id=settings.option("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=settings.option("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=settings.option("AWS_SESSION_TOKEN"),
        region_name=settings.option("AWS_REGION", "AWS_DEFAULT_REGION") or "us-east-1",
    )


class _host_lock:
    """An exclusive flock in ~/.cache/pulselake/locks for one lake root, held while claiming."""

    def __init__(self, root: str) -> None:
        digest = hashlib.sha256(root.encode()).hexdigest()[:16]
        self.path = Path.home() / ".cache" / "pulselake" / "locks" / f"s3-writer-{digest}.lock"

    def __enter__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a")
        fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        self._handle.close()
