"""Seeded landed trade files shaped exactly like the collector's, and landing them atomically."""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pyspark.sql import SparkSession

from jobs.ingest.finnhub_ws import TRADES_STREAM
from jobs.ingest.landed import LandedFile
from jobs.ingest.landing import TMP_DIR, iso
from jobs.stream.batch import read_files
from jobs.trades.bronze import parse_trade_lines
from jobs.trades.silver import build_bars_1m, build_silver_trades

START = datetime(2024, 3, 4, 14, 30, tzinfo=timezone.utc)
SYMBOLS = ("AAPL", "MSFT", "IBM")


@dataclass(frozen=True)
class TradeFile:
    name: str
    day: str
    text: str

    @property
    def relative(self) -> str:
        return f"{TRADES_STREAM}/date={self.day}/{self.name}"


def frame(trades: list[tuple[str, float, datetime, float]]) -> str:
    return json.dumps({"type": "trade", "data": [
        {"s": s, "p": p, "t": int(t.timestamp() * 1000), "v": v, "c": ["1"]} for s, p, t, v in trades]})


def line(received: datetime, frame_text: str) -> str:
    return json.dumps({"received_at": iso(received), "frame": frame_text}, separators=(",", ":"))


def trade_file(index: int, lines: list[str], received: datetime) -> TradeFile:
    name = f"trades-{received:%Y%m%dT%H%M%S%f}-{index:04d}.ndjson"
    return TradeFile(name, f"{received:%Y-%m-%d}", "\n".join(lines) + "\n")


def synthetic_files(count: int, seed: int = 1, lines_per_file: int = 6, trades_per_line: int = 4,
                    start: datetime = START) -> list[TradeFile]:
    """`count` files, 20 s of exchange time each, with out-of-order trades (up to 90 s late), a frame
    re-sent in the next file, and one unparsable line: what a real feed and collector produce."""
    rng = random.Random(seed)
    files, previous_lines = [], []
    prices = {s: 100.0 + 10 * i for i, s in enumerate(SYMBOLS)}
    for index in range(count):
        base = start + timedelta(seconds=20 * index)
        lines = []
        for n in range(lines_per_file):
            trades = []
            for _ in range(trades_per_line):
                symbol = rng.choice(SYMBOLS)
                prices[symbol] = round(prices[symbol] + rng.uniform(-0.5, 0.5), 2)
                late = timedelta(seconds=rng.uniform(30, 90)) if rng.random() < 0.1 else timedelta(0)
                ts = base + timedelta(seconds=n * 3 + rng.uniform(0, 3)) - late
                trades.append((symbol, prices[symbol], ts, float(rng.randint(1, 500))))
            lines.append(line(base + timedelta(seconds=n * 3 + 3.2), frame(trades)))
        if previous_lines:  # the feed re-sends a frame: the same trades, received again later
            resent = json.loads(rng.choice(previous_lines))["frame"]
            lines.insert(rng.randint(0, len(lines)), line(base + timedelta(seconds=19), resent))
        if index == 1:
            lines.append('{"received_at": "not a time", "frame": "{}"}')
        previous_lines = [l for l in lines if "not a time" not in l]
        files.append(trade_file(index, lines, base + timedelta(seconds=20)))
    return files


def land(landing: Path, file: TradeFile) -> Path:
    """Write under _tmp/ and rename into the date folder, as `LandingWriter.roll` does."""
    tmp = landing / TRADES_STREAM / TMP_DIR
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / file.name).write_text(file.text, encoding="utf-8")
    final = landing / file.relative
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp / file.name, final)
    return final


def expected_tables(spark: SparkSession, landing: Path, files: list[TradeFile]):
    """(bronze, silver, bars) the batch definitions give over all files at once."""
    bronze, _ = parse_trade_lines(read_files(spark, [LandedFile(landing / f.relative, f.relative) for f in files]))
    silver, _ = build_silver_trades(bronze)
    return bronze, silver, build_bars_1m(silver)


def expected_quarantine(spark: SparkSession, landing: Path, files: list[TradeFile]) -> Counter:
    """Reasons and counts the batch definitions reject over all files at once."""
    landed = [LandedFile(landing / f.relative, f.relative) for f in files]
    bronze, bad_lines = parse_trade_lines(read_files(spark, landed))
    _, rejected = build_silver_trades(bronze)
    return Counter(r.reason for r in bad_lines.select("reason").unionByName(rejected.select("reason")).collect())


def rows(df, columns=None) -> list[tuple]:
    """Every row as a tuple (floats rounded), sorted: for exact multiset comparison."""
    def norm(value):
        if isinstance(value, float):
            return round(value, 9)
        if isinstance(value, list):
            return tuple(value)
        return value

    selected = df.select(*(columns or df.columns))
    return sorted(tuple(norm(v) for v in r) for r in selected.collect())
