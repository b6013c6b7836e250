"""Property tests of bronze trade parsing (`parse_trade_lines`, `parse_rejected_lines`) on real Spark.

Each example is one DataFrame of many landed lines (one Spark job, not one per
line). Hostile lines never fail the job: each comes out as a bronze row or a
rejected row with a reason, and an accepted trade keeps every value it was
sent. Real-shaped frames come out whole.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st
from pyspark.sql import functions as F

from jobs.ingest.landed import LINES_DDL
from jobs.trades.bronze import parse_rejected_lines, parse_trade_lines
from tests.hostile import ODD_TEXT, dumps, hostile_text, integer, json_values, same_number, short, spark_examples
from tests.ingest.strategies import (frames_with_a_broken_trade, frames_with_an_odd_number, hostile_frame_texts,
                                     trade_frames)

RECEIVED = "2024-03-04T15:30:00.123456Z"
SOURCE = "finnhub/trades/date=2024-03-04/trades-1.ndjson"
SPARK_EXAMPLES = spark_examples(8)


def _landed(frame_text: str, received_at: object = RECEIVED) -> str:
    return json.dumps({"received_at": received_at, "frame": frame_text}, ensure_ascii=False, allow_nan=True)


# (landed line, the trades it carries when known, whether it is valid)
valid_lines = trade_frames.map(lambda f: (_landed(dumps(f)), f["data"], True))
damaged_trade_lines = (frames_with_a_broken_trade | frames_with_an_odd_number).map(
    lambda f: (_landed(dumps(f)), f["data"], False))
hostile_frame_lines = hostile_frame_texts.map(lambda text: (_landed(text), None, False))
hostile_received_lines = st.builds(lambda f, r: (_landed(dumps(f), r), None, False), trade_frames,
                                   json_values | ODD_TEXT | st.just("+10000-01-01T00:00:00Z"))
hostile_lines = hostile_text(valid_lines.map(lambda c: c[0])).map(lambda text: (text, None, False))
cases = st.lists(st.one_of(valid_lines, damaged_trade_lines, hostile_frame_lines, hostile_received_lines,
                           hostile_lines), min_size=25, max_size=50)


def _lines(spark, texts):
    return spark.createDataFrame([(SOURCE, i + 1, t) for i, t in enumerate(texts)], LINES_DDL)


def _record_id(line_number: int, position: int) -> str:
    return hashlib.sha256(f"{SOURCE}:{line_number}:{position}".encode()).hexdigest()


@SPARK_EXAMPLES
@given(cases)
def test_every_landed_line_is_kept_or_rejected_with_a_reason(spark, cases):
    bronze, rejected = parse_trade_lines(_lines(spark, [line for line, _, _ in cases]))
    rows = bronze.select("record_id", "line_number", "symbol", "price", "volume", "conditions",
                         F.unix_millis("trade_ts").alias("t"), F.col("trade_date").cast("string").alias("day"),
                         F.unix_micros("received_at").alias("received")).collect()
    bad = rejected.collect()

    assert all(r["reason"] and r["detail"] for r in bad), short([r for r in bad if not (r["reason"] and r["detail"])])
    bad_lines = {r["line_number"] for r in bad if r["reason"] != "bad_trade"}
    bad_trades: dict[int, int] = {}
    for r in bad:
        if r["reason"] == "bad_trade":
            bad_trades[r["line_number"]] = bad_trades.get(r["line_number"], 0) + 1
    kept: dict[int, list] = {}
    for r in rows:
        kept.setdefault(r["line_number"], []).append(r)
    assert len(bad_lines) == sum(1 for r in bad if r["reason"] != "bad_trade")  # a bad line is rejected once
    for number, (line, sent, valid) in enumerate(cases, 1):
        assert (number in bad_lines) != (number in kept or number in bad_trades), short((line, "lost or doubled"))
        if valid:
            refused = [r for r in bad if r["line_number"] == number]
            assert number not in bad_lines and number not in bad_trades, short((line, refused))
        if sent is None or number in bad_lines:
            continue
        assert len(kept.get(number, [])) + bad_trades.get(number, 0) == len(sent), short(line)
        by_id = {r["record_id"]: r for r in kept.get(number, [])}
        for position, trade in enumerate(sent):
            row = by_id.get(_record_id(number, position))
            if row is None:
                continue
            # kept means kept whole: every value the trade was sent with survives
            if isinstance(trade["s"], str) and trade["s"].isascii():
                assert row["symbol"] == trade["s"].strip(" ").upper(), short((trade, row))
            assert row["symbol"], short((trade, row))
            assert same_number(row["price"], trade["p"]), short((trade, row))
            assert integer(trade["t"]) == row["t"] and not isinstance(trade["t"], (bool, float)), short((trade, row))
            assert row["day"] == datetime.fromtimestamp(trade["t"] / 1000, timezone.utc).date().isoformat()
            if trade.get("v") is not None:
                assert same_number(row["volume"], trade["v"]), short((trade, row))
            if trade.get("c") is not None:  # kept: as sent when a list of texts, else as JSON text
                assert row["conditions"] is not None, short((trade, row))
                if isinstance(trade["c"], list) and all(isinstance(c, str) for c in trade["c"]):
                    assert row["conditions"] == trade["c"], short((trade, row))
            if valid:
                assert row["received"] == 1709566200123456


@SPARK_EXAMPLES
@given(st.lists(st.one_of(
    st.builds(lambda r, d, f: json.dumps({"received_at": RECEIVED, "reason": r, "detail": d, "frame": f}),
              st.sampled_from(["invalid_json", "unknown_type"]) | json_values, json_values, st.text(max_size=30)),
    hostile_text(st.just(json.dumps({"received_at": RECEIVED, "reason": "invalid_json", "detail": "", "frame": "x"}))),
    st.builds(lambda r: json.dumps({"received_at": r, "reason": "x", "detail": "y", "frame": "z"}),
              json_values | ODD_TEXT | st.just("+10000-01-01T00:00:00Z")),
), min_size=25, max_size=50))
def test_every_collector_rejection_reaches_quarantine_with_a_reason(spark, lines):
    out = parse_rejected_lines(_lines(spark, lines)).collect()  # collecting: every date is a date Python holds
    assert sorted(r["line_number"] for r in out) == list(range(1, len(lines) + 1))
    assert all(r["reason"] and r["reason"].strip() and r["detail"] is not None for r in out), short(out)
