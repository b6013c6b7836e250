"""pulselake dashboard (Streamlit): `make dashboard`, or
`streamlit run jobs/dashboard/app.py` with PULSELAKE_LAKE_ROOT pointing at a lake.

Live, re-read together every PULSELAKE_DASHBOARD_LIVE_S seconds (default 5): per symbol the last traded price,
the intraday model's newest prediction with its flag, its scorecard against the random walk (with how much
evidence it has), the trade stream's freshness and the Kafka lag. Per ticker: adjusted daily closes with the
model's predicted next-day move and its flag, sentiment against price (overall and per subreddit); for the lake:
the model leaderboard against the baselines. Reads small gold tables with delta-rs (Lake.read_small), the daily
ones cached for PULSELAKE_DASHBOARD_TTL seconds (default 60), so a page view never starts Spark.
"""

from __future__ import annotations


import altair as alt
import pandas as pd
import streamlit as st

from jobs.dashboard import data
from jobs.insights import views
from jobs.insights.access import empty_message, lake_settings
from jobs.models.scorecard import MIN_VERDICT
from jobs.resources.lake import Lake
from jobs.resources.spark import open_lake
from lake_schema.gold_sentiment import SENTIMENT_DAILY
from lake_schema.models import MODEL_RUNS, PREDICTIONS
from lake_schema.prices import GOLD_DAILY_FEATURES

SETTINGS = lake_settings()  # read once per server process: where the lake is, how long reads are cached
TTL, LIVE_S = SETTINGS.dashboard_ttl, SETTINGS.dashboard_live_s
PRICE_DAYS = 120  # trading days of price history shown, ending at the prediction's target day


@st.cache_resource
def lake_for(root: str) -> Lake:
    return open_lake(SETTINGS.model_copy(update={"lake_root": root}), spark=False)


@st.cache_data(ttl=TTL, show_spinner=False)
def cached(name: str, root: str, *args):
    """Every read goes through here: one cache entry per (reader, lake, arguments)."""
    return getattr(data, name)(lake_for(root), *args)


def main() -> None:
    st.set_page_config(page_title="pulselake", layout="wide")
    root = SETTINGS.lake_root
    lake = lake_for(root)
    st.title("pulselake")
    st.caption(f"lake: `{root}` · data cached for {TTL} s")

    live_section(root)
    tickers = cached("tickers", root)
    if not tickers:
        st.warning(f"No tickers yet. {empty_message(lake, GOLD_DAILY_FEATURES)}")
        leaderboard_panel(cached("model_runs", root), lake)
        return
    ticker = st.sidebar.selectbox("Ticker", tickers, index=0, help="scored tickers first, then discussed ones")
    st.sidebar.caption(f"{len(tickers)} tickers in the lake")

    prices = cached("prices", root, ticker)
    price_panel(ticker, prices, cached("predictions", root, ticker), cached("model_runs", root), lake)
    sentiment_panel(ticker, prices, cached("sentiment", root, ticker), cached("sentiment", root, ticker, True), lake)
    leaderboard_panel(cached("model_runs", root), lake)


@st.fragment(run_every=LIVE_S)
def live_section(root: str) -> None:
    """Every live number on the page, re-read together every LIVE_S seconds (only this part of the page re-runs)."""
    lake = lake_for(root)
    live_panel(*data.live_board(lake))
    freshness_panel(views.freshness(*data.newest_trade(lake)))
    kafka_panel(root)


