"""Property test of the Finnhub REST client against a server that answers anything (canned, on 127.0.0.1).

Whatever comes back (any status, any body, odd Retry-After or Content-Type),
a call returns the JSON object Finnhub sent or raises `FinnhubError` with a
plain message that never shows the key; a real-shaped answer comes back as sent.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.ingest.finnhub_rest import FinnhubError, FinnhubRest
from jobs.resources.ratelimit import TokenBucket
from tests.hostile import HUGE_NUMBERS, CannedServer, deep_nesting, dumps, hostile_text, json_values

KEY = "rest-secret-key-123"
JSON = {"Content-Type": "application/json; charset=utf-8"}
prices = st.floats(min_value=0.01, max_value=1e5)
quotes = st.fixed_dictionaries({"c": prices, "d": st.floats(-100, 100), "dp": st.floats(-50, 50), "h": prices,
                                "l": prices, "o": prices, "pc": prices, "t": st.integers(0, 2_000_000_000)})


@pytest.fixture(scope="module")
def finnhub():
    with CannedServer() as server:
        client = FinnhubRest(KEY, server.url + "/api/v1", bucket=TokenBucket(per_minute=6 * 10**7, capacity=10**6),
                             max_attempts=2, backoff_initial_s=0.001, backoff_max_s=0.01, timeout_s=5)
        yield server, client
        client.close()


@settings(max_examples=50)
@given(quotes)
def test_a_real_quote_comes_back_as_sent(finnhub, quote):
    server, client = finnhub
    server.reply = (200, JSON, json.dumps(quote).encode())
    assert client.quote("aapl") == quote


bodies = st.one_of(
    quotes.flatmap(lambda q: hostile_text(st.just(json.dumps(q)))).map(str.encode),
    json_values.map(lambda v: dumps(v).encode()),
    st.builds(lambda e: dumps({"error": e}).encode(), json_values),
    deep_nesting.map(str.encode), st.binary(), st.just(f'{{"error": "bad token {KEY}"}}'.encode()),
)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20)  # what a header can carry
headers = st.fixed_dictionaries({}, optional={
    "Content-Type": st.sampled_from(["application/json", "text/plain", "text/html", "text/csv", ""]),
    "Retry-After": header_text | HUGE_NUMBERS.map(str) | st.sampled_from(["-5", "nan", "inf", "1e400",
                                                                          "Wed, 21 Oct 2015 07:28:00 GMT"]),
})


@settings(max_examples=150)
@given(st.sampled_from([200, 200, 200, 204, 400, 401, 403, 404, 429, 500, 502]), headers, bodies)
def test_any_answer_is_an_object_or_a_plain_error(finnhub, status, extra, body):
    server, client = finnhub
    server.reply = (status, {**JSON, **extra}, body)
    try:
        answer = client.quote("AAPL")
    except FinnhubError as error:
        message = str(error)
        assert message.strip() and KEY not in message
    else:  # a call that returns, returns what Finnhub answers: a JSON object
        assert status < 400 and isinstance(answer, dict)
