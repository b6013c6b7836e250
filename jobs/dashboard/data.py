"""What the dashboard reads: small gold tables through Lake.read_small (delta-rs, no Spark),
one ticker at a time where a table is per ticker. Each function returns pandas; the app caches them."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable

from jobs.resources.lake import Lake
from lake_schema.gold_sentiment import SENTIMENT_DAILY, SENTIMENT_DAILY_SUBREDDIT
from lake_schema.models import LIVE_PREDICTIONS, LIVE_SCORECARD, MODEL_RUNS, PREDICTIONS
from lake_schema.prices import GOLD_DAILY_FEATURES
from lake_schema.trades import BARS_1M, SILVER_TRADES


def tickers(lake: Lake) -> list[str]:
    """Tickers the model scores first (they have the most to show), each group most-discussed
    first, then every other ticker with daily features, by name."""
    scored = set(lake.read_small(PREDICTIONS, columns=["ticker"]).ticker)
    posts = lake.read_small(SENTIMENT_DAILY, columns=["ticker", "posts"]).groupby("ticker").posts.sum()
    priced = set(lake.read_small(GOLD_DAILY_FEATURES, columns=["ticker"]).ticker)
    ranked = sorted(scored | set(posts.index), key=lambda t: (t not in scored, -int(posts.get(t, 0)), t))
    return ranked + sorted(priced - set(ranked))


def prices(lake: Lake, ticker: str) -> pd.DataFrame:
    frame = lake.read_small(GOLD_DAILY_FEATURES, columns=["trade_date", "adj_close", "return_1d"],
                            filters=[("ticker", "=", ticker)])
    return frame.assign(trade_date=pd.to_datetime(frame.trade_date)).sort_values("trade_date", ignore_index=True)


def predictions(lake: Lake, ticker: str) -> pd.DataFrame:
    """The ticker's predictions, newest first."""
    frame = lake.read_small(PREDICTIONS, filters=[("ticker", "=", ticker)])
    return frame.sort_values(["as_of_date", "as_of"], ascending=False, ignore_index=True)


def sentiment(lake: Lake, ticker: str, by_subreddit: bool = False) -> pd.DataFrame:
    spec = SENTIMENT_DAILY_SUBREDDIT if by_subreddit else SENTIMENT_DAILY
    frame = lake.read_small(spec, filters=[("ticker", "=", ticker)])
    return frame.assign(day=pd.to_datetime(frame.day)).sort_values("day", ignore_index=True)


def model_runs(lake: Lake) -> pd.DataFrame:
    return lake.read_small(MODEL_RUNS)


def newest_trade(lake: Lake) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """(when the collector received the newest trade in silver.trades, the newest exchange time), from the Delta
    log's per-file max statistics (no data scan); files without statistics fall back to the newest partition."""
    if not lake.exists(SILVER_TRADES):
        return None, None
    actions = pa.table(DeltaTable(lake.uri(SILVER_TRADES), storage_options=lake.settings.storage_options)
                       .get_add_actions(flatten=True))
    if not actions.num_rows:
        return None, None
    columns = ["max.received_at", "max.trade_ts"]
    if all(c in actions.column_names and actions.column(c).null_count == 0 for c in columns):
        received, exchange = (max(actions.column(c).to_pylist()) for c in columns)
        return pd.Timestamp(received), pd.Timestamp(exchange)
    newest_day = max(actions.column("partition.trade_date").to_pylist())
    frame = lake.read_small(SILVER_TRADES, where=[("trade_date", "=", newest_day)], columns=["received_at", "trade_ts"])
    if frame.empty:
        return None, None
    return pd.Timestamp(frame.received_at.max()), pd.Timestamp(frame.trade_ts.max())


def kafka_lag(lake: Lake) -> pd.DataFrame:
    """Per topic: records, records bronze has not taken yet, age of the newest record (`pulselake status`)."""
    from jobs.ingest.lag import topic_lags
    from jobs.pipeline.graph import topic_sinks
    from jobs.resources.kafka import get_kafka_settings

    lags = topic_lags(lake, get_kafka_settings(), topic_sinks(), timeout_s=3.0)
    return pd.DataFrame([vars(lag) for lag in lags], columns=["topic", "table", "retained", "waiting", "newest_age_s"])


LIVE_COLUMNS = ["symbol", "price", "price_at", "predicted_at", "target_at", "predicted_return", "prob_up", "flagged",
                "flag_reason", "model_version", "resolved", "pending", "rmse", "random_walk_rmse", "hit_rate", "ic",
                "mse_diff_ci_low", "mse_diff_ci_high", "beats_random_walk", "predicted_today"]


def live_board(lake: Lake) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per symbol of the newest day of live predictions: the live price (its newest 1-minute bar's close), the
    newest prediction and that model's scorecard row; the scorecard's '*' rows). Empty frames before the stream
    has scored anything."""
    card = lake.read_small(LIVE_SCORECARD)
    made = lake.read_small(LIVE_PREDICTIONS, columns=["trade_date"])
    if made.empty:
        return pd.DataFrame(columns=LIVE_COLUMNS), card.iloc[0:0]
    day = made.trade_date.max()
    newest = (lake.read_small(LIVE_PREDICTIONS, where=[("trade_date", "=", day)])
              .sort_values("predicted_at").groupby("symbol").tail(1))
    bars = lake.read_small(BARS_1M, where=[("trade_date", "=", day)], columns=["symbol", "minute_start", "close"])
    price = (bars.sort_values("minute_start").groupby("symbol").tail(1)
             .rename(columns={"close": "price", "minute_start": "price_at"}))
    board = (newest.merge(price, on="symbol", how="left")
             .merge(card.rename(columns={"scope": "symbol"}), on=["symbol", "model_version"], how="left"))
    models = set(board.model_version)  # the '*' row of the model the board shows, not of an older one
    overall = card[(card.scope == "*") & card.model_version.isin(models)].sort_values("updated_at", ascending=False)
    # Symbols the model has a record for but no prediction on this day (no trades: the feed had none) stay on the
    # board with their scorecard, so none vanishes silently.
    quiet = card[(card.scope != "*") & card.model_version.isin(models) & ~card.scope.isin(set(board.symbol))]
    if not quiet.empty:
        board = pd.concat([board, quiet.rename(columns={"scope": "symbol"})], ignore_index=True)
    board = board.assign(predicted_today=board.predicted_at.notna())
    return board[LIVE_COLUMNS].sort_values("symbol", ignore_index=True), overall.reset_index(drop=True)
