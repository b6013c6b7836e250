"""Writes the notebooks in this folder from the cell sources below (nbformat v4, no outputs).

The .ipynb files are generated so their code is reviewable here and they are always committed
clean; tests/notebooks checks they match this file and executes each one top to bottom.
Regenerate after editing:  .venv/bin/python notebooks/generate.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent

SETUP = """\
%matplotlib inline
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from jobs.insights import views
from jobs.insights.access import load, notebook_lake

pd.set_option("display.width", 160)
plt.rcParams["figure.figsize"] = (11, 4)
lake = notebook_lake()  # $PULSELAKE_LAKE_ROOT, else the repository's ./lake"""


def md(text: str):
    return new_markdown_cell(text.strip())


def code(text: str):
    return new_code_cell(text.strip())


SENTIMENT_VS_RETURNS = [
    md("""
# Sentiment vs subsequent returns, per ticker

Does a Reddit post's sentiment tell us anything about the stock's return **after** the post?
`gold.post_price_windows` pairs every post with the returns from the first price at or after it
(+1 and +5 trading days, daily closes), so nothing here looks ahead. Every number carries its
sample size and a 95% interval: with a few dozen posts per ticker most intervals straddle zero,
and that is the honest answer.
"""),
    code(SETUP + """
from lake_schema.gold_sentiment import POST_PRICE_WINDOWS, SENTIMENT_DAILY
from lake_schema.prices import GOLD_DAILY_FEATURES

windows = load(lake, POST_PRICE_WINDOWS, columns=["post_id", "ticker", "subreddit", "created_at", "sentiment",
                                                  "label", "return_1d", "return_5d"])
daily = load(lake, SENTIMENT_DAILY)"""),
    md("## Correlation of post sentiment with the next 1 and 5 trading days, per ticker"),
    code("""
if windows.empty:
    print("No post price windows: nothing to correlate yet.")
else:
    per_ticker = {h: views.sentiment_vs_returns(windows, h) for h in ("return_1d", "return_5d")}
    table = per_ticker["return_1d"].merge(per_ticker["return_5d"][["ticker", "r", "ci_low", "ci_high", "n"]],
                                          on="ticker", suffixes=("_1d", "_5d"))
    print(f"{len(table)} tickers with at least 4 posts; the 15 most discussed:")
    display(table.head(15).round(4))
    top = table.dropna(subset=["r_1d"]).head(15)
    if top.empty:
        print("No ticker has enough posts with a known next-day return for a correlation.")
    else:
        fig, ax = plt.subplots()
        ax.errorbar(top.ticker, top.r_1d, yerr=[top.r_1d - top.ci_low_1d, top.ci_high_1d - top.r_1d], fmt="o", capsize=3)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_ylabel("Pearson r (95% CI)")
        ax.set_title("Post sentiment vs next-day return, most-discussed tickers")
        plt.show()"""),
    md("## Mean subsequent return by sentiment label, all tickers pooled"),
    code("""
if windows.empty:
    print("No post price windows: nothing to bucket yet.")
else:
    fig, axes = plt.subplots(1, 2, sharey=False)
    for ax, horizon in zip(axes, ("return_1d", "return_5d")):
        buckets = views.returns_by_sentiment_bucket(windows, horizon)
        display(buckets.assign(horizon=horizon).round(5))
        ax.bar(buckets.label, buckets.mean_return * 100,
               yerr=[(buckets.mean_return - buckets.ci_low) * 100, (buckets.ci_high - buckets.mean_return) * 100],
               capsize=4, color=["tab:red", "tab:grey", "tab:green"])
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(f"{horizon} after the post (n = {int(buckets.n.sum()):,})")
        ax.set_ylabel("mean return, % (95% CI)")
    plt.show()"""),
    md("## The most-discussed ticker: daily sentiment against its price"),
    code("""
if daily.empty:
    print("No daily sentiment yet.")
else:
    ticker = daily.groupby("ticker").posts.sum().idxmax()
    mine = daily[daily.ticker == ticker].sort_values("day")
    prices = load(lake, GOLD_DAILY_FEATURES, columns=["ticker", "trade_date", "adj_close"],
                  filters=[("ticker", "=", ticker), ("trade_date", ">=", mine.day.min()), ("trade_date", "<=", mine.day.max())])
    fig, ax = plt.subplots()
    ax.bar(pd.to_datetime(mine.day), mine.mean_sentiment, color=["tab:green" if s > 0 else "tab:red" for s in mine.mean_sentiment],
           width=1.0, alpha=0.6)
    ax.set_ylabel("mean post sentiment")
    ax.set_title(f"{ticker}: {int(mine.posts.sum())} posts over {len(mine)} days")
    if not prices.empty:
        twin = ax.twinx()
        prices = prices.sort_values("trade_date")
        twin.plot(pd.to_datetime(prices.trade_date), prices.adj_close, color="black", lw=1.2)
        twin.set_ylabel("adjusted close")
    plt.show()"""),
]

