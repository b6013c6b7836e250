"""Landed trade files -> bronze.trades: each file exactly once, bad frames and trades quarantined."""

from __future__ import annotations

import json
from collections import Counter

from jobs.ingest.landing import LandingWriter, iso, landing_root, utc_now
from jobs.replay.finnhub_ws import FinnhubReplayConfig
from jobs.trades.bronze import bronze_trades
from lake_schema.quarantine import QUARANTINE
from lake_schema.trades import BRONZE_TRADES
from tests.ingest.helpers import collect_from_replay


def test_bronze_takes_each_landed_file_once_and_quarantines_rejects(lake):
    landing = landing_root(lake.settings)
    config = FinnhubReplayConfig(trades_per_day=30, days=1, speedup=0, malformed_every=10)
    stats, sent, server = collect_from_replay(landing, config, ["AAPL", "MSFT"])
    # one more hand-written file: a line that is not a landing record, and a trade without a price
    now = utc_now()
    with LandingWriter(landing, "finnhub/trades", prefix="trades") as writer:
        writer.write({"received_at": iso(now), "frame": '{"type":"trade","data":[{"s":"IBM","t":1262617200000,"v":1}]}'}, now.date())
        writer.write({"oops": True}, now.date())

    first = bronze_trades(lake)
    rows = lake.read(BRONZE_TRADES).collect()
    assert first.tables[BRONZE_TRADES.name] == len(sent) == len(rows)
    assert Counter((r["symbol"], int(r["trade_ts"].timestamp() * 1000), r["price"]) for r in rows) == \
        Counter((t["s"], t["t"], t["p"]) for t in sent)
    assert len({r["record_id"] for r in rows}) == len(rows)
    assert {str(r["trade_date"]) for r in rows} == {"2009-08-21"}
    assert first.quarantined["bad_trade"] == 1 and first.quarantined["malformed_landing_line"] == 1
    assert sum(v for k, v in first.quarantined.items() if k not in ("bad_trade", "malformed_landing_line")) == \
        server.malformed_sent  # the collector's rejected frames, with its reasons
    quarantined = lake.read(QUARANTINE).where("target_table = 'bronze.trades'").count()
    assert quarantined == server.malformed_sent + 2

    again = bronze_trades(lake)  # nothing new: nothing written
    assert again.tables == {} and lake.read(BRONZE_TRADES).count() == len(rows)
    assert lake.read(QUARANTINE).where("target_table = 'bronze.trades'").count() == quarantined

    with LandingWriter(landing, "finnhub/trades", prefix="trades") as writer:  # a new file arrives later
        frame = {"type": "trade", "data": [{"s": "GE", "p": 15.5, "t": 1262617200000, "v": 100, "c": ["1"]}]}
        writer.write({"received_at": iso(now), "frame": json.dumps(frame)}, now.date())
    third = bronze_trades(lake)
    assert third.tables[BRONZE_TRADES.name] == 1
    assert lake.read(BRONZE_TRADES).count() == len(rows) + 1
