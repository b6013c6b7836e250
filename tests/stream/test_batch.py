"""One micro-batch replayed after crashes at its two most delicate points (real Spark, real Delta)."""

from __future__ import annotations

from datetime import timedelta

from jobs.ingest.landed import LandedFile
from jobs.ingest.landing import landing_root
from jobs.stream.batch import BatchReport, StreamContext, _plan_and_take_bronze, process_batch
from jobs.stream.plan import PlanStore
from lake_schema.quarantine import QUARANTINE
from lake_schema.trades import BARS_1M, BRONZE_TRADES, SILVER_TRADES
from tests.stream.helpers import START, expected_tables, land, line, rows, synthetic_files, trade_file


def test_a_batch_replayed_after_a_crash_writes_every_table_exactly_once(lake, spark, tmp_path):
    landing = landing_root(lake.settings)
    files = synthetic_files(2, seed=9)
    for file in files:
        land(landing, file)
    ctx = StreamContext(app_id="stream.trades:test:q1", landing=landing, plans=PlanStore(tmp_path / "checkpoint"),
                        watermark=timedelta(minutes=10), tag="test")
    uris = [(landing / f.relative).as_uri() for f in files]

    # crash 1: the bronze commits (one per file, with its txn) are in, nothing after them
    landed = [LandedFile(landing / f.relative, f.relative) for f in files]
    _plan_and_take_bronze(lake, ctx, landed, 0, BatchReport(0))
    replay = process_batch(lake, ctx, uris, 0)
    assert replay.resumed and replay.skipped == [BRONZE_TRADES.name]
    assert set(replay.tables) == {QUARANTINE.name, SILVER_TRADES.name, BARS_1M.name}

    # crash 2: every table committed, but Spark never recorded the batch as done: it runs again
    again = process_batch(lake, ctx, uris, 0)
    assert sorted(again.skipped) == sorted(t.name for t in (BRONZE_TRADES, QUARANTINE, SILVER_TRADES, BARS_1M))
    assert again.tables == {}

    bronze, silver, bars = expected_tables(spark, landing, files)
    assert rows(lake.read(BRONZE_TRADES)) == rows(bronze)
    assert rows(lake.read(SILVER_TRADES)) == rows(silver)
    assert rows(lake.read(BARS_1M)) == rows(bars)
    assert lake.read(QUARANTINE).count() == replay.tables[QUARANTINE.name] > 0

    # a file with no valid trade at all: its lines are still quarantined, nothing else changes
    when = START + timedelta(minutes=10)
    only_bad = trade_file(7, [line(when, '{"type":"ping"}')], when)
    land(landing, only_bad)
    bad = process_batch(lake, ctx, [(landing / only_bad.relative).as_uri()], 1)
    assert bad.taken == (only_bad.relative,) and bad.tables == {BRONZE_TRADES.name: 0, QUARANTINE.name: 1}
    reasons = {r.reason for r in lake.read(QUARANTINE).where(f"source_file = '{only_bad.relative}'").collect()}
    assert reasons == {"not_a_trade_frame"}
    assert rows(lake.read(SILVER_TRADES)) == rows(silver)
