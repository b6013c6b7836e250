"""The price medallion end to end on small files with every kind of bad input."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from jobs.pipeline.graph import select
from jobs.sources.bundled import BarFile
from jobs.window import Window
from lake_schema.prices import BRONZE_DAILY_BARS, DAILY_BAR_LINES, GOLD_DAILY_FEATURES, SILVER_DAILY_BARS, SYMBOLS
from lake_schema.quarantine import QUARANTINE

FIXTURES = Path(__file__).parent / "fixtures"
SP500_FORMAT = dict(
    fields={"trade_date": 0, "ticker": 1, "open": 2, "high": 3, "low": 4, "close": 5, "volume": 6},
    field_count=7, date_format="yyyyMMdd", priority=1, description="test fixture",
)
# What each line of bars_with_problems.csv is meant to trigger (the rest are good bars).
EXPECTED_QUARANTINE = {
    "malformed_row": 3,  # "abc" price, ISO date, two fields
    "out_of_order": 1,  # MSFT 2010-01-04 after 2010-01-06
    "duplicate_record": 1,  # AAPL 2010-01-05 twice
    "conflicting_duplicate": 2,  # MSFT 2010-01-05 with two closes
    "prices_positive": 1,
    "high_not_below_low": 1,
    "prices_present": 1,
    "unknown_ticker": 1,  # ZZZZ
    "volume_not_negative": 1,
    "date_not_after_ingest": 1,  # dated 2030
}


def bar_file(name: str) -> BarFile:
    return BarFile(source="sp500_2009", path=FIXTURES / name, **SP500_FORMAT)


def build(lake, files, ingest_date):
    """Every price step, as `pulselake nightly` runs them for "latest" on the run's day `ingest_date`."""
    window = Window.latest(datetime.combine(ingest_date, time(12), tzinfo=timezone.utc))
    return [step.run(lake, window, price_files=files) for step in select(groups=["prices"])]


def snapshot(lake, spec):
    return sorted(tuple(row) for row in lake.read(spec).collect())


@pytest.mark.slow
def test_every_bad_row_is_quarantined_with_its_reason_and_nothing_is_lost(lake):
    reports = build(lake, [bar_file("bars_with_problems.csv")], date(2026, 1, 5))

    quarantine = lake.read(QUARANTINE).groupBy("reason").count().collect()
    assert {r["reason"]: r["count"] for r in quarantine} == EXPECTED_QUARANTINE
    silver = lake.read(SILVER_DAILY_BARS)
    assert silver.count() == 7
    assert sorted((r.ticker, str(r.trade_date)) for r in silver.select("ticker", "trade_date").collect()) == [
        ("AAPL", "2010-01-04"), ("AAPL", "2010-01-05"), ("AAPL", "2010-01-06"), ("AAPL", "2010-01-07"),
        ("MSFT", "2010-01-04"), ("MSFT", "2010-01-06"), ("MSFT", "2010-01-08"),
    ]
    # 20 data lines in, every one accounted for: silver or quarantine.
    data_lines = lake.read(DAILY_BAR_LINES).where("line_number > 1").count()
    assert data_lines == 20 == silver.count() + sum(EXPECTED_QUARANTINE.values())
    # Each landed line carries its own 1-based number in the file.
    landed = {r.line_number: r.line for r in lake.read(DAILY_BAR_LINES).select("line_number", "line").collect()}
    assert landed == dict(enumerate(bar_file("bars_with_problems.csv").path.read_text().splitlines(), start=1))
    # The run reports the counts it quarantined and the rows it kept with a warning.
    reported = {}
    for report in reports:
        for reason, count in report.quarantined.items():
            reported[reason] = reported.get(reason, 0) + count
    assert reported == EXPECTED_QUARANTINE
    assert reports[3].warnings == {"open_close_within_range": 1}
    malformed = lake.read(QUARANTINE).where("reason = 'malformed_row'").select("detail").collect()
    assert any("unparsable open 'abc'" in r.detail for r in malformed)
    assert any("expected 7 fields, got 4" in r.detail for r in malformed)


@pytest.mark.slow
def test_returns_use_the_previous_trading_day_in_silver(lake):
    build(lake, [bar_file("bars_with_problems.csv")], date(2026, 1, 5))
    rows = {(r.ticker, str(r.trade_date)): r.return_1d for r in lake.read(SILVER_DAILY_BARS).collect()}
    assert rows[("AAPL", "2010-01-04")] is None
    assert rows[("AAPL", "2010-01-05")] == pytest.approx(214.38 / 214.01 - 1)
    # MSFT's 2010-01-05 was quarantined, so 01-06 compares with 01-04.
    assert rows[("MSFT", "2010-01-06")] == pytest.approx(30.77 / 30.95 - 1)


