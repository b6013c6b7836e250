"""Property tests of the websocket frame contract (`classify_frame`) and of the collector landing frames.

Whatever the socket delivers, the collector must not die: a frame is a trade,
a ping, or a rejection with a reason; and a real-shaped trade frame is never
refused.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from jobs.ingest.finnhub_ws import REJECTED_STREAM, TRADES_STREAM, FinnhubTradeCollector, classify_frame
from jobs.ingest.landing import landed_files, utc_now
from tests.hostile import HUGE_NUMBERS, ODD_TEXT, dumps, short
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


@given(st.lists(st.one_of(trade_frames.map(dumps), st.just(PING), hostile_frames, HUGE_NUMBERS.map(dumps),
                          ODD_TEXT), min_size=1, max_size=40))
def test_the_collector_lands_every_frame_but_pings(frames):
    """Through `_land`, the collector's real write path: each frame becomes one landed line, in the
    trades stream if it is a trade frame, else in the rejected stream with its reason."""
    with tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp)
        collector = FinnhubTradeCollector("ws://127.0.0.1:9", "k", ["AAPL"], landing)
        now = utc_now()
        for raw in frames:
            collector._land(now, raw)
        collector.trades.close()
        collector.rejected.close()
        landed = [json.loads(line) for path in landed_files(landing, TRADES_STREAM) for line in path.open()]
        rejected = [json.loads(line) for path in landed_files(landing, REJECTED_STREAM) for line in path.open()]
    kinds = [classify_frame(raw)[0] for raw in frames]
    assert len(landed) == kinds.count("trade") == collector.stats.trade_frames
    assert len(rejected) == kinds.count("reject") == sum(collector.stats.rejected.values())
    assert all(r["reason"] and isinstance(r["detail"], str) and isinstance(r["frame"], str) for r in rejected)
    texts = [raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw for raw in frames]
    assert [r["frame"] for r in landed] == [t for t, k in zip(texts, kinds) if k == "trade"]
