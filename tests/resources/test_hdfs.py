"""The lake on a real HDFS: a NameNode and a DataNode (two JVMs from the locked jars) on 127.0.0.1.

Spark writes through its own hdfs:// client; delta-rs (the dashboard's reader) and the model registry read
through hdfs-native. A DataNode that dies in the middle of a write leaves the table at its last version."""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time

import psutil
import pytest
from deltalake import DeltaTable

from jobs.resources.lake import Lake, Txn
from jobs.resources.storage import arrow_filesystem
from jobs.resources.settings import Settings
from tests.foreground import foreground
from tests.hdfs_fixture import hdfs_lake_root
from tests.kafka_fixture import free_ports
from tests.resources.faults import log_commits
from tests.resources.test_lake import D1, D2, D3, EVENTS, events, row


@pytest.fixture
def hdfs_lake(spark, hdfs, request):
    return Lake(spark, Settings(lake_root=hdfs_lake_root(hdfs, request.node.name), spark_master="local[2]"))


def test_both_daemons_listen_on_127_0_0_1_only(hdfs):
    for daemon in (hdfs.namenode, hdfs.datanode):
        listening = [c for c in psutil.Process(daemon.pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        assert listening and all(c.laddr.ip == "127.0.0.1" for c in listening), listening
    namenode_ports = {c.laddr.port for c in psutil.Process(hdfs.namenode.pid).net_connections(kind="inet")
                      if c.status == psutil.CONN_LISTEN}
    assert {hdfs.port, hdfs.http_port} <= namenode_ports
    assert hdfs.live_datanodes() == 1


def test_append_overwrite_merge_and_txn_on_hdfs_read_back_by_delta_rs(hdfs_lake, spark):
    lake = hdfs_lake
    assert lake.uri(EVENTS).startswith("hdfs://127.0.0.1:")
    assert lake.append(EVENTS, events(spark, [row("a", D1, 1.0), row("b", D2, 2.0)]), txn=Txn("hdfs-load:1")).rows == 2
    assert lake.append(EVENTS, events(spark, [row("a", D1, 1.0)]), txn=Txn("hdfs-load:1")).skipped
    lake.overwrite(EVENTS, events(spark, [row("b2", D2, 20.0)]), where=[("day", "=", D2)])
    lake.merge(EVENTS, events(spark, [row("a", D1, 10.0), row("c", D3, 3.0)]))

    expected = [("a", D1, 10.0), ("b2", D2, 20.0), ("c", D3, 3.0)]
    assert sorted((r.event_id, r.day, r.amount) for r in lake.read(EVENTS).collect()) == expected
    through_delta_rs = DeltaTable(lake.uri(EVENTS)).to_pandas()  # hdfs-native, no JVM
    assert sorted(zip(through_delta_rs.event_id, through_delta_rs.day, through_delta_rs.amount)) == expected
    assert len(log_commits(lake.uri(EVENTS))) == 4  # create+append, overwrite, merge (the skipped txn wrote none)
    assert lake.row_count(EVENTS) == 3


def test_a_datanode_killed_mid_write_leaves_the_previous_version_and_the_retry_commits_once(hdfs, hdfs_lake, spark):
    lake = hdfs_lake
    lake.append(EVENTS, events(spark, [row("seed", D1, 0.0)]))
    before = DeltaTable(lake.uri(EVENTS)).version()
    # Many small files, written one after another by each task: the DataNode dies while they are written.
    big = (spark.range(0, 400_000).selectExpr("concat('e', id) AS event_id", "DATE'2010-01-05' AS day",
                                              "TIMESTAMP'2010-01-05 14:30:00' AS at", "CAST(id AS double) AS amount",
                                              "array('x') AS tags").repartition(2))
    spark.conf.set("spark.sql.files.maxRecordsPerFile", "5000")
    fs, table_path = arrow_filesystem(lake.uri(EVENTS))
    failure: list[BaseException] = []

    def write() -> None:
        try:
            lake.append(EVENTS, big, txn=Txn("hdfs-big:1"))
        except BaseException as exc:  # noqa: BLE001 - the failure is what the test expects
            failure.append(exc)

    try:
        writer = threading.Thread(target=write)
        writer.start()
        deadline = time.monotonic() + 120
        from pyarrow.fs import FileSelector
        while not any(i.path.endswith(".parquet") and "day=2010-01-05" in i.path
                      for i in fs.get_file_info(FileSelector(table_path, recursive=True, allow_not_found=True))):
            assert writer.is_alive() and time.monotonic() < deadline, "the write ended before any file showed up"
            time.sleep(0.05)
        hdfs.kill_datanode()
        writer.join(300)
        assert failure, "the append succeeded although its DataNode was killed in the middle of it"
        hdfs.start_datanode()  # blocks are readable again (one DataNode holds the only replica)
        assert DeltaTable(lake.uri(EVENTS)).version() == before  # no commit, no torn commit
        assert lake.row_count(EVENTS) == 1 and lake.read(EVENTS).count() == 1

        assert not lake.append(EVENTS, big, txn=Txn("hdfs-big:1")).skipped
        assert lake.append(EVENTS, big, txn=Txn("hdfs-big:1")).skipped  # the rerun of a done write
    finally:
        spark.conf.unset("spark.sql.files.maxRecordsPerFile")
        if not hdfs.datanode.running:
            hdfs.start_datanode()
    assert DeltaTable(lake.uri(EVENTS)).version() == before + 1
    assert lake.row_count(EVENTS) == 400_001
    assert lake.read(EVENTS).select("event_id").distinct().count() == 400_001


def test_model_folders_round_trip_through_hdfs(hdfs, tmp_path):
    from jobs.models.registry import get_folder, put_folder

    (tmp_path / "model" / "assets").mkdir(parents=True)
    (tmp_path / "model" / "config.json").write_text('{"units": 8}')
    (tmp_path / "model" / "assets" / "weights.bin").write_bytes(os.urandom(100_000))
    uri = f"{hdfs.uri}/registry-test/model-v1"

    put_folder(tmp_path / "model", uri, {})
    back = get_folder(uri, tmp_path / "back", {})

    assert (back / "config.json").read_text() == '{"units": 8}'
    assert (back / "assets" / "weights.bin").read_bytes() == (tmp_path / "model" / "assets" / "weights.bin").read_bytes()
    with pytest.raises(FileNotFoundError, match="missing from the lake"):
        get_folder(f"{hdfs.uri}/registry-test/no-such-model", tmp_path / "none", {})


def test_make_hdfs_prints_the_lake_address_and_stops_cleanly(tmp_path):
    port, http_port = free_ports(2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HDFS_")}
    env.update(PYTHONUNBUFFERED="1", HDFS_PORT=str(port), HDFS_HTTP_PORT=str(http_port), COLUMNS="200")
    command = [sys.executable, "-m", "jobs.local.hdfs_cluster", "--data-dir", str(tmp_path / "hdfs")]
    with foreground(command, env, "PULSELAKE_LAKE_ROOT=", timeout_s=120) as (proc, lines):
        out = "".join(lines)
        assert f"PULSELAKE_LAKE_ROOT=hdfs://127.0.0.1:{port}/lake" in out
        pids = [int(p) for p in re.findall(r"(?:NameNode|DataNode) pid (\d+)", out)]
        assert len(pids) == 2 and all(psutil.pid_exists(p) for p in pids)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(90) == 0, "".join(lines)
    assert "".join(lines).rstrip().endswith("stopped")
    assert all(not psutil.pid_exists(p) or psutil.Process(p).status() == psutil.STATUS_ZOMBIE for p in pids)
