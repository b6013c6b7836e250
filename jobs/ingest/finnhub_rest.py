"""Finnhub REST on `finnhub-python`: quote, company profile, daily candles.

Every call takes a token from a shared bucket first (the free tier allows 60
calls a minute), and is retried with jittered exponential backoff on 429 and
5xx (honouring ``Retry-After``) and on transport faults (reset, timeout,
truncated or non-JSON body). A 403 on candles means the key's plan lacks
the endpoint: it becomes `PaidPlanRequired` with a plain message. The API key
never appears in a message: request errors from `requests` carry the URL, and
with it the token, so they are re-raised scrubbed.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timezone
from typing import Any, Callable

import finnhub
import requests
from finnhub.exceptions import FinnhubAPIException, FinnhubRequestException
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from jobs.resources.http_errors import describe
from jobs.resources.ratelimit import TokenBucket
from jobs.resources.redact import redact

DEFAULT_API_URL = finnhub.Client.API_URL
FREE_TIER_CALLS_PER_MINUTE = 60


class FinnhubError(RuntimeError):
    """A Finnhub call failed for good; the message is safe to print."""


class PaidPlanRequired(FinnhubError):
    pass


def _body(response: requests.Response) -> Any:
    """The JSON body, or None when there is none (not JSON, or nested past Python's recursion limit)."""
    try:
        return response.json()
    except (ValueError, RecursionError):
        return None


class FinnhubAPIError(FinnhubAPIException):
    """finnhub-python's HTTP error, made from any body: its own constructor fails on a body that is JSON
    but no object (`null`, a list) and on deeply nested JSON, and may leave a message that is no text."""

    def __init__(self, response: requests.Response) -> None:
        Exception.__init__(self)
        body = _body(response)
        error = body.get("error") if isinstance(body, dict) else None
        self.code, self.status_code, self.response = 0, response.status_code, response
        self.message = str(error) if error is not None else (response.text[:200] or f"HTTP {response.status_code}")


class ConfiguredClient(finnhub.Client):
    """finnhub.Client with its base URL taken from the caller (FINNHUB_API_URL) instead of the class constant."""

    def __init__(self, api_key: str, api_url: str | None = None, timeout: float = 10.0) -> None:
        super().__init__(api_key)
        self.API_URL = (api_url or DEFAULT_API_URL).rstrip("/")
        self.DEFAULT_TIMEOUT = timeout

    @staticmethod
    def _handle_response(response: requests.Response) -> dict[str, Any]:
        """A JSON object (every endpoint we call answers one) or an exception `_call` makes plain; the
        library's own version also returns lists and text, and fails on some bodies."""
        if not response.ok:
            raise FinnhubAPIError(response)
        body = _body(response)
        if not isinstance(body, dict):
            raise FinnhubRequestException(f"Invalid Response: not a JSON object: {response.text[:200]}")
        return body


def _retryable(exc: BaseException) -> bool:
    """429 and 5xx, and transport faults: resets, timeouts, truncated or unparsable bodies (a proxy's error page)."""
    if isinstance(exc, FinnhubAPIException):
        return exc.status_code == 429 or exc.status_code >= 500
    return isinstance(exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                            FinnhubRequestException))


def _retry_after(exc: BaseException | None) -> float | None:
    if isinstance(exc, FinnhubAPIException):
        value = exc.response.headers.get("Retry-After")
        try:
            after = float(value) if value is not None else None
        except ValueError:
            return None
        return after if after is not None and after >= 0 else None  # NaN and negatives: our own backoff
    return None


