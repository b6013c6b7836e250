"""Pick a scorer by name (from --scorer or PULSELAKE_SENTIMENT_SCORER)."""

from __future__ import annotations

from jobs.sentiment.base import Scorer
from jobs.sentiment.config import SentimentSettings

SCORERS = ("minilm", "llm", "vader")


def make_scorer(name: str | None = None, settings: SentimentSettings | None = None) -> Scorer:
    settings = settings or SentimentSettings()
    chosen = (name or settings.scorer).lower()
    if chosen == "minilm":
        from jobs.sentiment.minilm import MiniLMScorer

        return MiniLMScorer(threads=settings.threads or None)
    if chosen == "vader":
        from jobs.sentiment.vader import VaderScorer

        return VaderScorer()
    if chosen == "llm":
        from jobs.sentiment.llm import LLMScorer

        return LLMScorer(settings)
    raise ValueError(f"unknown scorer {chosen!r}; choose one of {', '.join(SCORERS)}")
