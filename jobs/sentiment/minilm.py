"""The default scorer: MiniLM sentence embedding + finance cue features -> trained head."""

from __future__ import annotations

from typing import Sequence

from jobs.sentiment import head as head_module
from jobs.sentiment.base import LABELS, Post, Scored
from jobs.sentiment.cues import describe, find_cues
from jobs.sentiment.encoder import encode
from jobs.sentiment.tickers import TickerExtractor, default_extractor


class MiniLMScorer:
    name = "minilm"

    def __init__(self, extractor: TickerExtractor | None = None, threads: int | None = None, batch_size: int = 64) -> None:
        self.head = head_module.load()
        self._extractor = extractor or default_extractor()
        self._threads = threads
        self._batch_size = batch_size

    @property
    def version(self) -> str:
        return self.head.version

    def score(self, posts: Sequence[Post]) -> list[Scored]:
        texts = [p.text for p in posts]
        if not texts:
            return []
        probs = self.head.probabilities(head_module.features(encode(texts, self._batch_size, self._threads), texts))
        out = []
        for post, p in zip(posts, probs):
            best = int(p.argmax())
            score = float(p[LABELS.index("bullish")] - p[LABELS.index("bearish")])
            reason = f"{LABELS[best]} p={p[best]:.2f}; {describe(find_cues(post.text))}"
            out.append(Scored(post.id, self._extractor.extract(post.text), LABELS[best], score, reason))
        return out
