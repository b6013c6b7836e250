"""A small but complete lake for the read-side tests (notebooks, dashboard), built once per session
by the project's own pipeline steps:

* prices: four real tickers (AAPL, GOOG, IBM, MSFT, 2009-09 .. 2010-03) cut from the bundled
  Quandl file, plus tests/prices/fixtures/bars_with_problems.csv so the quarantine has every reason;
* Reddit: posts and their sentiment written straight to silver (seeded, deterministic), then the
  real gold sentiment step (daily, per subreddit, post price windows, lead-lag);
* models: two real walk-forward train + register runs (data to February, then March) and scoring,
  with a tiny network;
* trades: tests/trades/fixtures/bronze_trades.csv through the real silver transform.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import shutil
import time as clock
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import numpy as np

from jobs.window import Window

TESTS = Path(__file__).parent
TICKERS = ("AAPL", "GOOG", "IBM", "MSFT")
FIRST, LAST = "2009-09-01", "2010-03-31"
SUBREDDITS = ("wallstreetbets", "stocks")
MODEL_NAME = "tiny"


def ensure_small_lake(spark, root: Path) -> Path:
    """Build the lake under `root` unless an earlier test of this session already did."""
    done = root / "_built"
    if not done.exists():
        from jobs.resources.lake import Lake
        from jobs.resources.settings import Settings

        shutil.rmtree(root, ignore_errors=True)  # an earlier attempt that failed half-way
        root.mkdir(parents=True)
        build_small_lake(Lake(spark, Settings(lake_root=str(root / "lake"), spark_master="local[2]")), root / "inputs")
        done.touch()
    return root / "lake"


def build_small_lake(lake, work: Path) -> None:
    from jobs.gold_sentiment import steps as gold_sentiment
    from jobs.models import steps as models
    from jobs.prices import steps as prices
    from jobs.sources.bundled import bundled_bar_files
    from tests.models.synthetic import tiny_config

    work.mkdir(parents=True, exist_ok=True)
    quandl, sp500 = bundled_bar_files()
    files = [
        dataclasses.replace(quandl, path=_cut_quandl(quandl.path, work / "bars_small.csv")),
        dataclasses.replace(sp500, path=TESTS / "prices" / "fixtures" / "bars_with_problems.csv"),
    ]
    window = Window.latest(datetime(2026, 1, 5, 12, tzinfo=timezone.utc))

    def configured(end: date | None):
        config = tiny_config(name=MODEL_NAME)
        config.network.epochs = 1
        config.walk_forward.max_folds = 2
        config.universe.end = end
        return config

    steps = [
        ("land", lambda: prices.land(lake, window, files)),
        ("bronze", lambda: prices.bronze(lake, window)),
        ("symbols", lambda: prices.symbols(lake, window)),
        ("silver", lambda: prices.silver(lake, window)),
        ("gold", lambda: prices.gold(lake, window)),
        ("reddit silver", lambda: _write_reddit(lake)),
        ("gold sentiment", lambda: gold_sentiment.build(lake, window, scorer="vader")),
        # Two real runs, a month apart in data, so "model vs baselines over time" has a history.
        ("train to February", lambda: models.train_and_evaluate(lake, window, configured(date(2010, 2, 26)))),
        ("train to March", lambda: models.train_and_evaluate(lake, window, configured(None))),
        ("score", lambda: models.score(lake, window, MODEL_NAME)),
        ("trades", lambda: _write_trades(lake)),
    ]
    for label, step in steps:
        started = clock.perf_counter()
        step()
        print(f"small lake: {label} {clock.perf_counter() - started:.1f} s")


def _cut_quandl(source: Path, target: Path) -> Path:
    with gzip.open(source, "rt") as handle, target.open("w", newline="") as out:
        reader, writer = csv.reader(handle), csv.writer(out)
        writer.writerow(next(reader))
        for row in reader:
            if row[0] in TICKERS and FIRST <= row[1] <= LAST:
                writer.writerow(row)
    return target


def _full_rows(spec, rows: list[dict]) -> list[dict]:
    defaults = {"string": "", "long": 0, "int": 0, "double": 0.0, "boolean": False,
                "date": date(2010, 1, 1), "timestamp": datetime(2010, 1, 1, tzinfo=timezone.utc)}
    return [{c.name: row.get(c.name, None if c.nullable else defaults[c.type]) for c in spec.columns} for row in rows]


def _write_reddit(lake) -> None:
    """Posts on most trading days, sentiment leaning with the next day's move for AAPL only
    (so the notebooks have one ticker with something to find), noise elsewhere."""
    from lake_schema.prices import SILVER_DAILY_BARS
    from lake_schema.reddit import SILVER_REDDIT_POSTS
    from lake_schema.sentiment import POST_SENTIMENT

    rng = np.random.default_rng(11)
    bars = lake.read(SILVER_DAILY_BARS).select("ticker", "trade_date", "return_1d").toPandas()
    bars = bars.sort_values(["ticker", "trade_date"])
    bars["next_return"] = bars.groupby("ticker").return_1d.shift(-1)
    posts, scores = [], []
    scored_at = datetime(2010, 4, 1, tzinfo=timezone.utc)
    for row in bars.itertuples():
        for n in range(int(rng.integers(0, 3))):
            subreddit = SUBREDDITS[int(rng.integers(0, len(SUBREDDITS)))]
            created = datetime.combine(row.trade_date, time(15, 0), timezone.utc) + timedelta(minutes=int(rng.integers(0, 300)))
            lean = 20 * row.next_return if row.ticker == "AAPL" and row.next_return == row.next_return else 0.0
            score = float(np.clip(lean + rng.normal(0, 0.4), -1, 1))
            post_id = f"{row.ticker.lower()}{row.trade_date:%Y%m%d}{n}"
            month = f"{created:%Y-%m}"
            posts.append({"post_id": post_id, "subreddit": subreddit, "author": f"user{int(rng.integers(0, 40))}",
                          "title": f"{row.ticker} thoughts", "created_at": created, "created_month": month,
                          "score": int(rng.integers(0, 200)), "first_fetched_at": created + timedelta(hours=1),
                          "last_fetched_at": created + timedelta(hours=2), "times_fetched": 1})
            label = "bullish" if score > 0.2 else "bearish" if score < -0.2 else "neutral"
            scores.append({"id": post_id, "kind": "post", "subreddit": subreddit, "created_at": created,
                           "created_month": month, "ticker": row.ticker, "scorer": "vader", "scorer_version": "v1",
                           "score": score, "label": label, "scored_at": scored_at})
    for spec, rows in ((SILVER_REDDIT_POSTS, posts), (POST_SENTIMENT, scores)):
        lake.overwrite(spec, lake.spark.createDataFrame(_full_rows(spec, rows), schema=spec.spark_ddl()))


def bronze_trades_fixture(spark):
    """tests/trades/fixtures/bronze_trades.csv as bronze.trades rows (shared with the trades tests)."""
    from pyspark.sql import functions as F

    raw = spark.read.option("header", True).csv(str(TESTS / "trades" / "fixtures" / "bronze_trades.csv"))
    return raw.select(
        "record_id", "symbol", F.col("price").cast("double").alias("price"), F.col("volume").cast("double").alias("volume"),
        F.to_timestamp("trade_ts").alias("trade_ts"), F.split("conditions", ";").alias("conditions"),
        F.to_timestamp("received_at").alias("received_at"), "kafka_topic",
        F.col("kafka_partition").cast("int").alias("kafka_partition"), F.col("kafka_offset").cast("long").alias("kafka_offset"),
        F.to_date(F.to_timestamp("trade_ts")).alias("trade_date"),
    )


def _write_trades(lake) -> None:
    from jobs.trades.silver import build_silver_trades
    from lake_schema.trades import SILVER_TRADES

    silver, _ = build_silver_trades(bronze_trades_fixture(lake.spark))
    lake.append(SILVER_TRADES, silver)
