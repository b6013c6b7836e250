"""finnhub.trades -> bronze.trades through a real broker and Spark's Kafka source: every record once, bad frames
and bad trades quarantined with their coordinates, the rest of the batch on to silver and bars."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

from jobs.ingest.consume import take
from jobs.ingest.finnhub_ws import FinnhubTradeCollector
from jobs.ingest.publish import Publisher, utc_now
from jobs.ingest.topics import FINNHUB_TRADES
from jobs.local.replay.finnhub_ws import FinnhubReplayConfig, FinnhubReplayThread
from jobs.trades.batch import trades_sink
from lake_schema.quarantine import QUARANTINE
from lake_schema.trades import BARS_1M, BRONZE_TRADES, SILVER_TRADES


def collect(kafka, config: FinnhubReplayConfig, symbols: list[str]):
    """The real collector against the replay server until it has sent everything; returns (stats, server)."""
    with FinnhubReplayThread(config) as server:
        collector = FinnhubTradeCollector(server.url, "key", symbols, Publisher(kafka, "finnhub-ws"),
                                          backoff_initial_s=0.05, backoff_max_s=0.5)

        async def run():
            stop = asyncio.Event()
            task = asyncio.create_task(collector.run(stop))
            while not server.finished.is_set():
                await asyncio.sleep(0.05)
            stop.set()
            return await asyncio.wait_for(task, timeout=60)

        return asyncio.run(run()), server


def test_every_record_reaches_bronze_once_and_rejects_are_quarantined(lake, kafka):
    config = FinnhubReplayConfig(trades_per_day=30, days=1, speedup=0, malformed_every=10)
    stats, server = collect(kafka, config, ["AAPL", "MSFT"])
    sent = server.sent
    publisher = Publisher(kafka, "test")  # a frame whose trade has no price, and one that is not a frame
    publisher.send(FINNHUB_TRADES, "IBM", '{"type":"trade","data":[{"s":"IBM","t":1262617200000,"v":1}]}', utc_now())
    publisher.send(FINNHUB_TRADES, None, '{"oops": true}', utc_now())
    publisher.close()

    first = take(lake, trades_sink())
    rows = lake.read(BRONZE_TRADES).collect()
    assert first.tables[BRONZE_TRADES.name] == len(sent) == len(rows) == stats.trades
    assert Counter((r["symbol"], int(r["trade_ts"].timestamp() * 1000), r["price"]) for r in rows) == \
        Counter((t["s"], t["t"], t["p"]) for t in sent)
    assert len({r["record_id"] for r in rows}) == len(rows)
    assert {r["kafka_topic"] for r in rows} == {kafka.topic(FINNHUB_TRADES)}
    assert {str(r["trade_date"]) for r in rows} == {"2009-08-21"}
    assert first.tables[SILVER_TRADES.name] == len(sent) and first.tables[BARS_1M.name] > 0

    quarantined = lake.read(QUARANTINE).where("target_table = 'bronze.trades'").collect()
    reasons = Counter(r["reason"] for r in quarantined)
    assert sum(stats.rejected.values()) == server.malformed_sent  # counted by the collector, still produced
    assert reasons["bad_trade"] == 1 + stats.rejected["trade_missing_field"]
    assert sum(reasons.values()) == server.malformed_sent + 2
    assert all(r["record_key"] == f"{r['kafka_topic']}:{r['kafka_partition']}:{r['kafka_offset']}"
               for r in quarantined)
    assert '{"oops": true}' in {json.loads(r["record"])["value"] for r in quarantined}

    again = take(lake, trades_sink())  # nothing new: nothing written
    assert again.tables == {} and lake.read(BRONZE_TRADES).count() == len(rows)

    frame = {"type": "trade", "data": [{"s": "GE", "p": 15.5, "t": 1262617200000, "v": 100, "c": ["1"]}]}
    later = Publisher(kafka, "test")  # a record produced later
    later.send(FINNHUB_TRADES, "GE", json.dumps(frame), utc_now())
    later.close()
    third = take(lake, trades_sink())
    assert third.tables[BRONZE_TRADES.name] == 1 and lake.read(BRONZE_TRADES).count() == len(rows) + 1
