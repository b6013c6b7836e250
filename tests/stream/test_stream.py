"""The real streaming query over real landed files in a tmp lake (shared local[2] Spark session)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from jobs.ingest.landing import landing_root
from jobs.stream.bars import rebuild_bars_day
from jobs.stream.query import StreamConfig, start_stream
from jobs.trades.bronze import bronze_trades
from jobs.trades.silver import build_bars_1m, build_silver_trades
from lake_schema.quarantine import QUARANTINE
from lake_schema.trades import BARS_1M, BRONZE_TRADES, SILVER_TRADES
from tests.stream.conftest import wait_until
from tests.stream.helpers import START, expected_tables, frame, land, line, rows, synthetic_files, trade_file


def test_files_landed_while_the_stream_runs_reach_bronze_silver_and_bars(lake, spark):
    landing = landing_root(lake.settings)
    files = synthetic_files(4, seed=3)
    reports = []
    taken = lambda: sum(len(r.taken) for r in reports)  # noqa: E731
    query = start_stream(lake, StreamConfig(query_name="live", trigger_seconds=0.5), on_batch=reports.append)
    try:
        land(landing, files[0])
        wait_until(lambda: taken() == 1, 180, "the first file")
        land(landing, files[1])  # re-sends a frame of files[0], which is already in silver
        land(landing, files[2])
        wait_until(lambda: taken() == 3, 180, "the next two files")
        land(landing, files[3])
        wait_until(lambda: taken() == 4, 180, "the last file")
    finally:
        query.stop()
    assert len(reports) >= 3 and not any(r.resumed for r in reports)

    bronze, silver, bars = expected_tables(spark, landing, files)
    assert rows(lake.read(BRONZE_TRADES)) == rows(bronze)  # same record ids as the nightly's parser
    assert rows(lake.read(SILVER_TRADES)) == rows(silver)  # dedupe across batches == dedupe over all at once
    assert rows(lake.read(BARS_1M)) == rows(bars)
    _, rejected = build_silver_trades(bronze)
    quarantined = Counter(r.reason for r in lake.read(QUARANTINE).collect())
    assert quarantined == {"duplicate_record": rejected.count(), "malformed_landing_line": 1}
    assert quarantined["duplicate_record"] > 0


def test_a_late_trade_inside_the_watermark_updates_its_bar_and_one_beyond_it_waits_for_rebuild(lake, spark,
                                                                                              run_available_now):
    landing = landing_root(lake.settings)
    minutes = [START + timedelta(minutes=m, seconds=10) for m in range(11)]  # 14:30:10 .. 14:40:10
    on_time = [line(t + timedelta(seconds=1), frame([("AAPL", 100.0 + i, t, 10.0)])) for i, t in enumerate(minutes)]
    land(landing, trade_file(0, on_time, minutes[-1] + timedelta(seconds=2)))
    first = run_available_now(lake, query_name="late")
    assert sum(len(r.taken) for r in first) == 1 and lake.read(BARS_1M).count() == 11

    late = START + timedelta(minutes=5, seconds=30)  # 14:35:30, behind the newest trade by < 10 min
    too_late = START - timedelta(minutes=10)  # 14:20:00, behind the 14:30 floor of a 10-minute watermark
    received = minutes[-1] + timedelta(seconds=30)
    land(landing, trade_file(1, [line(received, frame([("AAPL", 999.0, late, 7.0), ("AAPL", 50.0, too_late, 3.0)]))],
                             received))
    second = run_available_now(lake, query_name="late", watermark=timedelta(minutes=10))
    assert [r.late_beyond_watermark for r in second] == [1]

    bar = lake.read(BARS_1M).where("minute_start = '2024-03-04 14:35:00'").first()
    assert (bar.trade_count, bar.high, bar.close, bar.volume) == (2, 999.0, 999.0, 17.0)  # merged, not appended
    assert lake.read(BARS_1M).count() == 11  # no bar for 14:20 yet ...
    assert lake.read(SILVER_TRADES).where("trade_ts = '2024-03-04 14:20:00'").count() == 1  # ... but the trade is kept
    rebuild_bars_day(lake, date(2024, 3, 4))
    assert rows(lake.read(BARS_1M)) == rows(build_bars_1m(lake.read(SILVER_TRADES)))
    assert lake.read(BARS_1M).count() == 12


def test_the_nightly_and_the_stream_never_take_the_same_file(lake, spark, run_available_now):
    landing = landing_root(lake.settings)
    files = synthetic_files(4, seed=5)
    land(landing, files[0])
    land(landing, files[1])
    nightly = bronze_trades(lake)
    assert nightly.notes[0].startswith("2 trade files")

    land(landing, files[2])
    reports = run_available_now(lake, query_name="share")  # Spark's source sees three new files
    assert [f for r in reports for f in r.taken] == [files[2].relative]
    assert sum(r.taken_before for r in reports) == 2

    land(landing, files[3])
    again = bronze_trades(lake)  # the nightly skips the file the stream took, takes the new one
    assert again.notes[0].startswith("1 trade files") and "3 taken before" in again.notes[0]
    last = run_available_now(lake, query_name="share")  # the stream sees it, and leaves it to the nightly
    assert [(r.taken, r.taken_before) for r in last] == [((), 1)]

    bronze, _, _ = expected_tables(spark, landing, files)
    assert rows(lake.read(BRONZE_TRADES)) == rows(bronze)  # every file exactly once
    # silver and bars are built by whoever took the file; here the stream owns only files[2]
    _, silver, bars = expected_tables(spark, landing, files[2:3])
    assert rows(lake.read(SILVER_TRADES)) == rows(silver)
    assert rows(lake.read(BARS_1M)) == rows(bars)
