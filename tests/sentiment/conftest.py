"""Sentiment fixtures: the MiniLM scorer is loaded once for the whole session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def minilm():
    from jobs.sentiment.minilm import MiniLMScorer

    return MiniLMScorer()


@pytest.fixture
def llm_server():
    from jobs.local.llm_server import DevServer

    with DevServer() as server:
        yield server


@pytest.fixture
def llm_settings(llm_server, tmp_path):
    from jobs.sentiment.config import SentimentSettings

    return SentimentSettings(
        scorer="llm", llm_base_url=llm_server.base_url, llm_model="fake-finance-1", llm_api_key="test-key",
        llm_cache_path=str(tmp_path / "llm_cache.sqlite"), llm_requests_per_minute=6000, llm_tokens_per_minute=10_000_000,
        llm_max_backoff_s=5,
    )
