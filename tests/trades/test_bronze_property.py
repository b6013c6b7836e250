"""Property tests of bronze trade parsing (`parse_trade_records`) on real Spark.

Each example is one DataFrame of many Kafka records (one Spark job, not one per
record). Hostile values never fail the job: each comes out as bronze rows or a
rejected row with a reason, and an accepted trade keeps every value it was
sent. Real-shaped frames come out whole.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st
from pyspark.sql import functions as F

from jobs.trades.bronze import parse_trade_records
from tests.hostile import dumps, hostile_text, integer, same_number, short, spark_examples
from tests.ingest.strategies import (frames_with_a_broken_trade, frames_with_an_odd_number, hostile_frame_texts,
                                     trade_frames)
from tests.kafka_records import records

TOPIC = "finnhub.trades"
SPARK_EXAMPLES = spark_examples(8)

# (record value, the trades it carries when known, whether it is valid)
valid_frames = trade_frames.map(lambda f: (dumps(f), f["data"], True))
damaged_trade_frames = (frames_with_a_broken_trade | frames_with_an_odd_number).map(
    lambda f: (dumps(f), f["data"], False))
hostile_frames = hostile_frame_texts.map(lambda text: (text, None, False))
hostile_values = hostile_text(valid_frames.map(lambda c: c[0])).map(lambda text: (text, None, False))
cases = st.lists(st.one_of(valid_frames, damaged_trade_frames, hostile_frames, hostile_values),
                 min_size=25, max_size=50)


def _record_id(offset: int, position: int) -> str:
    return hashlib.sha256(f"{TOPIC}:0:{offset}:{position}".encode()).hexdigest()


@SPARK_EXAMPLES
@given(cases)
def test_every_record_is_kept_or_rejected_with_a_reason(spark, cases):
    bronze, rejected = parse_trade_records(records(spark, [value for value, _, _ in cases], TOPIC))
    rows = bronze.select("record_id", F.col("kafka_offset").alias("line_number"), "symbol", "price", "volume", "conditions",
                         F.unix_millis("trade_ts").alias("t"), F.col("trade_date").cast("string").alias("day"),
                         F.unix_micros("received_at").alias("received")).collect()
    bad = [{**r.asDict(), "line_number": r["kafka_offset"]} for r in rejected.collect()]

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

