"""The intraday model's nightly step: walk-forward train + evaluate on silver.bars_1m, then register.

It is judged exactly like the daily model (jobs.models.training): folds are trading days, every baseline (the
random walk, last-bar momentum, drift, linear) is fitted on the same training samples and scored on the same rows,
and the run is one gold.model_runs row under the config's name. The freshness stream scores with it
(jobs.stream.live).
"""

from __future__ import annotations

import os
import time
from datetime import date

import pandas as pd
from pyspark.sql import functions as F

from jobs.models.config import IntradayConfig, load_intraday_config
from jobs.models.intraday import BAR_COLUMNS, IntradaySamples, build_intraday_samples
from jobs.models.training import fit_and_register, retrain_not_due
from jobs.resources.lake import Lake
from jobs.steps import StepReport, timed
from jobs.window import Window
from lake_schema.gold_sentiment import SENTIMENT_DAILY
from lake_schema.trades import BARS_1M


def intraday_config() -> IntradayConfig:
    """PULSELAKE_INTRADAY_CONFIG (a name under jobs/models/configs or a TOML path), default 'intraday'."""
    return load_intraday_config(os.environ.get("PULSELAKE_INTRADAY_CONFIG", "intraday"))


def read_bars(lake: Lake, config: IntradayConfig, symbols: list[str] | None = None, days: list[date] | None = None,
              until: date | None = None) -> pd.DataFrame:
    """silver.bars_1m as pandas: the config's symbols (or `symbols`), the given days or every day to `until`."""
    where = [("trade_date", "in", days)] if days else None
    bars = lake.read(BARS_1M, where=where).select(*BAR_COLUMNS)
    if until is not None:  # a run for an old window sees only the days up to its end
        bars = bars.where(F.col("trade_date") <= F.lit(until))
    wanted = symbols or config.symbols
    if wanted:
        bars = bars.where(F.col("symbol").isin(list(wanted)))
    return bars.toPandas()


def read_sentiment(lake: Lake, config: IntradayConfig, bars: pd.DataFrame) -> pd.DataFrame | None:
    """gold.sentiment_daily of the calendar days before the bars' trading days, or None (none, or not wanted)."""
    if not config.use_sentiment or bars.empty or not lake.exists(SENTIMENT_DAILY):
        return None
    days = pd.to_datetime(bars["trade_date"])
    first, last = (days.min() - pd.Timedelta(days=1)).date(), days.max().date()
    frame = (lake.read(SENTIMENT_DAILY).where((F.col("day") >= F.lit(first)) & (F.col("day") <= F.lit(last)))
             .select("ticker", "day", "mean_sentiment").toPandas())
    return None if frame.empty else frame


def load_intraday_samples(lake: Lake, config: IntradayConfig, until: date | None = None) -> tuple[pd.DataFrame, IntradaySamples]:
    bars = read_bars(lake, config, until=until)
    sentiment = read_sentiment(lake, config, bars)
    return bars, build_intraday_samples(bars, config, sentiment, with_sentiment=sentiment is not None)


@timed
def train_intraday(lake: Lake, window: Window, config: IntradayConfig | None = None, force: bool = False) -> StepReport:
    """Walk-forward evaluate the intraday config on the 1-minute bars to the window's end, fit the final model on
    every labelled window and register it; a lake with too few trading days of bars says so and trains nothing."""
    started = time.perf_counter()
    config = config or intraday_config()
    report = StepReport(f"models: train + evaluate {config.name} (next {config.horizon_minutes} min)")
    if not lake.exists(BARS_1M):
        report.notes.append("silver.bars_1m does not exist yet: nothing to train on")
        return report
    bars, windows = load_intraday_samples(lake, config, until=window.end)
    days = pd.to_datetime(bars["trade_date"]).drop_duplicates() if not bars.empty else pd.Series([], dtype="datetime64[ns]")
    needed = config.walk_forward.min_train_days
    labelled_days = len(set(windows.samples.date[windows.samples.labelled]))
    if labelled_days <= needed:
        report.notes.append(f"{labelled_days} trading day(s) of labelled 1-minute bars; the walk-forward needs more "
                            f"than min_train_days={needed}: nothing trained")
        return report
    data_end = days.max().date()
    if not force and (reason := retrain_not_due(lake, config, days, data_end)):
        report.skipped.append(reason)
        return report
    fit_and_register(lake, config, windows.samples, data_end, started, report)
    return report
