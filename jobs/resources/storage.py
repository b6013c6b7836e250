"""Turn a lake URI into an Arrow filesystem, the same way on the driver and on executors.

delta-rs reads its object-store settings from `storage_options`
(AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...); Arrow's S3 filesystem wants the
same facts as keyword arguments. Keeping the translation here means a lake on
S3 needs one set of options, not two.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

import pyarrow.fs as pafs


def _option(options: dict[str, str], *names: str) -> str | None:
    for name in names:
        for key in (name, name.lower()):
            if options.get(key):
                return options[key]
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    return None


def arrow_filesystem(uri: str, storage_options: dict[str, str] | None = None) -> tuple[pafs.FileSystem, str]:
    """Return ``(filesystem, path_within_it)`` for a local path, file://, s3:// or hdfs:// URI."""
    options = storage_options or {}
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return pafs.LocalFileSystem(), parsed.path if parsed.scheme else uri
    if parsed.scheme in ("s3", "s3a"):
        endpoint = _option(options, "AWS_ENDPOINT_URL", "AWS_ENDPOINT")
        kwargs: dict[str, object] = {
            "access_key": _option(options, "AWS_ACCESS_KEY_ID"),
            "secret_key": _option(options, "AWS_SECRET_ACCESS_KEY"),
            "session_token": _option(options, "AWS_SESSION_TOKEN"),
            "region": _option(options, "AWS_REGION", "AWS_DEFAULT_REGION") or "us-east-1",
        }
        if endpoint:
            endpoint_url = urlparse(endpoint)
            kwargs["endpoint_override"] = endpoint_url.netloc or endpoint
            kwargs["scheme"] = endpoint_url.scheme or "https"
        return pafs.S3FileSystem(**{k: v for k, v in kwargs.items() if v is not None}), f"{parsed.netloc}{parsed.path}"
    if parsed.scheme == "hdfs":
        # hdfs-native speaks the NameNode and DataNode protocols in Rust: no JVM, no libhdfs (which
        # Arrow's own HadoopFileSystem needs and Maven does not ship). delta-rs uses the same client.
        from hdfs_native.fsspec import HdfsFileSystem

        fs = HdfsFileSystem(host=parsed.hostname, port=parsed.port or 8020)
        return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), parsed.path
    raise ValueError(f"unsupported lake URI scheme {parsed.scheme!r} in {uri!r}: use a local path, s3:// or hdfs://")


def join_uri(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])
