"""Token counting for LLM request budgets: the MiniLM WordPiece tokenizer (offline),
padded by a safety factor because the endpoint's own tokenizer may split finer."""

from __future__ import annotations

from functools import lru_cache

SAFETY = 1.3  # WordPiece vs. BPE vocabularies differ; overestimate rather than overflow


class TokenCounter:
    def __init__(self) -> None:
        self._tokenizer = _load()
        self.exact = self._tokenizer is not None

    def count(self, text: str) -> int:
        if self._tokenizer is not None:
            return int(len(self._tokenizer.encode(text, add_special_tokens=False).ids) * SAFETY) + 1
        return len(text) // 3 + 1  # conservative: about 4 characters per token in English

    def truncate(self, text: str, max_tokens: int) -> tuple[str, bool]:
        """The longest prefix of `text` within `max_tokens` (counted as above) and whether it was cut."""
        if self.count(text) <= max_tokens:
            return text, False
        if self._tokenizer is not None:
            encoding = self._tokenizer.encode(text, add_special_tokens=False)
            keep = max(1, int(max_tokens / SAFETY) - 1)
            end = encoding.offsets[min(keep, len(encoding.offsets)) - 1][1]
            return text[:end], True
        return text[: max(1, (max_tokens - 1) * 3)], True


@lru_cache(maxsize=1)
def _load():
    try:
        from tokenizers import Tokenizer

        from jobs.sentiment.encoder import model_dir

        return Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    except Exception:  # no tokenizer available: fall back to the character estimate
        return None
