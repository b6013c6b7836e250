"""Property tests of the websocket frame contract (`classify_frame`) and of the collector producing frames.

Whatever the socket delivers, the collector must not die: a frame is a trade,
a ping, or a rejection with a reason; and a real-shaped trade frame is never
refused.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.ingest.finnhub_ws import FinnhubTradeCollector, classify_frame, frame_key
from jobs.ingest.publish import Publisher, iso, utc_now
from jobs.ingest.topics import FINNHUB_TRADES, RECEIVED_AT_HEADER, SOURCE_HEADER
from tests.hostile import HUGE_NUMBERS, ODD_TEXT, dumps, short
from tests.ingest.helpers import broker_settings, marks, read_records
from tests.ingest.strategies import PING, hostile_frames, trade_frames


def _check_outcome(raw: str | bytes, kind: str, info: object) -> None:
    assert kind in ("trade", "ping", "reject"), kind
    if kind == "reject":
        reason, detail = info
        assert isinstance(reason, str) and reason.strip(), short(raw)
        assert isinstance(detail, str), short(raw)
    elif kind == "trade":  # the contract the bronze job relies on
        frame = json.loads(raw)
        assert frame["type"] == "trade" and info == len(frame["data"]) > 0
        assert all(isinstance(t, dict) and {"s", "p", "t"} <= set(t) for t in frame["data"])


@given(hostile_frames)
def test_hostile_frames_are_classified_never_raised(raw):
    kind, info = classify_frame(raw)
    _check_outcome(raw, kind, info)


@given(trade_frames, st.booleans())
def test_real_trade_frames_are_never_rejected(frame, as_bytes):
    text = dumps(frame)
    assert classify_frame(text.encode() if as_bytes else text) == ("trade", len(frame["data"]))
    assert classify_frame(PING) == ("ping", None)


@pytest.fixture(scope="module")
def topics(kafka_broker):
    """Topics of this module's own on the session broker (examples measure what each of them added)."""
    return broker_settings(kafka_broker)


@settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow])  # each example round-trips Kafka
@given(st.lists(st.one_of(trade_frames.map(dumps), st.just(PING), hostile_frames, HUGE_NUMBERS.map(dumps),
                          ODD_TEXT), min_size=1, max_size=40))
def test_the_collector_produces_every_frame_but_pings(topics, frames):
    """Through `_produce`, the collector's real write path, into a real broker: every frame but a ping becomes
    one record holding it byte for byte, keyed by its first trade's symbol (frames of one key in order), and
    is counted as a trade frame or as a rejection with its reason (bronze quarantines those)."""
    before = marks(topics, FINNHUB_TRADES)
    publisher = Publisher(topics, "prop", topics=(FINNHUB_TRADES,))
    collector = FinnhubTradeCollector("ws://127.0.0.1:9", "k", ["AAPL"], publisher)
    now = utc_now()

    async def produce_all() -> None:
        for raw in frames:
            await collector._produce(now, raw)

    asyncio.run(produce_all())
    publisher.close(60)
    records = read_records(topics, FINNHUB_TRADES, before)
    outcomes = [classify_frame(raw) for raw in frames]
    kinds = [kind for kind, _ in outcomes]
    wanted = [raw.encode() if isinstance(raw, str) else raw for raw, kind in zip(frames, kinds) if kind != "ping"]
    assert collector.stats.pings == kinds.count("ping")
    assert collector.stats.trade_frames == kinds.count("trade")
    assert collector.stats.rejected == Counter(info[0] for kind, info in outcomes if kind == "reject")
    assert publisher.stats.delivered == Counter({FINNHUB_TRADES: len(wanted)} if wanted else {})
    assert Counter(r.value for r in records) == Counter(wanted), "a frame was lost, doubled or altered"
    assert all(r.key == frame_key(r.value) for r in records)
    assert all(r.headers == {RECEIVED_AT_HEADER: iso(now).encode(), SOURCE_HEADER: b"prop"} for r in records)
    for key in {r.key for r in records} - {None}:  # one key: one partition, in the order received
        assert len({r.partition for r in records if r.key == key}) == 1
        assert [r.value for r in records if r.key == key] == [v for v in wanted if frame_key(v) == key]
