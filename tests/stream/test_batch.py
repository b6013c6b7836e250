"""One micro-batch replayed after crashes at its most delicate points (real Spark, real Delta; the records
are built the way `kafka_records` hands them over, so no broker is needed)."""

from __future__ import annotations

from datetime import timedelta

import pytest

import jobs.trades.batch as batch_module
from jobs.resources.lake import Txn
from jobs.trades.batch import trades_batch
from lake_schema.quarantine import QUARANTINE
from lake_schema.trades import BARS_1M, BRONZE_TRADES, SILVER_TRADES
from tests.stream.helpers import (
    INVALID_JSON, PING, START, Record, expected_quarantine, expected_tables, frame, records_frame, rows,
    synthetic_records,
)

pytestmark = pytest.mark.slow  # minutes of Spark work or a private service: `make test` runs it, `make test-fast` does not

APP = "kafka:finnhub.trades->bronze.trades"
ALL_TABLES = sorted(t.name for t in (BRONZE_TRADES, QUARANTINE, SILVER_TRADES, BARS_1M))


class Crash(RuntimeError):
    pass


def _crash(*_, **__):
    raise Crash("the process died here")


def test_a_batch_replayed_after_a_crash_writes_every_table_exactly_once(lake, spark, monkeypatch):
    groups = synthetic_records(3, seed=9)  # one of each: re-sent frame, invalid JSON, a ping
    records = records_frame(spark, [r for g in groups for r in g])
    txn = Txn(APP, 1)

    # crash 1: bronze committed (with the batch's txn), nothing after it
    with monkeypatch.context() as patch:
        patch.setattr(batch_module, "silver_before", _crash)
        with pytest.raises(Crash):
            trades_batch(lake, records, txn, 0)
    assert lake.row_count(BRONZE_TRADES) > 0 and lake.row_count(SILVER_TRADES) == 0
    replay = trades_batch(lake, records, txn, 0)
    assert replay.resumed and replay.skipped == [BRONZE_TRADES.name]
    assert set(replay.tables) == {QUARANTINE.name, SILVER_TRADES.name, BARS_1M.name}

    # crash 2: every table committed, but Spark never recorded the batch as done: it runs again
    again = trades_batch(lake, records, txn, 0)
    assert again.resumed and sorted(again.skipped) == ALL_TABLES and again.tables == {}

    bronze, silver, bars = expected_tables(records)
    assert rows(lake.read(BRONZE_TRADES)) == rows(bronze)
    assert rows(lake.read(SILVER_TRADES)) == rows(silver)
    assert rows(lake.read(BARS_1M)) == rows(bars)
    quarantined = lake.read(QUARANTINE)
    assert quarantined.count() == replay.tables[QUARANTINE.name] == sum(expected_quarantine(records).values())
    assert {r.reason for r in quarantined.collect()} == {"invalid_json", "not_a_trade_frame", "duplicate_record"}

    # a batch with no valid trade at all: its records are still quarantined, nothing else changes
    when = START + timedelta(minutes=10)
    bad = trades_batch(lake, records_frame(spark, [Record(PING, when), Record(INVALID_JSON, when)], first_offset=1000),
                       Txn(APP, 2), 1)
    assert bad.tables == {QUARANTINE.name: 2} and bad.silver_visible_at is None  # no rows, no bronze commit
    assert bad.commits == 1
    reasons = {r.reason for r in lake.read(QUARANTINE).where("kafka_offset >= 1000").collect()}
    assert reasons == {"not_a_trade_frame", "invalid_json"}
    assert rows(lake.read(SILVER_TRADES)) == rows(silver)