def live_panel(board: pd.DataFrame, overall: pd.DataFrame) -> None:
    st.subheader("Live: the next minutes, predicted")
    if board.empty:
        st.info("No live predictions yet: `pulselake stream` scores the symbols whose bars move, once an intraday "
                "model is registered (the nightly's models.intraday_train step).")
        return
    if not overall.empty:
        scorecard_verdict(overall.iloc[0])
    if board.flagged.fillna(False).astype(bool).any():
        st.warning("FLAGGED predictions come from a model that did NOT beat the random walk out of sample.")
    shown = pd.DataFrame({
        "symbol": board.symbol,
        "last trade (as traded)": board.price.map(lambda p: _blank_or(p, "{:.2f}")),
        "price at": board.price_at.map(_clock),
        "predicted at": board.predicted_at.map(_clock),
        "for": board.target_at.map(_clock),
        "predicted move": board.predicted_return.map(lambda r: _blank_or(r, "{:+.3%}")),
        "P(up)": board.prob_up.map(lambda p: _blank_or(p, "{:.0%}")),
        "flag": [("FLAGGED" if f else "ok") if today else "no trades this day"
                 for f, today in zip(board.flagged, board.predicted_today)],
        "RMSE / random walk's": [_rmse_pair(a, b) for a, b in zip(board.rmse, board.random_walk_rmse)],
        "hit rate": board.hit_rate.map(lambda h: _blank_or(h, "{:.0%}")),
        "n resolved": board.resolved.map(lambda n: 0 if pd.isna(n) else int(n)),
    })
    st.table(shown.set_index("symbol"))  # a plain HTML table: a few rows, readable by screen readers and tests
    st.caption(f"Newest prediction made {_clock(board.predicted_at.max())} (exchange time, UTC); "
               f"model `{board.model_version.iloc[0]}`; prices as traded (not adjusted); refreshed every {LIVE_S:g} s.")


def scorecard_verdict(card: pd.Series) -> None:
    """The overall live scorecard in one line: a verdict only when the evidence supports one."""
    n = int(card.resolved)
    evidence = f"n = {n} resolved predictions ({int(card.pending)} waiting for their outcome)"
    if card.random_walk_rmse == 0:
        st.info(f"Live scorecard, all symbols: no movement — the price did not move over the {evidence}, so there "
                "is nothing to judge the model on yet.")
        return
    figures = (f"RMSE {card.rmse:.6f} vs the random walk's {card.random_walk_rmse:.6f}"
               + ("" if pd.isna(card.hit_rate) else f"; hit rate {card.hit_rate:.0%}")
               + ("" if pd.isna(card.ic) else f"; IC {card.ic:+.3f}"))
    interval = ("" if pd.isna(card.mse_diff_ci_low) else
                f"; squared-error difference, 95% interval {card.mse_diff_ci_low:+.2e} .. {card.mse_diff_ci_high:+.2e}")
    if pd.isna(card.beats_random_walk):
        st.info(f"Live scorecard, all symbols: {figures} over {evidence}{interval}. Not enough evidence yet to say "
                f"whether the model beats the random walk (it takes at least {MIN_VERDICT} resolved predictions and "
                "an interval that excludes 0).")
    elif card.beats_random_walk:
        st.success(f"Live scorecard, all symbols: the model beats the random walk — {figures} over {evidence}{interval}.")
    else:
        st.error(f"Live scorecard, all symbols: the model does NOT beat the random walk — {figures} over "
                 f"{evidence}{interval}.")


def _rmse_pair(rmse, random_walk_rmse) -> str:
    if pd.isna(rmse):
        return ""
    return "no movement" if random_walk_rmse == 0 else f"{rmse:.6f} / {random_walk_rmse:.6f}"


def _blank_or(value, form: str) -> str:
    return "" if pd.isna(value) else form.format(value)


def _clock(value) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


def freshness_panel(fresh: views.Freshness) -> None:
    st.subheader("Stream freshness")
    if fresh.received is None:
        st.info("Trade stream: no trades yet in silver.trades (start it with `pulselake stream`).")
        return
    left, middle, right = st.columns([1, 1, 2])
    left.metric("Newest trade received", f"{views.humanize_seconds(fresh.receipt_age_s or 0)} ago",
                help="when the collector got the newest trade in silver.trades")
    middle.metric("Its exchange time", "replay" if fresh.replay else views.humanize_seconds(fresh.exchange_lag_s or 0),
                  help="how far its exchange time trails its receipt; a replay serves an old day")
    show = {"live": right.success, "idle": right.warning}[fresh.state]
    show(f"Trade stream {fresh.state}: {fresh.text}")


