"""Property tests of bronze bar parsing (`parse_bar_lines`) over both bundled file formats, on real Spark.

Each example is one DataFrame: real-shaped bars in one file, damaged lines in
another (the out-of-order check runs per file, so a damaged line cannot push
a good one out of order). Every data line comes out once, as a bronze row or a
rejected row with a reason; an accepted line keeps its values; a real-shaped
bar is never rejected.
"""

from __future__ import annotations

import pytest

import hashlib
from datetime import date, datetime

from hypothesis import given
from hypothesis import strategies as st
from pyspark.sql import functions as F

from jobs.prices.bronze import parse_bar_lines
from jobs.sources.bundled import BarFile, bundled_bar_files
from lake_schema.prices import DAILY_BAR_LINES
from tests.hostile import HUGE_NUMBERS, ODD_TEXT, number, same_number, short, spark_examples

FILES = {f.source: f for f in bundled_bar_files()}
LANDED = datetime(2024, 3, 4, 15, 30)
PRICES = ("open", "high", "low", "close", "adj_close")

prices = st.integers(1, 10**9).map(lambda cents: f"{cents / 10_000:.4f}".rstrip("0").rstrip("."))
bars = st.fixed_dictionaries({
    "ticker": st.from_regex(r"[A-Z]{1,5}(\.[A-Z])?", fullmatch=True),
    "trade_date": st.dates(date(1962, 1, 2), date(2030, 12, 31)),
    "open": prices, "high": prices, "low": prices, "close": prices, "adj_close": prices,
    "volume": st.integers(0, 10**11).map(str),
})
odd_fields = st.one_of(ODD_TEXT, HUGE_NUMBERS.map(str), st.text(max_size=12),
                       st.sampled_from(["1.5", "-3", "1e3", "00000101", "99991231", "0001-01-01", "9999-12-31",
                                        "+10000-01-01", "2010-02-30", "20100230", " 12 ", "1,5"]))


def _line(bar_file: BarFile, bar: dict) -> str:
    fields = [""] * bar_file.field_count
    for name, position in bar_file.fields.items():
        value = bar[name]
        fields[position] = value.strftime("%Y%m%d" if bar_file.date_format == "yyyyMMdd" else "%Y-%m-%d") \
            if isinstance(value, date) else value
    return ",".join(fields)


odd_numbers = st.one_of(HUGE_NUMBERS.map(str), st.floats().map(repr), st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "1.5", "0.5", "1e30", "-1e30", "1e400", "9223372036854775808", "-0", "1_000"]))


def _swap(text: str, position: int, value: str) -> str:
    return ",".join(value if n == position else f for n, f in enumerate(text.split(",")))


def _damaged(bar_file: BarFile) -> st.SearchStrategy[str]:
    """A real line of this format with one field swapped for garbage (a number field for an odd number,
    often), one too many or few, or cut short."""
    line = bars.map(lambda b: _line(bar_file, b))
    numeric = [bar_file.fields[n] for n in (*PRICES, "volume") if n in bar_file.fields]
    return st.one_of(
        st.builds(_swap, line, st.sampled_from(numeric), odd_numbers),
        st.builds(_swap, line, st.just(bar_file.fields["volume"]), odd_numbers),
        st.builds(_swap, line, st.integers(0, bar_file.field_count - 1), odd_fields),
        st.builds(lambda text, odd: f"{text},{odd}", line, odd_fields),
        line.map(lambda text: text.rsplit(",", 1)[0]),
        line.flatmap(lambda text: st.integers(0, len(text) - 1).map(lambda i: text[:i])),
        st.text(max_size=60), odd_fields,
    )


@st.composite
def files(draw, bar_file: BarFile):
    """(good bars sorted as a file is, damaged lines) of one format."""
    good = sorted(draw(st.lists(bars, min_size=10, max_size=30)), key=lambda b: b["trade_date"])
    return good, draw(st.lists(_damaged(bar_file), min_size=15, max_size=40))


def _frame(spark, bar_file: BarFile, good: list[dict], damaged: list[str]):
    rows = []
    for sha, lines in (("good", [_line(bar_file, b) for b in good]), ("damaged", damaged)):
        rows += [(bar_file.source, "file.csv", sha, n, text, LANDED, date(2024, 3, 4))
                 for n, text in enumerate(["header", *lines], 1)]
    rows.append(("no_such_source", "x.csv", "other", 2, _line(bar_file, good[0]), LANDED, date(2024, 3, 4)))
    return spark.createDataFrame(rows, DAILY_BAR_LINES.spark_ddl())


def _check(spark, bar_file: BarFile, good: list[dict], damaged: list[str]) -> None:
    bronze, rejected = parse_bar_lines(_frame(spark, bar_file, good, damaged), list(FILES.values()))
    ids = {hashlib.sha256(f"{sha}:{n}".encode()).hexdigest(): (sha, n)
           for sha, count in (("good", len(good)), ("damaged", len(damaged))) for n in range(2, count + 2)}
    rows = bronze.select("record_id", "ticker", F.col("trade_date").cast("string").alias("day"), *PRICES,
                         "volume").collect()
    kept = {ids[r["record_id"]]: r for r in rows}
    bad = rejected.select("file_sha256", "line_number", "line", "reason", "detail").collect()
    assert len(kept) == len(rows), "a line became two rows"
    assert all(r["reason"] and r["detail"] for r in bad), short([r for r in bad if not (r["reason"] and r["detail"])])
    rejected_keys = [(r["file_sha256"], r["line_number"]) for r in bad]
    assert len(rejected_keys) == len(set(rejected_keys)), "a line was rejected twice"
    assert ("other", 2) in rejected_keys  # a line no parser knows is a reason, not a loss

    for n, bar in enumerate(good, 2):  # real-shaped bars: all kept, every value as written
        row = kept.get(("good", n))
        assert row is not None, short((bar, [r for r in bad if r["line_number"] == n and r["file_sha256"] == "good"]))
        assert row["ticker"] == bar["ticker"] and row["day"] == bar["trade_date"].isoformat()
        for name in PRICES:
            expected = float(bar[name]) if name in bar_file.fields else None
            assert row[name] == expected, (name, bar, row)
        assert row["volume"] == int(bar["volume"])

    for n, text in enumerate(damaged, 2):  # damaged lines: kept whole, or rejected with a reason
        key = ("damaged", n)
        assert (key in kept) != (key in rejected_keys), short((text, "lost or kept and rejected"))
        row = kept.get(key)
        if row is None:
            continue
        fields = [f.strip(" ") for f in text.split(",")]
        assert len(fields) == bar_file.field_count and row["ticker"] and row["day"], short((text, row))
        for name in (*PRICES, "volume"):
            if name not in bar_file.fields:
                continue
            sent, value = fields[bar_file.fields[name]], row[name]
            assert (value is None) == (sent == ""), short((name, text, row))
            if value is not None and number(sent) is not None:  # the value Python reads in the text, exactly
                assert same_number(value, sent), short((name, text, row))


@pytest.mark.slow
@spark_examples(5)
@given(files(FILES["quandl_wiki"]))
def test_quandl_lines_are_kept_whole_or_rejected_with_a_reason(spark, file):
    _check(spark, FILES["quandl_wiki"], *file)


@spark_examples(5)
@given(files(FILES["sp500_2009"]))
def test_sp500_lines_are_kept_whole_or_rejected_with_a_reason(spark, file):
    _check(spark, FILES["sp500_2009"], *file)
