"""Scenario: the intraday model and live scoring, on the nightly's replayed trades.

Builds silver.bars_1m from the trades the nightly replays (the REPLAY_DAYS bundled trading days before the last of
REPLAY_SYMBOLS, 1,000 synthetic trades a symbol and day, bridged through each real daily bar), with the lake's own
bar definition. Then times the shipped intraday config's train-and-evaluate (walk-forward against every baseline,
final fit, register) and reports every model's out-of-sample RMSE and IC. Last, what scoring adds to a stream
batch: the last bundled day (the stream walkthrough's) is fed in two-minute steps, and each step runs `score_live` as the
stream's batch does after its bars (predict the symbols whose bars moved, append, rewrite the scorecard).
Knobs: PULSELAKE_BENCH_INTRADAY_DAYS (training days, default REPLAY_DAYS), PULSELAKE_BENCH_INTRADAY_STEPS
(scoring steps, default 30). `sizes` does not apply.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from bench.timing import measured
from jobs.resources.lake import Lake
from jobs.resources.settings import Settings
from jobs.window import Window


def replayed_trades(days, trades_per_day: int = 1_000) -> pd.DataFrame:
    """silver.trades-shaped rows of the replay's trades (what the embedded Finnhub server sends)."""
    from jobs.local.replay.intraday import day_trades
    from jobs.sources.bundled import REPLAY_SYMBOLS

    rows = []
    for day in days:
        for n, trade in enumerate(day_trades(list(REPLAY_SYMBOLS), day, trades_per_day)):
            ts = datetime.fromtimestamp(trade.t_ms / 1000, timezone.utc)
            rows.append({"trade_key": day.toordinal() * 1_000_000 + n, "symbol": trade.symbol, "price": trade.price,
                         "volume": float(trade.volume), "trade_ts": ts, "conditions": list(trade.conditions),
                         "received_at": ts, "trade_date": day})
    return pd.DataFrame(rows)


def write_bars(spark, lake: Lake, trades: pd.DataFrame, where=None) -> None:
    from jobs.trades.silver import build_bars_1m
    from lake_schema.trades import BARS_1M, SILVER_TRADES

    rows = [{**r, "trade_ts": r["trade_ts"].to_pydatetime(), "received_at": r["received_at"].to_pydatetime()}
            for r in trades.to_dict("records")]
    lake.overwrite(BARS_1M, build_bars_1m(spark.createDataFrame(rows, SILVER_TRADES.spark_ddl())), where=where)


def run(spark, workdir: Path, sizes: list[int]) -> list[dict]:
    from jobs.models import registry
    from jobs.models.intraday_inputs import intraday_config
    from jobs.models.steps import score_live, train_intraday
    from jobs.local.replay.intraday import trading_days
    from jobs.sources.bundled import LAST_BUNDLED_DAY, REPLAY_DAYS

    days = int(os.environ.get("PULSELAKE_BENCH_INTRADAY_DAYS", REPLAY_DAYS))
    steps = int(os.environ.get("PULSELAKE_BENCH_INTRADAY_STEPS", "30"))
    calendar = trading_days(end=LAST_BUNDLED_DAY)  # trained on the days before the last, scored live on it
    train_days, live_day = calendar[-days - 1:-1], calendar[-1]
    lake = Lake(spark, Settings(lake_root=str(workdir / "intraday_lake"), spark_master=spark.sparkContext.master))
    config = intraday_config(lake.settings)
    window = Window.latest(datetime.now(timezone.utc), source="bench")
    row: dict = {"scenario": "intraday", "config": config.name, "days": f"{train_days[0]} .. {train_days[-1]}"}
    with measured(row, "bars"):
        write_bars(spark, lake, replayed_trades(train_days))
    with measured(row, "train_evaluate"):
        trained = train_intraday(lake, window, config, force=True)
    run_row = registry.runs(lake, config.name)[0]
    metrics = json.loads(run_row["metrics_json"])["models"]
    row.update(folds=int(run_row["folds"]), eval_rows=int(run_row["n_eval_rows"]),
               eval_days=int(run_row["n_eval_days"]), beat_random_walk=bool(run_row["beat_random_walk"]))
    for name, m in metrics.items():
        row[f"{name}_rmse"] = m["rmse"]["value"]
        row[f"{name}_ic"] = m["ic"]["value"]

    today = replayed_trades([live_day])
    opened = today["trade_ts"].min().floor("min")
    seconds = []
    for step in range(steps):
        upto = opened + pd.Timedelta(minutes=40 + 2 * step)
        write_bars(spark, lake, today[today["trade_ts"] < upto], where=[("trade_date", "=", live_day)])
        started = time.perf_counter()
        score_live(lake, window, config=config, days=[live_day])
        seconds.append(time.perf_counter() - started)
    timed = seconds[1:] or seconds  # the first call loads the model
    row.update(score_first_s=round(seconds[0], 2), score_p50_s=round(statistics.median(timed), 2),
               score_p95_s=round(sorted(timed)[max(0, int(len(timed) * 0.95) - 1)], 2), score_calls=len(seconds))
    row["notes"] = "; ".join(trained.notes[:2])
    return [row]