@pytest.mark.slow
def test_rerunning_the_same_range_leaves_every_table_identical(lake):
    files = [bar_file("bars_with_problems.csv")]
    build(lake, files, date(2026, 1, 5))
    tables = [DAILY_BAR_LINES, BRONZE_DAILY_BARS, SYMBOLS, SILVER_DAILY_BARS, GOLD_DAILY_FEATURES, QUARANTINE]
    before = {spec.name: snapshot(lake, spec) for spec in tables}
    reports = build(lake, files, date(2026, 1, 5))
    after = {spec.name: snapshot(lake, spec) for spec in tables}
    assert after == before
    assert reports[0].skipped and reports[1].skipped  # the file and its batch were recognised, not re-added


@pytest.mark.slow
def test_a_later_batch_restates_a_bar_and_the_latest_wins(lake):
    build(lake, [bar_file("bars_with_problems.csv")], date(2026, 1, 5))
    restated = [bar_file("bars_restated.csv")]
    build(lake, restated, date(2026, 1, 6))
    aapl = {str(r.trade_date): r for r in lake.read(SILVER_DAILY_BARS).where("ticker = 'AAPL'").collect()}
    assert aapl["2010-01-07"].close == 211.11
    assert aapl["2010-01-07"].ingest_date == date(2026, 1, 6)
    assert "2010-01-11" in aapl
    # Both landing batches stay in bronze: the older bar was superseded, not deleted.
    assert lake.read(BRONZE_DAILY_BARS).where("ticker = 'AAPL' AND trade_date = '2010-01-07'").count() == 2


@pytest.mark.slow
def test_a_run_as_of_an_earlier_day_leaves_later_landing_batches_alone(lake):
    """Wall-clock reads live at the edge: a run for an old day lands into that day and reads only what had landed by it."""
    build(lake, [bar_file("bars_with_problems.csv")], date(2026, 1, 5))
    land, bronze = select(names=["prices.land", "prices.bronze"])
    day = lambda d: Window.latest(datetime.combine(d, time(12), tzinfo=timezone.utc))  # noqa: E731
    land.run(lake, day(date(2026, 1, 6)), price_files=[bar_file("bars_restated.csv")])
    before = snapshot(lake, BRONZE_DAILY_BARS)
    rerun = bronze.run(lake, day(date(2026, 1, 5)))
    assert rerun.tables == {} and snapshot(lake, BRONZE_DAILY_BARS) == before
    later = bronze.run(lake, day(date(2026, 1, 6)))
    assert later.tables[BRONZE_DAILY_BARS.name] > 0
    assert {r.ingest_date for r in lake.read(BRONZE_DAILY_BARS).select("ingest_date").distinct().collect()} == {
        date(2026, 1, 5), date(2026, 1, 6)}


def test_gold_features_never_look_ahead(lake):
    """Changing every bar after day t leaves every feature at or before t unchanged."""
    from jobs.prices.gold import build_daily_features

    spark = lake.spark
    days = spark.range(60).select(
        F.lit("AAPL").alias("ticker"),
        F.date_add(F.lit(date(2010, 1, 1)), F.col("id").cast("int")).alias("trade_date"),
        (100 + F.sin(F.col("id")) * 5 + F.col("id")).alias("adj_close"),
        (1000 + F.col("id") * 10).cast("long").alias("volume"),
    ).withColumn("close", F.col("adj_close")).withColumn("high", F.col("adj_close") * 1.01).withColumn(
        "low", F.col("adj_close") * 0.99
    ).withColumn("trade_month", F.date_format("trade_date", "yyyy-MM"))
    from pyspark.sql import Window

    days = days.withColumn("return_1d", F.col("adj_close") / F.lag("adj_close").over(Window.orderBy("trade_date")) - 1)
    symbols = spark.createDataFrame([("AAPL", "IT")], "ticker STRING, sector STRING")
    cutoff = date(2010, 2, 10)
    honest = build_daily_features(days, symbols).where(F.col("trade_date") <= F.lit(cutoff))
    tampered_input = days.withColumn(
        "adj_close", F.when(F.col("trade_date") > F.lit(cutoff), F.col("adj_close") * 3).otherwise(F.col("adj_close"))
    ).withColumn("volume", F.when(F.col("trade_date") > F.lit(cutoff), F.lit(1)).otherwise(F.col("volume")))
    tampered = build_daily_features(tampered_input, symbols).where(F.col("trade_date") <= F.lit(cutoff))
    removed = build_daily_features(days.where(F.col("trade_date") <= F.lit(cutoff)), symbols)
    expected = sorted(tuple(r) for r in honest.collect())
    assert len(expected) == 41
    assert sorted(tuple(r) for r in tampered.collect()) == expected
    assert sorted(tuple(r) for r in removed.collect()) == expected
    # and the windows really are filled once 20 days exist
    assert honest.where("volatility_20d IS NOT NULL").count() == 41 - 20
