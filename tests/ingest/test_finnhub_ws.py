"""The trade collector against the websocket replay server over real loopback sockets, into a real Kafka broker."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from jobs.ingest.finnhub_ws import AuthError, FinnhubTradeCollector, backoff_delay, classify_frame
from jobs.ingest.publish import Publisher
from jobs.ingest.topics import FINNHUB_TRADES, RECEIVED_AT_HEADER, SOURCE_HEADER
from jobs.local.replay.finnhub_ws import MALFORMED_SAMPLES, FinnhubReplayConfig, FinnhubReplayThread
from tests.ingest.helpers import (API_KEY, WS_SOURCE, assert_same_trades, assert_symbol_order_kept,
                                  collect_from_replay, frames_of, kafka_trades, marks, read_records)


def test_every_trade_sent_reaches_kafka_exactly_once(kafka):
    config = FinnhubReplayConfig(trades_per_day=60, days=2, speedup=0, api_key=API_KEY)
    before = marks(kafka, FINNHUB_TRADES)
    started = datetime.now(timezone.utc)
    stats, sent, _ = collect_from_replay(kafka, config, ["AAPL", "MSFT", "IBM"])
    records = read_records(kafka, FINNHUB_TRADES, before)
    assert len(sent) == 3 * 60 * 2
    assert_same_trades(kafka_trades(kafka, before), sent)
    assert stats.trades == len(sent) and stats.reconnects == 0 and not stats.rejected
    # one record per trade frame, each a whole frame as received, acknowledged by Kafka before run() returned
    frames, others = frames_of(records)
    assert not others and len(records) == stats.trade_frames > 1
    assert stats.kafka["delivered"] == {FINNHUB_TRADES: len(records)} and stats.kafka["undelivered"] == 0
    assert all(classify_frame(r.value) == ("trade", len(f)) for r, f in zip(records, frames))
    assert_symbol_order_kept(records, sent)
    assert len({r.partition for r in records}) > 1  # keyed by symbol: spread over the topic's partitions
    for record in records:
        assert record.headers[SOURCE_HEADER] == WS_SOURCE.encode()
        received = datetime.fromisoformat(record.headers[RECEIVED_AT_HEADER].decode().replace("Z", "+00:00"))
        assert started - timedelta(seconds=1) <= received <= datetime.now(timezone.utc)


def test_dropped_connection_reconnects_resubscribes_and_loses_nothing(kafka):
    config = FinnhubReplayConfig(trades_per_day=80, days=1, speedup=0, api_key=API_KEY, drop_after_frames=25)
    before = marks(kafka, FINNHUB_TRADES)
    stats, sent, server = collect_from_replay(kafka, config, ["AAPL", "MSFT"])
    assert server.drops == 1 and server.connections == 2
    assert stats.reconnects == 1 and stats.connects == 2 and dict(stats.failures) == {"connection_reset": 1}
    assert server.frames_sent > 25 and len(server.sent_by_connection[2]) > 0  # the stream went on after it
    assert_same_trades(kafka_trades(kafka, before), sent)


def test_malformed_frames_are_counted_with_reasons_and_still_produced(kafka):
    """The collector decides nothing about a bad frame: it counts its reason and hands it to Kafka verbatim
    (bronze quarantines it with its topic, partition and offset)."""
    config = FinnhubReplayConfig(trades_per_day=40, days=1, speedup=0, api_key=API_KEY, malformed_every=5)
    before = marks(kafka, FINNHUB_TRADES)
    stats, sent, server = collect_from_replay(kafka, config, ["AAPL"])
    assert server.malformed_sent >= 5
    assert sum(stats.rejected.values()) == server.malformed_sent
    assert {"invalid_json", "not_an_object", "trade_without_data", "trade_missing_field"} <= set(stats.rejected)
    records = read_records(kafka, FINNHUB_TRADES, before)
    _, malformed = frames_of(records)
    expected = Counter(MALFORMED_SAMPLES[i % len(MALFORMED_SAMPLES)] for i in range(server.malformed_sent))
    assert Counter(r.text for r in malformed) == expected  # byte for byte, none dropped, none doubled
    assert len(records) == stats.trade_frames + server.malformed_sent
    assert stats.kafka["delivered"] == {FINNHUB_TRADES: len(records)}
    assert_same_trades(kafka_trades(kafka, before), sent)


def test_small_buffers_apply_backpressure_without_loss(kafka):
    """A 3-frame queue between socket and producer and a 4-record producer buffer: both fill, the collector
    waits (and with it the socket), and still every trade arrives once."""
    config = FinnhubReplayConfig(trades_per_day=150, days=1, speedup=0, api_key=API_KEY)
    before = marks(kafka, FINNHUB_TRADES)
    publisher = Publisher(kafka, WS_SOURCE, topics=(FINNHUB_TRADES,), buffer_records=4)
    stats, sent, _ = collect_from_replay(publisher, config, ["AAPL", "MSFT"], buffer_size=3)
    assert stats.max_queue <= 3
    assert stats.kafka["buffer_full_waits"] > 0, "the producer's buffer never filled: no backpressure tested"
    assert stats.kafka["undelivered"] == 0 and stats.kafka["delivered"] == {FINNHUB_TRADES: stats.trade_frames}
    assert_same_trades(kafka_trades(kafka, before), sent)


def test_wrong_key_is_refused_without_retrying_forever(kafka):
    before = marks(kafka, FINNHUB_TRADES)
    with FinnhubReplayThread(FinnhubReplayConfig(api_key="right")) as server:
        collector = FinnhubTradeCollector(server.url, "wrong-key", ["AAPL"],
                                          Publisher(kafka, WS_SOURCE, topics=(FINNHUB_TRADES,)))
        with pytest.raises(AuthError) as caught:
            asyncio.run(asyncio.wait_for(collector.run(asyncio.Event()), timeout=10))
    assert "wrong-key" not in str(caught.value)
    assert server.connections == 0 and len(server.handshakes) == 1  # refused once, not retried
    assert read_records(kafka, FINNHUB_TRADES, before) == []
    assert collector.stats.kafka["accepted"] == {}


@pytest.mark.parametrize("raw, expected", [
    ('{"type":"ping"}', ("ping", None)),
    ('{"type":"trade","data":[{"s":"A","p":1.5,"t":1,"v":2}]}', ("trade", 1)),
    ('{"type":"error","msg":"Subscribing to too many symbols"}', ("reject", "server_error")),
    ('{"type":"news"}', ("reject", "unknown_type")),
    ('{"type":"trade","data":[]}', ("reject", "trade_without_data")),
])
def test_classify_frame(raw, expected):
    kind, info = classify_frame(raw)
    assert kind == expected[0]
    assert (info[0] if kind == "reject" else info) == expected[1]


def test_backoff_is_exponential_and_capped():
    delays = [backoff_delay(n, 0.5, 8.0) for n in range(10)]
    assert 0.25 <= delays[0] <= 0.5
    assert all(d <= 8.0 for d in delays) and delays[-1] >= 4.0

