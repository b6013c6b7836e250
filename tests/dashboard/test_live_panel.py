"""Real-time prediction end to end: the embedded Finnhub server replays a trading day over its websocket, the
real collector publishes its frames into Kafka, the freshness stream takes them into silver and bars and scores
every symbol whose bars moved with the registered intraday model, the live scorecard judges what has resolved,
and the dashboard's live panel, open in Chromium, updates by itself while the next day is fed."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from jobs.models import live
from jobs.models.scorecard import MIN_VERDICT
from jobs.resources.lake import Lake
from lake_schema.models import LIVE_PREDICTIONS, LIVE_SCORECARD
from tests.dashboard.served import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, served_dashboard
from jobs.local.replay.finnhub_ws import FinnhubReplayConfig
from tests.ingest.helpers import API_KEY, collect_from_replay
from tests.models.intraday_data import SYMBOLS, config_toml, last_days, tiny_intraday_config, train_tiny_model

pytestmark = pytest.mark.slow  # Kafka, the stream, TensorFlow and a browser

NEWEST = re.compile(r"Newest prediction made (\d{4}-\d\d-\d\d \d\d:\d\d)")


def collect_day(kafka, day: date) -> int:
    """The embedded Finnhub server replays `day` (unpaced) to the real collector, which publishes every frame
    into Kafka; the number of trade frames (Kafka records) it published. On a thread of its own: the collector
    runs an event loop, and Playwright's sync API already holds this thread's."""
    config = FinnhubReplayConfig(symbols=SYMBOLS, start=day, days=1, trades_per_day=390, speedup=0,
                                 api_key=API_KEY)
    with ThreadPoolExecutor(1) as pool:
        stats, sent, _ = pool.submit(collect_from_replay, kafka, config, SYMBOLS, 120.0).result()
    assert stats.trades == len(sent) > 0 and not stats.kafka.get("failed"), stats.summary()
    return stats.trade_frames


def kafka_table(page) -> str:
    """The Kafka lag table's text (the last table on the live section: topics and their counts)."""
    tables = page.locator("table").all_inner_texts()
    return next((t for t in reversed(tables) if "not yet in bronze" in t), "")


def newest_shown(page) -> str | None:
    found = NEWEST.search(page.locator("body").inner_text())
    return found.group(1) if found else None


def wait_for(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(0.5)
    return value


def run_available_now(lake, **config) -> tuple[list, list]:
    """The freshness stream (scoring on) until it has taken what the topic holds and scored what it moved; its
    batch reports and its scoring reports."""
    from jobs.stream.query import StreamConfig, start_stream

    reports, scored = [], []
    stream = start_stream(lake, StreamConfig(available_now=True, **config), on_batch=reports.append,
                          on_score=scored.append)
    try:
        assert stream.await_termination(300), "the stream did not catch up in 300 s"
    finally:
        stream.stop()  # scores what is left
    return reports, scored


def test_the_stream_scores_live_and_the_dashboard_follows_it(spark, lake, kafka, tmp_path):
    from playwright.sync_api import sync_playwright

    days = last_days(6)
    trained = train_tiny_model(spark, lake, days[:4])
    assert trained.tables, trained.notes
    config_file = tmp_path / "intraday_test.toml"
    config_file.write_text(config_toml(tiny_intraday_config()))
    lake = Lake(spark, lake.settings.model_copy(update={"intraday_config": str(config_file)}))  # the stream scores with it
    for cache in (live.LOADS, live._CURRENT, live._LOADED):
        cache.clear()

    with served_dashboard(lake.settings.lake_root, tmp_path / "live.log", PULSELAKE_DASHBOARD_LIVE_S="2") as url, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2000})
            page.goto(url, wait_until="domcontentloaded")
            wait_for(lambda: "No live predictions yet" in page.locator("body").inner_text(), 120, "the empty live panel")

            first_records = collect_day(kafka, days[4])
            first, first_scored = run_available_now(lake, max_offsets_per_trigger=first_records // 3 + 1)
            assert len(first) >= 3 and sum(r.records for r in first) == first_records
            shown_first = wait_for(lambda: newest_shown(page), 60, "the first live predictions on the page")

            lag_before = kafka_table(page)
            later_records = collect_day(kafka, days[5])
            # No reload: the Kafka lag refreshes with the live numbers (records waiting, then taken).
            wait_for(lambda: kafka_table(page) != lag_before, 60, "the Kafka lag table to change by itself")
            second, second_scored = run_available_now(lake, max_offsets_per_trigger=later_records // 3 + 1)
            assert sum(r.records for r in second) == later_records
            # No reload: the panel refreshes by itself, to the newest prediction the stream wrote (it may show one
            # made mid-run first, while the stream's batches are still coming).
            newest = lake.read_small(LIVE_PREDICTIONS).predicted_at.max().strftime("%Y-%m-%d %H:%M")
            shown_later = wait_for(lambda: (t := newest_shown(page)) == newest and t, 60, f"the panel to show {newest}")
            text = page.locator("body").inner_text()
            page.screenshot(path=str(ARTIFACTS / "dashboard_live_panel.png"), full_page=True)
        finally:
            browser.close()

    predictions = lake.read_small(LIVE_PREDICTIONS)
    assert shown_first.startswith(str(days[4])) and shown_later.startswith(str(days[5]))
    assert shown_first != shown_later == newest
    assert set(predictions.symbol) == set(SYMBOLS) and not predictions.duplicated(["symbol", "predicted_at"]).any()
    assert set(predictions.predicted_at.dt.date) == {days[4], days[5]}
    # every batch's bars were scored, beside the batches (each batch is scored in order while few wait)
    scored = [r for r in first_scored + second_scored if r.tables.get(LIVE_PREDICTIONS.name)]
    assert len(scored) >= 4 and all(r.moved for r in first + second)
    assert list(live.LOADS.values()) == [1]  # the model was loaded once for every batch the stream scored
    card = lake.read_small(LIVE_SCORECARD).set_index("scope")
    assert set(card.index) == {*SYMBOLS, "*"} and (card.resolved > 0).all()
    assert card.loc["*", "resolved"] == card.drop("*").resolved.sum()
    assert "Live scorecard, all symbols" in text and all(symbol in text for symbol in SYMBOLS)
    evidence = re.search(r"n = (\d+) resolved predictions", text)  # the evidence behind the figures, as shown then
    assert evidence and 0 < int(evidence.group(1)) <= card.loc["*", "resolved"], text
    if int(evidence.group(1)) < MIN_VERDICT:
        assert "Not enough evidence yet" in text and "the model beats the random walk —" not in text
    assert "a replay of " in text and "stale" not in text  # 2010 trades received now: a replay, not stale
    assert "•" not in text  # empty cells are blank
    log = (tmp_path / "live.log").read_text()
    assert "deprecat" not in log.lower(), log[-3000:]  # no use_container_width (or other) deprecation warnings
    assert ("FLAGGED" in text) == bool(predictions.flagged.any())
