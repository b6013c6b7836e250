"""What the intraday model reads: its config, silver.bars_1m and the daily sentiment as pandas, cut into windows.
The step that trains it (jobs/models/steps.py) judges it exactly like the daily model; the stream scores with it
(jobs/models/live.py)."""

from __future__ import annotations

from datetime import date

import pandas as pd
from pyspark.sql import functions as F

from jobs.models.config import IntradayConfig, load_intraday_config
from jobs.models.intraday import BAR_COLUMNS, IntradaySamples, build_intraday_samples
from jobs.resources.lake import Lake
from jobs.resources.settings import Settings
from lake_schema.gold_sentiment import SENTIMENT_DAILY
from lake_schema.trades import BARS_1M


def intraday_config(settings: Settings) -> IntradayConfig:
    """The settings' intraday config (PULSELAKE_INTRADAY_CONFIG: a name under jobs/models/configs or a TOML path)."""
    return load_intraday_config(settings.intraday_config)


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
