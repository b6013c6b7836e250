"""What the daily model reads: the nightly's experiment config and the panel of daily features (with sentiment)
cut into windows. The steps that train and score with them are in jobs/models/steps.py."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from pyspark.sql import functions as F

from jobs.models.config import ExperimentConfig, load_config
from jobs.models.features import Samples, add_sentiment, build_samples, select_universe
from jobs.resources.lake import Lake
from jobs.resources.settings import Settings
from lake_schema.gold_sentiment import SENTIMENT_DAILY
from lake_schema.prices import GOLD_DAILY_FEATURES

_FEATURE_COLUMNS = ["ticker", "trade_date", "return_1d", "return_5d", "return_20d", "volatility_20d", "range_pct",
                    "dollar_volume", "volume_z_20d", "close_to_sma_20d"]


def nightly_config(settings: Settings) -> ExperimentConfig:
    """The config the nightly runs: the settings' daily model (PULSELAKE_MODEL_CONFIG, a name or TOML path),
    cut to `daily_max_tickers` tickers when set (a quick `make run`)."""
    config = load_config(settings.daily_model)
    if settings.daily_max_tickers:
        config.universe.max_tickers = settings.daily_max_tickers
    return config


def load_samples(lake: Lake, config: ExperimentConfig, with_sentiment: bool | None = None,
                 until: date | None = None) -> tuple[pd.DataFrame, Samples]:
    """The experiment's panel (from gold.daily_features) and its windows. Sentiment features are
    added when `with_sentiment` is True, or (None) when gold.sentiment_daily has rows inside the
    panel's dates; a model always scores with the feature set it was trained on."""
    if not lake.exists(GOLD_DAILY_FEATURES):
        raise ValueError("gold.daily_features does not exist yet: run the price steps first")
    features = lake.read(GOLD_DAILY_FEATURES).select(*_FEATURE_COLUMNS)
    if until is not None:  # a run for an old window sees only the days up to its end
        features = features.where(F.col("trade_date") <= F.lit(until))
    if config.universe.tickers:
        features = features.where(features.ticker.isin(config.universe.tickers))
    frame = select_universe(features.toPandas(), config)
    sentiment = None
    if config.use_sentiment and with_sentiment is not False and not frame.empty and lake.exists(SENTIMENT_DAILY):
        first, last = frame["trade_date"].min().date(), frame["trade_date"].max().date()
        sentiment = (
            lake.read(SENTIMENT_DAILY).where((F.col("day") >= F.lit(first)) & (F.col("day") <= F.lit(last)))
            .select("ticker", "day", "posts", "mean_sentiment", "weighted_sentiment", "bullish_share").toPandas()
        )
    if with_sentiment is None:
        with_sentiment = sentiment is not None and not sentiment.empty
    if with_sentiment:
        frame = add_sentiment(frame, sentiment)
    return frame, build_samples(frame, config, with_sentiment)


def next_weekday(day) -> object:
    return pd.Timestamp(np.busday_offset(np.datetime64(day, "D"), 1, roll="forward")).date()
