"""1-minute bars for the intraday model's tests: bundled real daily bars bridged into seeded trades
(jobs.local.replay.intraday, what the embedded Finnhub server sends), and a tiny config that trains in seconds."""

from __future__ import annotations

from datetime import date

import pandas as pd

from jobs.models.config import IntradayConfig, Network, WalkForward
from jobs.local.replay.intraday import day_trades, trading_days

SYMBOLS = ["AAPL", "MSFT", "JPM"]


def last_days(count: int) -> list[date]:
    return trading_days()[-count:]


def replay_trades(days: list[date], symbols: list[str] = SYMBOLS, trades_per_day: int = 390) -> pd.DataFrame:
    """The replay's trades as silver.trades-shaped rows (pandas)."""
    rows = []
    for day in days:
        for n, t in enumerate(day_trades(symbols, day, trades_per_day)):
            ts = pd.Timestamp(t.t_ms, unit="ms", tz="UTC").to_pydatetime()
            rows.append({"trade_key": day.toordinal() * 1_000_000 + n, "symbol": t.symbol, "price": t.price, "volume": float(t.volume),
                         "trade_ts": ts, "conditions": list(t.conditions), "received_at": ts, "trade_date": day})
    frame = pd.DataFrame(rows)
    frame["trade_ts"] = pd.to_datetime(frame["trade_ts"], utc=True)
    frame["received_at"] = frame["trade_ts"]
    return frame


def bars_frame(spark, trades: pd.DataFrame):
    """silver.bars_1m rows built by the lake's own bar definition (jobs.trades.silver.build_bars_1m)."""
    from jobs.trades.silver import build_bars_1m
    from lake_schema.trades import SILVER_TRADES

    rows = [{**row, "trade_ts": row["trade_ts"].to_pydatetime(), "received_at": row["received_at"].to_pydatetime()}
            for row in trades.to_dict("records")]
    frame = spark.createDataFrame(rows, schema=SILVER_TRADES.spark_ddl())
    return build_bars_1m(frame)


def pandas_bars(trades: pd.DataFrame) -> pd.DataFrame:
    """The same bars computed in pandas (for the pure tests, no Spark)."""
    data = trades.sort_values(["trade_ts", "trade_key"]).assign(minute_start=lambda f: f["trade_ts"].dt.floor("min"))
    data["notional"] = data["price"] * data["volume"]
    bars = data.groupby(["symbol", "minute_start"]).agg(
        open=("price", "first"), high=("price", "max"), low=("price", "min"), close=("price", "last"),
        volume=("volume", "sum"), notional=("notional", "sum"), trade_count=("price", "size")).reset_index()
    bars["vwap"] = bars["notional"] / bars["volume"]
    bars["trade_date"] = bars["minute_start"].dt.date
    return bars.drop(columns="notional")


def tiny_intraday_config(**changes) -> IntradayConfig:
    values = dict(name="intraday_test", seed=3, window=10, horizon_minutes=5, use_sentiment=False,
                  network=Network(units=4, embedding_dim=2, epochs=1, batch_size=256),
                  walk_forward=WalkForward(min_train_days=2, retrain_every=1, max_folds=2))
    return IntradayConfig(**(values | changes))


def config_toml(config: IntradayConfig) -> str:
    """`config` as the TOML file `PULSELAKE_INTRADAY_CONFIG` may name (what `load_intraday_config` reads back)."""
    def value(v) -> str:
        return f'"{v}"' if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else repr(v)

    top, tables = [], []
    for key, v in config.model_dump(mode="json").items():
        if isinstance(v, dict):
            tables.append(f"[{key}]\n" + "".join(f"{k} = {value(x)}\n" for k, x in v.items() if x is not None))
        elif v is not None:
            top.append(f"{key} = {value(v)}\n")
    return "".join(top) + "\n" + "\n".join(tables)


def train_tiny_model(spark, lake, days: list[date], config: IntradayConfig | None = None):
    """Bars of `days` from the replay into silver.bars_1m, and the tiny intraday model trained on them."""
    from jobs.models.steps import train_intraday
    from jobs.window import Window
    from datetime import datetime, timezone
    from lake_schema.trades import BARS_1M

    lake.overwrite(BARS_1M, bars_frame(spark, replay_trades(days)))
    return train_intraday(lake, Window.latest(datetime.now(timezone.utc), source="test"),
                          config or tiny_intraday_config())