LEAD_LAG = [
    md("""
# The lead–lag picture

Does sentiment move **before** prices, or do prices move first and Reddit reacts?
`gold.sentiment_lead_lag` holds both directions: *sentiment_leads* correlates sentiment on day t
with the return from t to t+k; *returns_lead* correlates the return from t-k to t with sentiment
on day t. Below, negative lags are "returns lead", positive lags "sentiment leads". Each point has
a Fisher-z 95% interval and its number of ticker-days.
"""),
    code(SETUP + """
from lake_schema.gold_sentiment import SENTIMENT_LEAD_LAG

lead_lag = load(lake, SENTIMENT_LEAD_LAG)"""),
    md("## Pooled over all tickers, per sentiment measure"),
    code("""
if lead_lag.empty:
    print("No lead-lag rows: the sentiment gold step has not run on this lake yet.")
else:
    measures = sorted(lead_lag.measure.unique())
    fig, axes = plt.subplots(1, len(measures), sharey=True, figsize=(4 * len(measures), 3.6), squeeze=False)
    for ax, measure in zip(axes[0], measures):
        curve = views.lead_lag_curve(lead_lag, measure).dropna(subset=["r"])
        ax.axhline(0, color="grey", lw=0.8)
        ax.axvline(0, color="grey", lw=0.8, ls=":")
        if not curve.empty:
            ax.fill_between(curve.lag, curve.ci_low, curve.ci_high, alpha=0.25)
            ax.plot(curve.lag, curve.r, marker="o")
        ax.set_title(measure)
        ax.set_xlabel("lag k (<0: returns lead, >0: sentiment leads)")
    axes[0][0].set_ylabel("Pearson r (95% CI)")
    plt.show()
    pooled = lead_lag[lead_lag.ticker == "*"].dropna(subset=["r"])
    significant = pooled[(pooled.ci_low > 0) | (pooled.ci_high < 0)]
    print(f"{len(significant)} of {len(pooled)} pooled correlations have a 95% interval excluding zero.")
    display(pooled.sort_values("r", key=abs, ascending=False).head(10).round(4))"""),
    md("## Per ticker: mean sentiment vs returns, by lag"),
    code("""
per_ticker = lead_lag[(lead_lag.ticker != "*") & (lead_lag.measure == "mean_sentiment")].dropna(subset=["r"])
if lead_lag.empty:
    print("No lead-lag rows to show per ticker.")
elif per_ticker.empty:
    print("No per-ticker lead-lag correlation (too few ticker-days per ticker).")
else:
    per_ticker = per_ticker.assign(lag=per_ticker.horizon_days.where(per_ticker.direction == "sentiment_leads",
                                                                      -per_ticker.horizon_days))
    best = per_ticker.groupby("ticker").n.max().sort_values(ascending=False).head(20).index
    grid = per_ticker[per_ticker.ticker.isin(best)].pivot_table(index="ticker", columns="lag", values="r")
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(grid) + 1.5))
    image = ax.imshow(grid.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_yticks(range(len(grid)), grid.index)
    ax.set_xticks(range(len(grid.columns)), grid.columns)
    ax.set_xlabel("lag k (<0: returns lead, >0: sentiment leads)")
    fig.colorbar(image, label="Pearson r")
    ax.set_title("Most-discussed tickers (few ticker-days each: read the intervals before the colours)")
    plt.show()"""),
]