class FinnhubRest:
    def __init__(
        self,
        api_key: str,
        api_url: str | None = None,
        bucket: TokenBucket | None = None,
        max_attempts: int = 5,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        timeout_s: float = 10.0,
    ) -> None:
        if not api_key:
            raise FinnhubError("no Finnhub API key: set FINNHUB_API_KEY")
        self._api_key = api_key
        self.client = ConfiguredClient(api_key, api_url, timeout_s)
        self.bucket = bucket or TokenBucket(FREE_TIER_CALLS_PER_MINUTE, capacity=1)
        self.max_attempts = max_attempts
        # initial * 2^(n-1) plus up to `initial` of jitter (tenacity's default jitter is a flat second)
        self._jitter = wait_exponential_jitter(multiplier=backoff_initial_s, max=backoff_max_s, jitter=backoff_initial_s)
        self.backoff_max_s = backoff_max_s
        self.attempts = 0  # HTTP requests made, retries included

    @classmethod
    def from_env(cls, **kwargs: Any) -> "FinnhubRest":
        """Key and URL from FINNHUB_API_KEY / FINNHUB_API_URL; FINNHUB_TIMEOUT_S (default 10),
        FINNHUB_MAX_ATTEMPTS (default 5) and FINNHUB_BACKOFF_S (first retry wait, default 0.5) tune the retries,
        FINNHUB_CALLS_PER_MINUTE (default 60, the free tier) the client's own rate limit."""
        knobs = (("FINNHUB_TIMEOUT_S", "timeout_s", float), ("FINNHUB_MAX_ATTEMPTS", "max_attempts", int),
                 ("FINNHUB_BACKOFF_S", "backoff_initial_s", float), ("FINNHUB_CALLS_PER_MINUTE", "bucket", int))
        for env, name, kind in knobs:
            if os.environ.get(env):
                try:
                    value = kind(os.environ[env])
                except ValueError:
                    raise FinnhubError(f"{env}={os.environ[env]!r} is not a number") from None
                kwargs.setdefault(name, TokenBucket(value, capacity=1) if name == "bucket" else value)
        return cls(os.environ.get("FINNHUB_API_KEY", ""), os.environ.get("FINNHUB_API_URL") or None, **kwargs)

    def close(self) -> None:
        self.client.close()

    # ----------------------------------------------------------- endpoints ---

    def quote(self, symbol: str) -> dict[str, Any]:
        return self._call("quote", self.client.quote, symbol.upper())

    def profile(self, symbol: str) -> dict[str, Any]:
        return self._call("company profile", self.client.company_profile2, symbol=symbol.upper())

    def candles(self, symbol: str, start: date, end: date, resolution: str = "D") -> dict[str, Any]:
        first = int(datetime.combine(start, time.min, tzinfo=timezone.utc).timestamp())
        last = int(datetime.combine(end, time.max, tzinfo=timezone.utc).timestamp())
        return self._call("daily candles", self.client.stock_candles, symbol.upper(), resolution, first, last)

    # ------------------------------------------------------------- calling ---

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        after = _retry_after(exc)
        return min(after, self.backoff_max_s) if after is not None else self._jitter(state)

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def attempt() -> Any:
            self.bucket.acquire()
            self.attempts += 1
            return fn(*args, **kwargs)

        retrying = Retrying(retry=retry_if_exception(_retryable), wait=self._wait,
                            stop=stop_after_attempt(self.max_attempts), reraise=True)
        try:
            return retrying(attempt)
        except FinnhubAPIException as exc:
            tries = retrying.statistics.get("attempt_number", 1)
            if exc.status_code == 403:
                raise PaidPlanRequired(
                    f"Finnhub refused {what} (HTTP 403: {self._scrub(exc.message)}). This endpoint needs a paid plan "
                    "for your API key; the free tier covers quotes and company profiles."
                ) from None
            if exc.status_code == 401:
                raise FinnhubError(f"Finnhub rejected the API key (HTTP 401) for {what}; check FINNHUB_API_KEY") from None
            raise FinnhubError(f"Finnhub {what} failed with HTTP {exc.status_code} after "
                               f"{tries} attempts: {self._scrub(exc.message)}") from None
        except FinnhubRequestException as exc:
            raise FinnhubError(f"Finnhub {what} failed after {retrying.statistics.get('attempt_number', 1)} attempts: "
                               f"the answer is not a JSON object ({self._scrub(exc.message)[:120]})") from None
        except requests.RequestException as exc:
            raise FinnhubError(f"Finnhub {what} failed after {retrying.statistics.get('attempt_number', 1)} attempts: "
                               f"{describe(exc)}") from None

    def _scrub(self, text: str) -> str:
        return redact(text, self._api_key)
