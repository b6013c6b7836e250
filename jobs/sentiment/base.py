"""The one interface every scorer speaks, so commands and jobs never care which runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Protocol, Sequence

LABELS: tuple[str, ...] = ("bearish", "neutral", "bullish")


@dataclass(frozen=True)
class Post:
    id: str
    text: str


@dataclass
class Scored:
    id: str
    tickers: list[str]
    label: str  # bullish | neutral | bearish
    score: float  # -1 (bearish) .. +1 (bullish)
    reason: str
    truncated: bool = False  # the scorer saw only the start of an over-long post
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """The wire shape of `pulselake sentiment score`."""
        row = {k: v for k, v in asdict(self).items() if k in ("id", "tickers", "label", "score", "reason")}
        row["score"] = round(float(self.score), 4)
        if self.truncated:
            row["truncated"] = True
        return row


class Scorer(Protocol):
    name: str

    @property
    def version(self) -> str:
        """Changes whenever the scores could change; the lake re-scores on a new version."""
        ...

    def score(self, posts: Sequence[Post]) -> list[Scored]:
        """One result per post, in the order given."""
        ...


def label_for(score: float, threshold: float = 0.05) -> str:
    if score >= threshold:
        return "bullish"
    if score <= -threshold:
        return "bearish"
    return "neutral"