MODEL_VS_BASELINES = [
    md("""
# Model vs baselines over time

Every training run in `gold.model_runs` was scored walk-forward, out of sample, on the same rows
as the baselines (random walk = predict 0, drift, yesterday's return, a linear model). A model
earns its keep only when it beats the **random walk**; predictions are flagged when it did not.
"""),
    code(SETUP + """
from lake_schema.models import MODEL_RUNS, PREDICTIONS
from lake_schema.prices import GOLD_DAILY_FEATURES

runs = load(lake, MODEL_RUNS)
predictions = load(lake, PREDICTIONS)"""),
    md("## The newest run's leaderboard"),
    code("""
board = views.latest_leaderboard(runs)
if board.empty:
    print("No training run registered yet: nothing to compare.")
else:
    newest = runs.sort_values("created_at").iloc[-1]
    print(f"run {newest.version}: trained to {newest.train_end}, evaluated {newest.eval_start} .. {newest.eval_end} "
          f"over {newest.folds} folds, {newest.n_eval_rows:,} out-of-sample rows")
    verdict = "BEAT" if newest.beat_random_walk else "did NOT beat"
    print(f"The LSTM {verdict} the random walk out of sample (RMSE {newest.rmse:.5f} vs {newest.random_walk_rmse:.5f}).")
    display(board[["model", "rmse", "rmse_ci_low", "rmse_ci_high", "rmse_vs_random_walk", "mae", "directional_accuracy", "ic", "ic_ci_low",
                   "ic_ci_high", "rank_ic", "n", "days", "beats_random_walk"]].round(5))"""),
    md("""
## Every run over time: RMSE relative to the random walk, and IC

Each nightly retrain adds a run; with a single run so far the chart shows that run's models side by side.
"""),
    code("""
history = views.leaderboard(runs)
if history.empty:
    print("No training runs yet.")
else:
    history = history.assign(data_end=pd.to_datetime(history.data_end))
    over_time = history.version.nunique() > 1
    fig, axes = plt.subplots(1, 2)
    for model, rows in history.sort_values("data_end").groupby("model"):
        style = dict(lw=2.5, marker="o") if model == "lstm" else dict(lw=1, marker=".", alpha=0.8)
        x = rows.data_end if over_time else [model] * len(rows)
        axes[0].plot(x, rows.rmse_vs_random_walk.to_numpy() * 100, label=model, **style)
        errors = [(rows.ic - rows.ic_ci_low).to_numpy(), (rows.ic_ci_high - rows.ic).to_numpy()]
        axes[1].errorbar(x, rows.ic.to_numpy(), yerr=errors, label=model, capsize=3, **style)
    axes[0].axhline(0, color="grey", lw=0.8)
    axes[0].set_title("RMSE vs random walk, % (below 0 = better)")
    axes[1].axhline(0, color="grey", lw=0.8)
    axes[1].set_title("mean daily IC (95% CI)")
    for ax in axes:
        ax.set_xlabel("data end of the run" if over_time else "model (one run so far)")
        ax.tick_params(axis="x", rotation=30)
    if over_time:
        axes[0].legend(fontsize=8)
    plt.tight_layout()
    plt.show()
    print(f"{history.version.nunique()} runs; the LSTM beat the random walk in "
          f"{int(history[history.is_model].beats_random_walk.sum())} of them.")"""),
    md("""
## Live predictions against what happened

A prediction is for `target_date`, the next weekday after the data it used. Where that day has
traded and is in the lake, compare the model's squared error with the random walk's.
"""),
    code("""
if predictions.empty:
    print("No predictions scored yet.")
else:
    months = sorted({d.strftime("%Y-%m") for d in predictions.target_date})
    features = load(lake, GOLD_DAILY_FEATURES, columns=["ticker", "trade_date", "return_1d"],
                    where=[("trade_month", "in", months)])
    realized = views.realized_predictions(predictions, features)
    known = realized.dropna(subset=["realized_return"])
    flagged = predictions.flagged.mean()
    print(f"{len(predictions):,} predictions, {flagged:.0%} flagged (model had not beaten the random walk); "
          f"{len(known):,} have a realized return.")
    if known.empty:
        print("No prediction's target day has traded yet in this lake: nothing to score live.")
    else:
        by_day = known.groupby("target_date").agg(hit_rate=("hit", "mean"), model_mse=("model_sq_error", "mean"),
                                                  random_walk_mse=("random_walk_sq_error", "mean"), n=("ticker", "size"))
        display(by_day.round(6))"""),
]