def kafka_panel(root: str) -> None:
    """Consumer lag and the newest record's age per topic; a plain note when Kafka is not reachable."""
    try:
        lags = data.kafka_lag(lake_for(root))
    except Exception as exc:  # noqa: BLE001 - the dashboard must render without a broker
        st.info(f"Kafka: not reachable ({str(exc).splitlines()[0][:160]}); `pulselake status` shows the lag.")
        return
    shown = lags.assign(newest=[("" if pd.isna(a) else f"{views.humanize_seconds(a)} ago") for a in lags.newest_age_s])
    st.table(shown.rename(columns={"retained": "records", "waiting": "not yet in bronze", "newest": "newest record"})
             [["topic", "table", "records", "not yet in bronze", "newest record"]], hide_index=True)


def price_panel(ticker: str, prices: pd.DataFrame, predictions: pd.DataFrame, runs: pd.DataFrame, lake: Lake) -> None:
    st.header(f"{ticker}: price and predicted next-day move")
    if prices.empty:
        st.info(f"No prices for {ticker}. {empty_message(lake, GOLD_DAILY_FEATURES)}")
        return
    caption = None
    # The days up to the prediction's target day (its realized close shows where the lake has it).
    shown_until = pd.Timestamp(predictions.target_date.iloc[0]) if not predictions.empty else prices.trade_date.max()
    recent = prices[prices.trade_date <= shown_until].tail(PRICE_DAYS)
    layers = [alt.Chart(recent).mark_line().encode(
        x=alt.X("trade_date:T", title=None), y=alt.Y("adj_close:Q", title="adjusted close (splits, dividends)",
                                                  scale=alt.Scale(zero=False)),
        tooltip=["trade_date:T", alt.Tooltip("adj_close:Q", format=".2f")],
    )]
    if predictions.empty:
        st.info(f"No prediction for {ticker}: " + (
            empty_message(lake, PREDICTIONS) if not lake.exists(PREDICTIONS)
            else "it is outside the model's universe, or it has not been scored yet."))
    else:
        latest = predictions.iloc[0]
        base = prices[prices.trade_date <= pd.Timestamp(latest.as_of_date)].tail(1)
        if not base.empty:
            close = float(base.adj_close.iloc[0])
            path = pd.DataFrame({
                "trade_date": [base.trade_date.iloc[0], pd.Timestamp(latest.target_date)],
                "adj_close": [close, close * (1 + latest.predicted_return)], "what": ["last close", "predicted"],
            })
            color = "#d62728" if latest.flagged else "#2ca02c"
            layers.append(alt.Chart(path).mark_line(strokeDash=[4, 3], color=color).encode(x="trade_date:T", y="adj_close:Q"))
            caption = (f"As of {latest.as_of_date}: last adjusted close {close:.2f} → predicted {close * (1 + latest.predicted_return):.2f} "
                       f"on {latest.target_date} (dashed).")
            layers.append(alt.Chart(path.tail(1)).mark_point(size=90, filled=True, color=color).encode(
                x="trade_date:T", y="adj_close:Q", tooltip=["what", "trade_date:T", alt.Tooltip("adj_close:Q", format=".2f")]))
        cols = st.columns(4)
        cols[0].metric("Predicted return", f"{latest.predicted_return:+.2%}", help=f"{latest.as_of_date} → {latest.target_date}")
        cols[1].metric("P(up)", f"{latest.prob_up:.0%}")
        cols[2].metric("Predicts", str(latest.target_date))
        cols[3].metric("Model", str(latest.model_version).split("-")[0], help=str(latest.model_version))
        st.caption(views.provenance(runs, str(latest.model_version)))
        if latest.flagged:
            st.error("FLAGGED: the model did NOT beat the random walk out of sample — treat this prediction as "
                     "noise." + (f" ({latest.flag_reason})" if latest.flag_reason else ""))
        else:
            st.success("The model beat the random walk out of sample (see the leaderboard below).")
    st.altair_chart(alt.layer(*layers).properties(height=320), width="stretch")
    st.caption((caption + " " if caption else "") + "Adjusted closes (splits and dividends applied back in time): "
               "older prices are lower than what traded then, and than the live panel's as-traded prices.")


