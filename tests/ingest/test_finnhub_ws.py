"""The trade collector against the websocket replay server, over real loopback sockets."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest

from jobs.ingest.finnhub_ws import AuthError, FinnhubTradeCollector, backoff_delay, classify_frame
from jobs.replay.finnhub_ws import MALFORMED_SAMPLES, FinnhubReplayConfig, FinnhubReplayThread
from tests.ingest.helpers import API_KEY, collect_from_replay, landed_trades


def _key(trade: dict) -> tuple:
    return (trade["s"], trade["t"], trade["p"], trade["v"])


def test_every_trade_sent_is_landed_exactly_once(tmp_path):
    config = FinnhubReplayConfig(trades_per_day=60, days=2, speedup=0, api_key=API_KEY)
    stats, sent, _ = collect_from_replay(tmp_path, config, ["AAPL", "MSFT", "IBM"], max_file_bytes=4000)
    landed = landed_trades(tmp_path)
    assert len(sent) == 3 * 60 * 2
    assert Counter(map(_key, landed)) == Counter(map(_key, sent))
    assert len(landed) == len(set(map(_key, landed)))  # exactly once
    assert stats.trades == len(sent) and stats.reconnects == 0
    assert len(stats.files) > 1  # rolled by size
    # files appear only complete: nothing is left in the temp folder, every line is whole JSON
    assert not list(tmp_path.glob("finnhub/*/_tmp/*"))
    for path in stats.files:
        assert path.parent.name.startswith("date=")
        for line in path.read_text().splitlines():
            assert set(json.loads(line)) == {"received_at", "frame"}


def test_dropped_connection_reconnects_resubscribes_and_loses_nothing(tmp_path):
    config = FinnhubReplayConfig(trades_per_day=80, days=1, speedup=0, api_key=API_KEY, drop_after_frames=25)
    stats, sent, server = collect_from_replay(tmp_path, config, ["AAPL", "MSFT"])
    assert server.drops == 1 and server.connections == 2
    assert stats.reconnects == 1 and stats.connects == 2
    assert server.frames_sent > 25  # the stream went on after the reconnect
    assert Counter(map(_key, landed_trades(tmp_path))) == Counter(map(_key, sent))


def test_malformed_frames_are_rejected_with_reasons_and_counted(tmp_path):
    config = FinnhubReplayConfig(trades_per_day=40, days=1, speedup=0, api_key=API_KEY, malformed_every=5)
    stats, sent, server = collect_from_replay(tmp_path, config, ["AAPL"])
    assert server.malformed_sent >= 5
    assert sum(stats.rejected.values()) == server.malformed_sent
    rejected = [json.loads(line) for p in tmp_path.glob("finnhub/rejected/date=*/*.ndjson") for line in p.read_text().splitlines()]
    assert len(rejected) == server.malformed_sent
    assert {r["frame"] for r in rejected} <= set(MALFORMED_SAMPLES)
    assert {"invalid_json", "not_an_object", "trade_without_data", "trade_missing_field"} <= {r["reason"] for r in rejected}
    assert Counter(map(_key, landed_trades(tmp_path))) == Counter(map(_key, sent))


def test_small_buffer_applies_backpressure_without_loss(tmp_path):
    config = FinnhubReplayConfig(trades_per_day=150, days=1, speedup=0, api_key=API_KEY)
    stats, sent, _ = collect_from_replay(tmp_path, config, ["AAPL", "MSFT"], buffer_size=3)
    assert stats.max_queue <= 3
    assert Counter(map(_key, landed_trades(tmp_path))) == Counter(map(_key, sent))


def test_wrong_key_is_refused_without_retrying_forever(tmp_path):
    with FinnhubReplayThread(FinnhubReplayConfig(api_key="right")) as server:
        collector = FinnhubTradeCollector(server.url, "wrong-key", ["AAPL"], tmp_path)
        with pytest.raises(AuthError) as caught:
            asyncio.run(asyncio.wait_for(collector.run(asyncio.Event()), timeout=10))
    assert "wrong-key" not in str(caught.value)
    assert server.connections == 0


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
