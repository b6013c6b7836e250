"""A checkpoint's offsets against what the broker holds: which partitions cannot be served, and why."""

from __future__ import annotations

from jobs.ingest.checkpoint import Committed, gone_message, offset_gaps

TAKEN = Committed(batch=7, topic="finnhub.trades", offsets={0: 100, 1: 50, 2: 10})


def test_offsets_the_broker_serves_are_no_gap():
    assert offset_gaps(TAKEN, {0: (0, 100), 1: (50, 80), 2: (3, 10)}) == []  # at the end, at the start: fine
    assert offset_gaps(None, {0: (5, 9)}) == []  # nothing taken yet: Spark starts at the earliest offset


def test_retention_a_reset_broker_and_a_gone_partition_are_named():
    gaps = offset_gaps(TAKEN, {0: (120, 150), 1: (0, 7)})
    assert [(g.partition, g.cause, g.records) for g in gaps] == [(0, "retention", 20), (1, "broker_reset", None),
                                                                (2, "partition_gone", None)]
    message = gone_message("bronze.trades", gaps)
    assert "\n" not in message and message.startswith("finnhub.trades -> bronze.trades: the checkpoint's offsets")
    assert "partition 0: offsets 100..119 (20 records) are gone, the broker starts at 120" in message
    assert "partition 1: taken to offset 50, but the broker's offsets end at 7 (a new or replaced broker)" in message
    assert "partition 2 (taken to offset 10) no longer exists" in message
    assert "pulselake ingest reset-offsets --topic finnhub.trades" in message


def test_moving_the_offsets_commits_an_empty_batch_at_what_the_broker_holds(tmp_path):
    """Spark's own file layout: offsets/<n> (version, batch metadata, the source's offsets) beside commits/<n>."""
    import json

    import pytest

    from jobs.ingest.checkpoint import committed, move_offsets

    (tmp_path / "offsets").mkdir()
    (tmp_path / "commits").mkdir()
    metadata = {"batchWatermarkMs": 0, "batchTimestampMs": 1, "conf": {"spark.sql.shuffle.partitions": "4"}}
    (tmp_path / "offsets" / "7").write_text("v1\n" + json.dumps(metadata) + '\n{"finnhub.trades":{"0":100,"1":50,"2":10}}')
    (tmp_path / "commits" / "7").write_text('v1\n{"nextBatchWatermarkMs":0}')
    (tmp_path / "offsets" / "8").write_text("v1\n{}\n{}")  # planned by a query that died: not what was taken
    (tmp_path / "offsets" / ".8.crc").write_bytes(b"crc")  # Hadoop's checksum of that plan
    taken = committed(str(tmp_path))
    assert taken == TAKEN
    gaps = offset_gaps(taken, {0: (120, 150), 1: (0, 7)})
    assert move_offsets(str(tmp_path), taken, gaps) == 8  # the dead plan is replaced, its checksum removed
    assert not (tmp_path / "offsets" / ".8.crc").exists()
    header, planned, sources = (tmp_path / "offsets" / "8").read_text().splitlines()
    assert header == "v1" and json.loads(planned)["conf"] == metadata["conf"]
    assert json.loads(sources) == {"finnhub.trades": {"0": 120, "1": 0}}  # retention: first kept; reset: from 0
    assert (tmp_path / "commits" / "8").read_text() == (tmp_path / "commits" / "7").read_text()
    assert committed(str(tmp_path)).offsets == {0: 120, 1: 0}
    assert offset_gaps(committed(str(tmp_path)), {0: (120, 150), 1: (0, 7)}) == []
    with pytest.raises(FileExistsError):  # a commit marker is never overwritten (another query moved on meanwhile)
        move_offsets(str(tmp_path), taken, gaps)
