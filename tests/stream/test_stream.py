"""The real streaming query over a real Kafka broker into a tmp lake (shared local[2] Spark session)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

import pytest

from jobs.ingest.consume import CheckpointBusy, take
from jobs.trades.bars import rebuild_bars_day
from jobs.trades.batch import trades_sink
from jobs.stream.query import StreamConfig, start_stream
from jobs.trades.silver import build_bars_1m
from lake_schema.quarantine import QUARANTINE
from lake_schema.trades import BARS_1M, BRONZE_TRADES, SILVER_TRADES
from tests.stream.conftest import wait_until
from tests.stream.helpers import (
    START, Record, distinct_trades, expected_quarantine, expected_tables, frame, produce, rows, synthetic_records,
    topic_records,
)


def test_frames_produced_while_the_stream_runs_reach_bronze_silver_and_bars(lake, spark, kafka):
    groups = synthetic_records(4, seed=3)
    reports = []
    taken = lambda: sum(r.records for r in reports)  # noqa: E731
    stream = start_stream(lake, StreamConfig(trigger_seconds=0.5), on_batch=reports.append)
    try:
        sent = produce(kafka, groups[0])
        wait_until(lambda: taken() == sent, 180, "the first group")
        sent += produce(kafka, groups[1])  # re-sends a frame of groups[0], which is already in silver
        sent += produce(kafka, groups[2])
        wait_until(lambda: taken() == sent, 180, "the next two groups")
        sent += produce(kafka, groups[3])
        wait_until(lambda: taken() == sent, 180, "the last group")
    finally:
        stream.stop()
    assert len(reports) >= 3 and not any(r.resumed for r in reports)
    # a batch of rejects only commits nothing to silver; every other batch says when its trades became readable
    assert all(r.silver_visible_at for r in reports if r.tables.get(SILVER_TRADES.name))
    assert sum(r.tables.get(SILVER_TRADES.name, 0) for r in reports) == lake.read(SILVER_TRADES).count()

    records = topic_records(spark, kafka)
    assert records.count() == sent
    bronze, silver, bars = expected_tables(records)
    assert rows(lake.read(BRONZE_TRADES)) == rows(bronze)  # each record once, traced to its offset
    assert rows(lake.read(SILVER_TRADES)) == rows(silver)  # dedupe across batches == dedupe over all at once
    assert rows(lake.read(BARS_1M)) == rows(bars)
    assert lake.read(SILVER_TRADES).count() == distinct_trades([r for g in groups for r in g])
    quarantined = Counter(r.reason for r in lake.read(QUARANTINE).collect())
    assert quarantined == expected_quarantine(records)
    assert quarantined["invalid_json"] == quarantined["not_a_trade_frame"] == 1
    assert quarantined["duplicate_record"] >= 3 * 4  # three re-sent frames of four trades


def test_a_late_trade_inside_the_watermark_updates_its_bar_and_one_beyond_it_waits_for_rebuild(
        lake, spark, kafka, run_available_now):
    minutes = [START + timedelta(minutes=m, seconds=10) for m in range(11)]  # 14:30:10 .. 14:40:10
    produce(kafka, [Record(frame([("AAPL", 100.0 + i, t, 10.0)]), t + timedelta(seconds=1))
                           for i, t in enumerate(minutes)])
    first = run_available_now(lake)
    assert sum(r.records for r in first) == 11 and lake.read(BARS_1M).count() == 11

    late = START + timedelta(minutes=5, seconds=30)  # 14:35:30, behind the newest trade by < 10 min
    too_late = START - timedelta(minutes=10)  # 14:20:00, behind the 14:30 floor of a 10-minute watermark
    produce(kafka, [Record(frame([("AAPL", 999.0, late, 7.0), ("AAPL", 50.0, too_late, 3.0)]),
                                  minutes[-1] + timedelta(seconds=30))])
    second = run_available_now(lake, watermark=timedelta(minutes=10))
    assert [r.late_beyond_watermark for r in second] == [1]

    bar = lake.read(BARS_1M).where("minute_start = '2024-03-04 14:35:00'").first()
    assert (bar.trade_count, bar.high, bar.close, bar.volume) == (2, 999.0, 999.0, 17.0)  # merged, not appended
    assert lake.read(BARS_1M).count() == 11  # no bar for 14:20 yet ...
    assert lake.read(SILVER_TRADES).where("trade_ts = '2024-03-04 14:20:00'").count() == 1  # ... but the trade is kept
    rebuild_bars_day(lake, date(2024, 3, 4))
    assert rows(lake.read(BARS_1M)) == rows(build_bars_1m(lake.read(SILVER_TRADES)))
    assert lake.read(BARS_1M).count() == 12


def test_the_nightly_and_the_stream_never_take_the_same_record(lake, spark, kafka, run_available_now):
    groups = synthetic_records(4, seed=5)
    produce(kafka, groups[0] + groups[1])
    nightly = take(lake, trades_sink())  # the nightly's step: same checkpoint, same batch function
    assert sum(nightly.tables.values()) > 0 and nightly.notes != ["finnhub.trades: nothing new"]

    produce(kafka, groups[2])
    reports = run_available_now(lake)  # the stream starts where the nightly stopped
    assert sum(r.records for r in reports) == len(groups[2]) and not any(r.resumed for r in reports)

    stream = start_stream(lake, StreamConfig(trigger_seconds=0.5))
    try:  # while the stream runs, the nightly leaves the topic to it (and so does a second stream)
        with pytest.raises(CheckpointBusy, match="in use by pid"):
            take(lake, trades_sink())
        with pytest.raises(CheckpointBusy):
            start_stream(lake, StreamConfig(available_now=True))
    finally:
        stream.stop()

    produce(kafka, groups[3])
    again = take(lake, trades_sink())  # the nightly takes only what came since
    assert again.tables.get(BRONZE_TRADES.name) == sum(len(f["data"]) for f in map(_json, groups[3]) if f)
    assert run_available_now(lake) == []  # and the stream finds nothing left
    assert take(lake, trades_sink()).notes == ["finnhub.trades: nothing new"]

    records = topic_records(spark, kafka)
    bronze, silver, bars = expected_tables(records)
    assert rows(lake.read(BRONZE_TRADES)) == rows(bronze)  # every record exactly once
    assert rows(lake.read(SILVER_TRADES)) == rows(silver)  # whichever path took it built its silver and bars
    assert rows(lake.read(BARS_1M)) == rows(bars)
    assert Counter(r.reason for r in lake.read(QUARANTINE).collect()) == expected_quarantine(records)


def _json(record: Record) -> dict | None:
    try:
        value = json.loads(record.value)
    except ValueError:
        return None
    return value if value.get("type") == "trade" else None