def test_a_replay_after_the_silver_commit_keeps_the_watermark_it_started_with(lake, spark, monkeypatch):
    """The batch moves silver's high-water mark far ahead; a replay that resumes after its silver commit must
    still refresh the bars of its early minutes, as the first attempt would have."""
    watermark = timedelta(minutes=1)
    first = [Record(frame([("AAPL", 100.0 + i, START + timedelta(seconds=10 * i), 1.0)]),
                    START + timedelta(seconds=10 * i + 1)) for i in range(5)]  # 14:30:00 .. 14:30:40
    trades_batch(lake, records_frame(spark, first), Txn(APP, 1), 0, watermark)

    minute_31, minute_35 = START + timedelta(minutes=1, seconds=10), START + timedelta(minutes=5, seconds=10)
    second = [Record(frame([("AAPL", 111.0, minute_31, 2.0)]), minute_31 + timedelta(seconds=1)),
              Record(frame([("AAPL", 115.0, minute_35, 3.0)]), minute_35 + timedelta(seconds=1))]
    records = records_frame(spark, second, first_offset=len(first))
    with monkeypatch.context() as patch:  # crash after the silver commit, before the bars
        patch.setattr(batch_module, "bars_of_minutes", _crash)
        with pytest.raises(Crash):
            trades_batch(lake, records, Txn(APP, 2), 1, watermark)
    assert lake.read(SILVER_TRADES).count() == 7 and lake.read(BARS_1M).count() == 1

    replay = trades_batch(lake, records, Txn(APP, 2), 1, watermark)
    # the batch had no rejects: quarantine got no commit in either attempt
    assert replay.resumed and sorted(replay.skipped) == sorted([BRONZE_TRADES.name, SILVER_TRADES.name])
    assert set(replay.tables) == {BARS_1M.name} and replay.commits == 1 and replay.late_beyond_watermark == 0
    assert replay.watermark_floor == START - timedelta(minutes=1)  # from 14:30:40, not from 14:35:10

    all_records = records_frame(spark, first).unionByName(records)
    _, silver, bars = expected_tables(all_records)
    assert rows(lake.read(SILVER_TRADES)) == rows(silver)
    assert rows(lake.read(BARS_1M)) == rows(bars)  # the 14:31 bar too
    assert lake.read(BARS_1M).count() == 3


def test_the_live_scorer_takes_batches_in_order_and_skips_to_the_newest_when_behind():
    from datetime import datetime, timezone

    from jobs.stream.scoring import CATCH_UP_AFTER, LiveScorer

    minute = lambda m: datetime(2010, 1, 4, 14, m, tzinfo=timezone.utc)  # noqa: E731
    scorer = LiveScorer(lake=None)  # not started: only its queue
    scorer.moved({"AAPL": minute(30)})
    scorer.moved({"AAPL": minute(31), "MSFT": minute(31)})
    assert scorer._take()[0] == {"AAPL": minute(30)}  # in order while few wait
    for m in range(32, 32 + CATCH_UP_AFTER):
        scorer.moved({"AAPL": minute(m)})
    assert scorer._take()[0] == {"AAPL": minute(31 + CATCH_UP_AFTER), "MSFT": minute(31)}  # behind: the newest
    assert scorer._take() is None


def test_the_live_scorer_runs_at_a_lower_cpu_priority_than_the_batches(lake):
    """On two cores the batches get the CPU first: the scorer's thread (and the TensorFlow pools it starts)
    runs niced, so a slow model delays predictions, not silver."""
    import os
    import threading
    from datetime import datetime, timezone

    from jobs.stream.scoring import SCORER_NICE, LiveScorer

    seen = []
    scorer = LiveScorer(lake, on_report=lambda report: seen.append(
        (os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), report.notes))).start()
    scorer.moved({"AAPL": datetime(2010, 1, 4, 14, 30, tzinfo=timezone.utc)})
    scorer.stop()
    [(nice, notes)] = seen
    assert nice == min(19, os.getpriority(os.PRIO_PROCESS, 0) + SCORER_NICE)
    assert "model in gold.model_runs: nothing scored" in notes[0]  # an empty lake: nothing to score, said so
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < nice  # this (batch-side) thread is untouched
