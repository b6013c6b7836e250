"""The dashboard as a person uses it: `streamlit run` as a real process on a loopback port over a
small pipeline-built lake, opened in Debian's headless Chromium (driven by Playwright). The page
loads, its charts render, choosing another ticker changes what is shown, and a screenshot of each
ticker is kept in tests/artifacts/ (git-ignored) for a human to look at."""

from __future__ import annotations

import time

import pytest

from tests.dashboard.served import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, served_dashboard

CHART = '[data-testid="stVegaLiteChart"]'


@pytest.fixture
def dashboard(small_lake, tmp_path):
    """The app served by a real `streamlit run` on a free 127.0.0.1 port; yields its URL."""
    with served_dashboard(small_lake, tmp_path / "streamlit.log", PULSELAKE_DASHBOARD_TTL="30") as url:
        yield url


def rendered_charts(page, at_least: int, timeout_s: float = 120) -> int:
    """Wait until at least `at_least` Vega charts have drawn a non-empty canvas or SVG."""
    deadline = time.monotonic() + timeout_s
    while True:
        drawn = page.evaluate(
            """sel => [...document.querySelectorAll(sel)].filter(chart => {
                   const surface = chart.querySelector('canvas, svg.marks');
                   if (!surface) return false;
                   const box = surface.getBoundingClientRect();
                   return box.width > 50 && box.height > 50;
               }).length""",
            CHART,
        )
        if drawn >= at_least or time.monotonic() > deadline:
            return drawn
        time.sleep(0.5)


def shown(page) -> dict[str, str]:
    """The per-ticker facts on the page: headings and metric values."""
    return {
        "headings": " | ".join(page.locator("h2").all_inner_texts()),
        "metrics": " | ".join(page.locator('[data-testid="stMetricValue"]').all_inner_texts()),
    }


def test_dashboard_renders_its_charts_and_follows_the_ticker_selection(dashboard, small_lake):
    from playwright.sync_api import expect, sync_playwright

    from jobs.dashboard.data import tickers
    from jobs.resources.lake import Lake
    from jobs.resources.settings import Settings

    # The four tickers of the small lake, scored and discussed; the page opens on the first.
    first, other = tickers(Lake(None, Settings(lake_root=str(small_lake))))[:2]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            # tall enough that Streamlit's scrolling main area fits: the screenshot shows the whole page
            page = browser.new_page(viewport={"width": 1400, "height": 2800})
            page.goto(dashboard, wait_until="domcontentloaded")
            expect(page.get_by_role("heading", name=f"{first}: price and predicted next-day move")).to_be_visible(timeout=120_000)
            # price + prediction, sentiment vs price, sentiment per subreddit, leaderboard
            assert rendered_charts(page, 4) >= 4
            text = page.locator("body").inner_text()
            assert "Stream freshness" in text and "newest trade received" in text and " ago" in text
            assert "Predicted return" in text and ("FLAGGED: the model did NOT beat the random walk" in text
                                                   or "The model beat the random walk out of sample" in text)
            assert "Per subreddit" in text and "random_walk" in text and "lstm" in text
            assert "read gold.daily_features v" in text and "pulselake models reproduce tiny-" in text  # provenance
            before = shown(page)
            page.screenshot(path=str(ARTIFACTS / "dashboard_first_ticker.png"), full_page=True)

            page.locator('[data-testid="stSelectbox"]').first.click()
            page.get_by_role("option", name=other, exact=True).click()
            expect(page.get_by_role("heading", name=f"{other}: price and predicted next-day move")).to_be_visible(timeout=60_000)
            expect(page.get_by_role("heading", name=f"{other}: Reddit sentiment against price")).to_be_visible(timeout=60_000)
            assert rendered_charts(page, 4) >= 4
            after = shown(page)
            assert first not in after["headings"] and other in after["headings"]
            assert after["metrics"] != before["metrics"]  # the other ticker's predicted move
            page.screenshot(path=str(ARTIFACTS / "dashboard_second_ticker.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "dashboard_first_ticker.png").stat().st_size > 10_000
