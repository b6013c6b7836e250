"""The generic baseline: VADER's lexicon, which knows nothing about puts or shorts."""

from __future__ import annotations

from typing import Sequence

from jobs.sentiment.base import Post, Scored, label_for
from jobs.sentiment.tickers import TickerExtractor, default_extractor


class VaderScorer:
    name = "vader"

    def __init__(self, extractor: TickerExtractor | None = None) -> None:
        from importlib.metadata import version

        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._analyzer = SentimentIntensityAnalyzer()
        self._extractor = extractor or default_extractor()
        self.version = f"vader-{version('vaderSentiment')}"

    def score(self, posts: Sequence[Post]) -> list[Scored]:
        out = []
        for post in posts:
            polarity = self._analyzer.polarity_scores(post.text)
            compound = float(polarity["compound"])
            label = label_for(compound)
            reason = f"vader compound {compound:+.2f} (pos {polarity['pos']:.2f}, neg {polarity['neg']:.2f})"
            out.append(Scored(post.id, self._extractor.extract(post.text), label, compound, reason))
        return out
