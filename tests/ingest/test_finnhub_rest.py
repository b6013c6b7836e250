"""The REST client (finnhub-python) against the local Finnhub REST stand-in, over loopback HTTP."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest

from jobs.ingest.finnhub_rest import FinnhubError, FinnhubRest, PaidPlanRequired
from jobs.local.replay.finnhub_rest import FinnhubRestConfig, FinnhubRestFake
from jobs.local.replay.intraday import daily_bars
from jobs.resources.ratelimit import TokenBucket

KEY = "rest-secret-key"


def _client(fake: FinnhubRestFake, **kwargs) -> FinnhubRest:
    kwargs.setdefault("bucket", TokenBucket(per_minute=60_000, capacity=10))
    return FinnhubRest(KEY, fake.url, backoff_initial_s=0.05, backoff_max_s=0.5, **kwargs)


def test_quote_and_profile_come_from_the_bundled_data():
    with FinnhubRestFake(FinnhubRestConfig(api_key=KEY, as_of=date(2010, 1, 5))) as fake:
        client = _client(fake)
        quote = client.quote("aapl")
        profile = client.profile("MSFT")
    bar = daily_bars()["AAPL"][date(2010, 1, 5)]
    assert (quote["o"], quote["h"], quote["l"], quote["c"]) == (bar.open, bar.high, bar.low, bar.close)
    assert profile["ticker"] == "MSFT" and "Microsoft" in profile["name"]


def test_candles_403_gives_a_clear_message_and_no_retry():
    with FinnhubRestFake(FinnhubRestConfig(api_key=KEY)) as fake:
        client = _client(fake)
        with pytest.raises(PaidPlanRequired, match="paid plan"):
            client.candles("AAPL", date(2010, 1, 4), date(2010, 1, 8))
        assert [r[2] for r in fake.requests] == [403]


def test_candles_when_the_plan_allows_them():
    with FinnhubRestFake(FinnhubRestConfig(api_key=KEY, candles_allowed=True)) as fake:
        candles = _client(fake).candles("AAPL", date(2010, 1, 4), date(2010, 1, 8))
    assert candles["s"] == "ok" and len(candles["c"]) == 5


def test_429_waits_for_retry_after_then_succeeds():
    with FinnhubRestFake(FinnhubRestConfig(api_key=KEY, faults=[429], retry_after_s=1)) as fake:
        client = _client(fake)
        client.backoff_max_s = 5
        started = time.monotonic()
        assert client.quote("IBM")["c"] > 0
        waited = time.monotonic() - started
        statuses = [r[2] for r in fake.requests]
        gap = fake.requests[1][0] - fake.requests[0][0]
    assert statuses == [429, 200]
    assert gap >= 0.95 and waited < 5  # honoured Retry-After: 1, not the 0.05 s backoff


def test_5xx_is_retried_with_backoff():
    with FinnhubRestFake(FinnhubRestConfig(api_key=KEY, faults=[500, 503, 502])) as fake:
        client = _client(fake)
        assert client.quote("IBM")["c"] > 0
        assert [r[2] for r in fake.requests] == [500, 503, 502, 200]
        assert client.attempts == 4


def test_persistent_5xx_ends_in_a_clear_error_without_the_key():
    with FinnhubRestFake(FinnhubRestConfig(api_key=KEY, faults=[503] * 10)) as fake:
        client = _client(fake, max_attempts=3)
        with pytest.raises(FinnhubError, match="HTTP 503 after 3 attempts") as caught:
            client.quote("IBM")
        assert len(fake.requests) == 3
    assert KEY not in str(caught.value)


def test_unreachable_server_message_hides_the_key():
    with FinnhubRestFake() as fake:
        url = fake.url
    client = FinnhubRest(KEY, url, bucket=TokenBucket(60_000, 10), max_attempts=2, backoff_initial_s=0.01, timeout_s=1)
    with pytest.raises(FinnhubError) as caught:
        client.quote("AAPL")
    assert KEY not in str(caught.value)


def test_wrong_key_is_a_clear_error():
    with FinnhubRestFake(FinnhubRestConfig(api_key=KEY)) as fake:
        client = FinnhubRest("nope", fake.url, bucket=TokenBucket(60_000, 10))
        with pytest.raises(FinnhubError, match="401"):
            client.quote("AAPL")


def test_token_bucket_holds_its_rate_across_threads():
    bucket = TokenBucket(per_minute=40 * 60, capacity=2)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            bucket.acquire()
            with lock:
                stamps.append(time.monotonic())

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    elapsed = time.monotonic() - started
    # 40 calls at 40/s with a burst of 2: at least (40 - 2) / 40 s, and not much slower
    assert len(stamps) == 40
    assert 0.95 * 38 / 40 <= elapsed < 3.0
    stamps.sort()
    for i in range(len(stamps)):  # no window ever holds more than burst + rate * length calls
        for j in range(i + 1, len(stamps)):
            assert j - i + 1 <= 2 + 40 * (stamps[j] - stamps[i]) + 1


def test_rest_client_respects_the_limit_against_the_server():
    with FinnhubRestFake(FinnhubRestConfig(api_key=KEY, calls_per_minute=600)) as fake:
        client = FinnhubRest(KEY, fake.url, bucket=TokenBucket(per_minute=10 * 60, capacity=1))
        started = time.monotonic()
        for _ in range(8):
            client.quote("AAPL")
        elapsed = time.monotonic() - started
        statuses = [r[2] for r in fake.requests]
    assert statuses == [200] * 8
    assert elapsed >= 0.65  # 8 calls at 10/s after the first: >= 0.7 s less timer slack


def test_server_quota_429_is_survived_by_retrying():
    with FinnhubRestFake(FinnhubRestConfig(api_key=KEY, calls_per_minute=2)) as fake:
        client = _client(fake, max_attempts=2)
        client.quote("AAPL")
        client.quote("AAPL")
        with pytest.raises(FinnhubError, match="429"):
            client.quote("AAPL")  # Retry-After is ~60 s; capped wait then gives up
        assert [r[2] for r in fake.requests] == [200, 200, 429, 429]