def sentiment_panel(ticker: str, prices: pd.DataFrame, daily: pd.DataFrame, by_subreddit: pd.DataFrame, lake: Lake) -> None:
    st.header(f"{ticker}: Reddit sentiment against price")
    if daily.empty:
        st.info(f"No Reddit sentiment for {ticker}. "
                + (empty_message(lake, SENTIMENT_DAILY) if not lake.exists(SENTIMENT_DAILY) else "Nobody discussed it."))
        return
    window = prices[(prices.trade_date >= daily.day.min()) & (prices.trade_date <= daily.day.max())]
    bars = alt.Chart(daily).mark_bar(opacity=0.6).encode(
        x=alt.X("day:T", title=None), y=alt.Y("mean_sentiment:Q", title="mean sentiment", scale=alt.Scale(domain=[-1, 1])),
        color=alt.condition("datum.mean_sentiment > 0", alt.value("#2ca02c"), alt.value("#d62728")),
        tooltip=["day:T", "posts:Q", alt.Tooltip("mean_sentiment:Q", format=".2f"), alt.Tooltip("bullish_share:Q", format=".0%")],
    )
    price = alt.Chart(window).mark_line(color="black").encode(
        x="trade_date:T", y=alt.Y("adj_close:Q", title="adjusted close", scale=alt.Scale(zero=False)))
    st.altair_chart(alt.layer(bars, price).resolve_scale(y="independent").properties(height=280), width="stretch")
    st.caption(f"{int(daily.posts.sum()):,} posts over {len(daily)} days; bars: that day's mean post sentiment, line: price.")
    if not by_subreddit.empty:
        st.subheader("Per subreddit")
        weekly = (by_subreddit.set_index("day").groupby("subreddit")
                  .resample("W").agg({"posts": "sum", "mean_sentiment": "mean"}).dropna().reset_index())
        lines = alt.Chart(weekly).mark_line(point=True).encode(
            x=alt.X("day:T", title="week"), y=alt.Y("mean_sentiment:Q", title="weekly mean sentiment"),
            color="subreddit:N", tooltip=["subreddit", "day:T", "posts:Q", alt.Tooltip("mean_sentiment:Q", format=".2f")])
        st.altair_chart(lines.properties(height=240), width="stretch")


def leaderboard_panel(runs: pd.DataFrame, lake: Lake) -> None:
    """One leaderboard per model name (the daily LSTM, the intraday one), newest run of each, newest name first."""
    st.header("Model leaderboard: the LSTM against the baselines")
    if runs.empty:
        st.info(empty_message(lake, MODEL_RUNS))
        return
    names = runs.sort_values("created_at", ascending=False).model_name.drop_duplicates()
    for name in names:
        board = views.latest_leaderboard(runs, name)
        of_name = runs[runs.model_name == name]
        newest = of_name.sort_values("created_at").iloc[-1]
        verdict = "beat" if newest.beat_random_walk else "did NOT beat"
        st.subheader(name)
        (st.success if newest.beat_random_walk else st.error)(
            f"Newest run `{newest.version}` {verdict} the random walk out of sample: RMSE {newest.rmse:.6f} vs "
            f"{newest.random_walk_rmse:.6f} over {newest.n_eval_rows:,} rows ({newest.eval_start} .. {newest.eval_end}).")
        chart = alt.Chart(board.assign(vs_walk=board.rmse_vs_random_walk * 100)).mark_bar().encode(
            x=alt.X("vs_walk:Q", title="out-of-sample RMSE vs the random walk, % (below 0 = better)"),
            y=alt.Y("model:N", sort="x", title=None),
            color=alt.condition("datum.is_model", alt.value("#1f77b4"), alt.value("#9e9e9e")),
            tooltip=["model", alt.Tooltip("rmse:Q", format=".6f"), alt.Tooltip("vs_walk:Q", format="+.2f"),
                     alt.Tooltip("ic:Q", format=".4f"), "n:Q"])
        st.altair_chart(chart.properties(height=40 * len(board) + 40), width="stretch")
        st.dataframe(board[["model", "rmse", "rmse_ci_low", "rmse_ci_high", "rmse_vs_random_walk", "mae",
                            "directional_accuracy", "ic", "ic_ci_low", "ic_ci_high", "n", "beats_random_walk"]],
                     hide_index=True, width="stretch")

main()