DATA_QUALITY = [
    md("""
# Data quality and quarantine

What the lake holds, what it refused and why. Nothing is dropped silently: every rejected record
is in `bronze.quarantine` with the rule it broke; rows kept despite a *warn* rule are counted here.
This notebook starts Spark, since it aggregates whole tables.
"""),
    code(SETUP.replace("lake = notebook_lake()", "lake = notebook_lake(spark=True)") + """
import pyarrow as pa
from pyspark.sql import functions as F

from jobs.insights.access import empty_message
from jobs.quality import warning_counts
from lake_schema import TABLES
from lake_schema.prices import SILVER_DAILY_BARS
from lake_schema.quarantine import QUARANTINE"""),
    md("## Every table: rows (from the Delta log, no scan) and last write"),
    code("""
rows = []
for name, spec in TABLES.items():
    if not lake.exists(spec):
        rows.append({"table": name, "rows": None, "version": None, "last_write": None, "state": "not created yet"})
        continue
    table = lake.delta_table(spec)
    count = sum(n or 0 for n in pa.table(table.get_add_actions(flatten=True)).column("num_records").to_pylist())
    last = pd.to_datetime(table.history(1)[0]["timestamp"], unit="ms", utc=True)
    rows.append({"table": name, "rows": count, "version": table.version(), "last_write": last,
                 "state": "empty" if count == 0 else "ok"})
inventory = pd.DataFrame(rows).astype({"rows": "Int64", "version": "Int64"})
display(inventory)
print(f"{(inventory.state == 'ok').sum()} of {len(inventory)} tables have rows.")"""),
    md("## Quarantine: what was refused, where it was headed, and why"),
    code("""
if not lake.exists(QUARANTINE):
    print(empty_message(lake, QUARANTINE))
    quarantine = None
else:
    quarantine = lake.read(QUARANTINE)
    by_reason = quarantine.groupBy("target_table", "reason").count().orderBy(F.desc("count")).toPandas()
    if by_reason.empty:
        print("The quarantine is empty: every record so far passed its rules.")
    else:
        display(by_reason)
        fig, ax = plt.subplots(figsize=(9, 0.4 * len(by_reason) + 1.2))
        labels = by_reason.target_table + " / " + by_reason.reason
        bars = ax.barh(labels, by_reason["count"])
        ax.bar_label(bars, padding=3)
        wide = by_reason["count"].max() > 50 * by_reason["count"].min()
        if wide:
            ax.set_xscale("log")
        ax.invert_yaxis()
        ax.set_xlabel("records quarantined" + (" (log scale)" if wide else ""))
        plt.show()"""),
    code("""
if quarantine is not None and quarantine.limit(1).count():
    examples = (quarantine.groupBy("reason").agg(F.first("detail").alias("example_detail"),
                                                 F.first("record_key").alias("example_key"),
                                                 F.first(F.coalesce("kafka_topic", "source_file")).alias("source"))
                .orderBy("reason").toPandas())
    display(examples)
else:
    print("No quarantined records to show examples of.")"""),
    md("## Rows kept with a warning (rules with action = warn)"),
    code("""
warned = []
for name, spec in TABLES.items():
    if any(rule.action == "warn" for rule in spec.rules) and lake.exists(spec):
        for rule, count in warning_counts(lake.read(spec), spec).items():
            warned.append({"table": name, "rule": rule, "rows": count})
if warned:
    display(pd.DataFrame(warned))
else:
    print("No table with warn rules has been written yet.")"""),
    md("## Coverage of silver.daily_bars: tickers and bars per month"),
    code("""
if not lake.exists(SILVER_DAILY_BARS):
    print(empty_message(lake, SILVER_DAILY_BARS))
else:
    coverage = (lake.read(SILVER_DAILY_BARS).groupBy("trade_month")
                .agg(F.countDistinct("ticker").alias("tickers"), F.count("*").alias("bars"),
                     F.sum(F.col("volume").isNull().cast("int")).alias("missing_volume"))
                .orderBy("trade_month").toPandas())
    if coverage.empty:
        print(empty_message(lake, SILVER_DAILY_BARS))
    else:
        print(f"{len(coverage)} months, {coverage.trade_month.iloc[0]} .. {coverage.trade_month.iloc[-1]}; "
              f"{int(coverage.bars.sum()):,} bars")
        fig, ax = plt.subplots()
        ax.plot(pd.to_datetime(coverage.trade_month), coverage.tickers, drawstyle="steps-mid")
        ax.set_ylabel("tickers with bars")
        ax.set_title("silver.daily_bars coverage per month")
        plt.show()
        display(coverage.tail(12))"""),
]

NOTEBOOKS = {
    "01_sentiment_vs_returns.ipynb": SENTIMENT_VS_RETURNS,
    "02_lead_lag.ipynb": LEAD_LAG,
    "03_model_vs_baselines.ipynb": MODEL_VS_BASELINES,
    "04_data_quality.ipynb": DATA_QUALITY,
}


def build(name: str) -> nbformat.NotebookNode:
    notebook = new_notebook(cells=NOTEBOOKS[name])
    notebook.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
        "language_info": {"name": "python"},
    }
    for i, cell in enumerate(notebook.cells):
        cell["id"] = f"{Path(name).stem[:2]}-{i:02d}"  # stable ids: regenerating gives identical files
    nbformat.validate(notebook)
    return notebook


def render(name: str) -> str:
    return nbformat.writes(build(name)) + "\n"


def main() -> None:
    for name in NOTEBOOKS:
        (HERE / name).write_text(render(name))
        print(f"wrote notebooks/{name}")


if __name__ == "__main__":
    main()
