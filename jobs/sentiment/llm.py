"""The LLM scorer: any OpenAI-compatible chat-completions endpoint.

Many posts go in one request, packed up to a token budget. The model answers a
JSON object validated with pydantic; every answer is mapped back by post id,
and posts whose answer is missing or invalid are re-queued into a later batch.
Over-long posts are truncated and flagged, never dropped. Requests and tokens
per minute pass through token buckets; 429, 5xx, resets, timeouts and cut-off
bodies are retried with backoff that honours Retry-After (tenacity); a body
that is not a chat completion re-queues its posts. Valid answers are cached by content hash.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Literal, Sequence

import requests
from pydantic import BaseModel, Field, ValidationError, field_validator
from tenacity import RetryCallState, retry, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from jobs.resources.http_errors import describe
from jobs.resources.ratelimit import TokenBucket
from jobs.resources.redact import redact
from jobs.sentiment.base import Post, Scored
from jobs.sentiment.cache import AnswerCache
from jobs.sentiment.config import SentimentSettings
from jobs.sentiment.tickers import TickerExtractor, default_extractor
from jobs.sentiment.tokens import TokenCounter

PROMPT_VERSION = "1"
SYSTEM_PROMPT = """You rate social-media posts and news about stocks for a trader.
For every post, return: the tickers it talks about (upper-case symbols), a score from -1 (bearish for the stock) to 1 (bullish),
a label (bullish, neutral or bearish) and a reason of at most 20 words.
Judge the direction for the STOCK, not the mood of the writer: buying puts or shorting is bearish ("puts printing",
"we'll make money shorting this"); shorts or bears losing is bullish ("bears getting wrecked"). Sarcasm counts as its
meaning. Questions and announcements without direction are neutral.
Reply with ONLY a JSON object: {"results": [{"id": "<post id>", "tickers": ["..."], "score": 0.0, "label": "neutral", "reason": "..."}]}
with exactly one result per post id you were given."""


class PostAnswer(BaseModel):
    id: str
    tickers: list[str] = Field(default_factory=list)
    score: float = Field(ge=-1.0, le=1.0)
    label: Literal["bullish", "neutral", "bearish"]
    reason: str = Field(min_length=1, max_length=400)

    @field_validator("reason", mode="before")
    @classmethod
    def _stripped(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value  # "   " is no reason

    @field_validator("tickers")
    @classmethod
    def _symbols(cls, value: list[str]) -> list[str]:
        return [t.strip().lstrip("$").upper() for t in value if t and t.strip().lstrip("$")]


def parse_answers(content: object, wanted: set[str]) -> dict[str, dict]:
    """The valid answers in a model's reply, by post id (the first for each id asked about); anything
    else in the reply is left out, so its posts are re-queued. Never raises. Pure."""
    try:
        results = json.loads(content)["results"]  # type: ignore[arg-type]
        if not isinstance(results, list):
            raise TypeError("results is not a list")
    except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: nested past Python's limit
        return {}
    valid: dict[str, dict] = {}
    for raw in results:
        try:
            answer = PostAnswer.model_validate(raw)
        except ValidationError:
            continue
        if answer.id in wanted and answer.id not in valid:
            valid[answer.id] = answer.model_dump(exclude={"id"})
    return valid


class LLMError(RuntimeError):
    """The endpoint could not be used at all (not configured, refuses, keeps failing)."""


class RetryableHTTP(Exception):
    def __init__(self, status: int, retry_after: float | None, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:200]}")
        self.status, self.retry_after = status, retry_after


@dataclass
class LLMStats:
    posts: int = 0
    cache_hits: int = 0
    requests: int = 0
    http_retries: int = 0
    requeued: int = 0
    truncated: int = 0
    failed: int = 0
    bad_responses: int = 0  # HTTP 200 whose body was not a chat completion (its posts were re-queued)
    prompt_tokens_estimated: int = 0
    rate_limited_s: float = 0.0
    retry_after_honoured: list[float] = field(default_factory=list)


@dataclass
class _Pending:
    key: str  # content hash: the cache key and the unit of work
    request_id: str
    text: str  # possibly truncated
    truncated: bool
    tokens: int
    attempts: int = 0


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class LLMScorer:
    name = "llm"

    def __init__(self, settings: SentimentSettings | None = None, extractor: TickerExtractor | None = None,
                 session: requests.Session | None = None) -> None:
        self.settings = s = settings or SentimentSettings()
        if not s.llm_base_url or not s.llm_model:
            raise LLMError("the llm scorer needs LLM_BASE_URL and LLM_MODEL (and LLM_API_KEY if the endpoint wants one)")
        self._url = s.llm_base_url.rstrip("/") + "/chat/completions"
        self._extractor = extractor or default_extractor()
        self._session = session or requests.Session()
        self._tokens = TokenCounter()
        self._cache = AnswerCache(s.llm_cache_path)
        self._request_bucket = TokenBucket(s.llm_requests_per_minute)
        self._token_bucket = TokenBucket(s.llm_tokens_per_minute)
        self._system_tokens = self._tokens.count(SYSTEM_PROMPT) + 20
        self.stats = LLMStats()

    @property
    def version(self) -> str:
        return f"llm-{self.settings.llm_model}-p{PROMPT_VERSION}"

    # ------------------------------------------------------------ public ---

    def score(self, posts: Sequence[Post]) -> list[Scored]:
        self.stats.posts += len(posts)
        prepared: list[_Pending] = []
        by_key: dict[str, _Pending] = {}
        used_ids: set[str] = set()
        for post in posts:
            key = self._key(post.text)
            if key not in by_key:
                text, cut = self._tokens.truncate(post.text, self.settings.llm_post_tokens)
                request_id = post.id if post.id not in used_ids else f"{post.id}#{len(used_ids)}"
                used_ids.add(request_id)
                by_key[key] = _Pending(key, request_id, text, cut, self._tokens.count(json.dumps({"id": request_id, "text": text})) + 4)
            prepared.append(by_key[key])
        answers = self._cache.get_many(list(by_key))
        self.stats.cache_hits += sum(1 for p in prepared if p.key in answers)
        queue = deque(p for p in by_key.values() if p.key not in answers)
        failed: set[str] = set()
        while queue:
            batch = self._next_batch(queue)
            fresh = self._ask(batch)
            good = {}
            for item in batch:
                answer = fresh.get(item.request_id)
                if answer is not None:
                    good[item.key] = answer
                    continue
                item.attempts += 1
                if item.attempts < self.settings.llm_attempts_per_post:
                    self.stats.requeued += 1
                    queue.append(item)
                else:
                    failed.add(item.key)
            self._cache.put_many(good)
            answers.update(good)
        out = []
        for post, item in zip(posts, prepared):
            self.stats.truncated += int(item.truncated)
            if item.key in failed:
                self.stats.failed += 1
                out.append(Scored(post.id, self._extractor.extract(post.text), "neutral", 0.0,
                                  f"llm gave no valid answer after {self.settings.llm_attempts_per_post} tries",
                                  item.truncated, {"failed": True}))
                continue
            answer = answers[item.key]
            tickers = self._extractor.extract(post.text)
            tickers += [t for t in answer["tickers"] if t in self._extractor.known and t not in tickers]
            out.append(Scored(post.id, tickers, answer["label"], float(answer["score"]), answer["reason"], item.truncated))
        return out

    # ----------------------------------------------------------- helpers ---

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.settings.llm_model}\x1f{PROMPT_VERSION}\x1f{text}".encode()).hexdigest()

    def _next_batch(self, queue: deque[_Pending]) -> list[_Pending]:
        s = self.settings
        budget = s.llm_batch_tokens - self._system_tokens
        batch: list[_Pending] = [queue.popleft()]  # one post always fits: it was truncated to fit
        used = batch[0].tokens
        while queue and len(batch) < s.llm_batch_posts and used + queue[0].tokens <= budget:
            item = queue.popleft()
            batch.append(item)
            used += item.tokens
        return batch

    def _ask(self, batch: list[_Pending]) -> dict[str, dict]:
        """Send one batch; return the valid answers by request id (invalid ones are left out)."""
        s = self.settings
        user = json.dumps({"posts": [{"id": p.request_id, "text": p.text} for p in batch]}, ensure_ascii=False)
        prompt_tokens = self._system_tokens + sum(p.tokens for p in batch)
        max_tokens = 50 + s.llm_output_tokens_per_post * len(batch)
        body = {
            "model": s.llm_model,
            "temperature": 0,
            "max_tokens": max_tokens,
            "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}],
        }
        self.stats.prompt_tokens_estimated += prompt_tokens
        return parse_answers(self._post(body, prompt_tokens + max_tokens), {p.request_id for p in batch})

    def _post(self, body: dict, tokens: int) -> str:
        s = self.settings

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, RetryableHTTP) and error.retry_after is not None:
                self.stats.retry_after_honoured.append(error.retry_after)
                return min(error.retry_after, s.llm_max_backoff_s)
            return wait_exponential_jitter(multiplier=0.5, max=s.llm_max_backoff_s)(state)

        def count_retry(state: RetryCallState) -> None:
            self.stats.http_retries += 1

        @retry(retry=retry_if_exception_type((RetryableHTTP, requests.ConnectionError, requests.Timeout,
                                              requests.exceptions.ChunkedEncodingError)),
               wait=wait, stop=stop_after_attempt(s.llm_http_attempts), before_sleep=count_retry, reraise=True)
        def send() -> str:
            self.stats.rate_limited_s += self._request_bucket.acquire(1) + self._token_bucket.acquire(tokens)
            self.stats.requests += 1
            headers = {"Content-Type": "application/json"}
            key = s.llm_api_key.get_secret_value()
            if key:
                headers["Authorization"] = f"Bearer {key}"
            response = self._session.post(self._url, json=body, headers=headers, timeout=s.llm_timeout_s)
            if response.status_code >= 400:
                text = redact(response.text, key)  # an endpoint may echo the key it refused
                if response.status_code == 429 or response.status_code >= 500:
                    raise RetryableHTTP(response.status_code, _retry_after(response.headers.get("Retry-After")), text)
                raise LLMError(f"the LLM endpoint refused the request: HTTP {response.status_code} {text[:200]}")
            try:
                return response.json()["choices"][0]["message"]["content"] or ""
            except (ValueError, KeyError, IndexError, TypeError, RecursionError):
                self.stats.bad_responses += 1
                return ""  # not a chat completion: every post in the batch is re-queued

        try:
            return send()
        except RetryableHTTP as error:
            raise LLMError(f"the LLM endpoint kept failing after {s.llm_http_attempts} tries: {error}") from None
        except requests.RequestException as error:
            raise LLMError(f"the LLM endpoint kept failing after {s.llm_http_attempts} tries: {describe(error)}") from None
