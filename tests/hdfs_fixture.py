"""A real HDFS (a NameNode and a DataNode, two JVMs on 127.0.0.1) for tests, started once per test session.

Tests that need it take `hdfs` and put their lake under `hdfs_lake_root(hdfs, name)`: one folder per test
keeps them independent on the one filesystem.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kafka_fixture import free_ports


@pytest.fixture(scope="session")
def hdfs(tmp_path_factory) -> Iterator:
    from jobs.local.hdfs_cluster import LocalHdfs

    port, http_port = free_ports(2)
    with LocalHdfs(tmp_path_factory.mktemp("hdfs"), port, http_port) as cluster:
        yield cluster


def hdfs_lake_root(cluster, name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:80]
    return f"{cluster.uri}/lakes/{safe}"
