"""Property tests of how the LLM scorer reads a model's reply (`parse_answers`, `PostAnswer`) and of the
scorer against an endpoint that answers anything at all (a canned server on 127.0.0.1).

A reply the scorer cannot use never raises out of it: the posts it fails to
answer are re-queued and, in the end, marked failed with a reason. A valid
answer is never dropped and keeps its values.
"""

from __future__ import annotations

import itertools
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.sentiment.base import Post
from jobs.sentiment.config import SentimentSettings
from jobs.sentiment.llm import LLMError, LLMScorer, parse_answers
from tests.hostile import HUGE_NUMBERS, ODD_TEXT, CannedServer, deep_nesting, dumps, hostile_text, json_values
from tests.hostile import with_one_field_broken

LABELS = ("bullish", "neutral", "bearish")
ids = st.lists(st.from_regex(r"p[0-9]{1,4}(#[0-9])?", fullmatch=True), min_size=1, max_size=8, unique=True)
reasons = st.text(min_size=1, max_size=120).filter(str.strip)


def answer(post_id: str) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"id": st.just(post_id),
         "tickers": st.lists(st.from_regex(r" ?\$?[A-Za-z]{1,5} ?", fullmatch=True), max_size=3),
         "score": st.floats(-1, 1) | st.sampled_from([-1, 0, 1]), "label": st.sampled_from(LABELS), "reason": reasons},
        optional={"confidence": json_values},
    )


@st.composite
def replies(draw) -> tuple[set[str], list[dict], str]:
    """(ids asked about, the valid answers, the reply text): every id answered, in any order, among
    answers to ids nobody asked about."""
    wanted = draw(ids)
    answers = [draw(answer(i)) for i in wanted]
    strangers = draw(st.lists(st.from_regex(r"q[0-9]{1,3}", fullmatch=True).flatmap(answer), max_size=3))
    results = draw(st.permutations(answers + strangers))
    text = json.dumps({"results": results, **draw(st.fixed_dictionaries({}, optional={"note": st.text()}))})
    return set(wanted), answers, draw(st.sampled_from(["", " ", "\n"])) + text


def _expected(raw: dict) -> dict:
    return {"tickers": [t.strip().lstrip("$").upper() for t in raw["tickers"] if t.strip().lstrip("$")],
            "score": float(raw["score"]), "label": raw["label"], "reason": raw["reason"].strip()}


def _check_contract(valid: dict, wanted: set[str]) -> None:
    for post_id, a in valid.items():
        assert post_id in wanted
        assert a["label"] in LABELS and math.isfinite(a["score"]) and -1 <= a["score"] <= 1
        assert a["reason"] == a["reason"].strip() and 1 <= len(a["reason"]) <= 400
        assert all(isinstance(t, str) and t and t == t.upper() and not t.startswith("$") for t in a["tickers"])


@given(replies())
def test_every_valid_answer_is_kept_by_its_id(reply):
    wanted, answers, text = reply
    assert parse_answers(text, wanted) == {a["id"]: _expected(a) for a in answers}


def _broken_replies() -> st.SearchStrategy[object]:
    broken_answers = ids.flatmap(lambda w: st.lists(answer(w[0]).flatmap(
        lambda a: with_one_field_broken(a, ["id", "tickers", "score", "label", "reason"])), min_size=1, max_size=4))
    return st.one_of(
        replies().flatmap(lambda r: hostile_text(st.just(r[2]))),
        broken_answers.map(lambda results: dumps({"results": results})),
        st.builds(lambda r: dumps({"results": r}), json_values | HUGE_NUMBERS),
        deep_nesting.map(lambda nest: '{"results": ' + nest),
        json_values, st.binary(), ODD_TEXT,
    )


@given(ids, _broken_replies())
def test_any_reply_gives_only_valid_answers_and_never_raises(wanted, reply):
    _check_contract(parse_answers(reply, set(wanted)), set(wanted))


# ---------------------------------------------------------------- over HTTP ---

_texts = itertools.count()  # a new text per example: no answer comes from the cache


def _completion(content: object) -> bytes:
    return json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "model": "m", "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}]}).encode()


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    with CannedServer() as server:
        settings = SentimentSettings(
            scorer="llm", llm_base_url=server.url + "/v1", llm_model="m", llm_api_key="k", llm_attempts_per_post=2,
            llm_http_attempts=2, llm_max_backoff_s=0.01, llm_requests_per_minute=10**6, llm_tokens_per_minute=10**9,
            llm_cache_path=str(tmp_path_factory.mktemp("llm") / "cache.sqlite"))
        yield server, LLMScorer(settings)


POST_IDS = ["p0", "p1", "p2"]
good_answers = st.tuples(*[answer(i) for i in POST_IDS]).map(list)
# (body, the answers it carries for POST_IDS or None)
bodies = st.one_of(
    good_answers.map(lambda a: (_completion(json.dumps({"results": a})), a)),
    st.builds(lambda r: (_completion(r[2]), None), replies()),
    st.builds(lambda r: (_completion(r), None), _broken_replies().filter(lambda r: not isinstance(r, bytes))),
    json_values.map(lambda v: (dumps(v).encode(), None)), deep_nesting.map(lambda n: (n.encode(), None)),
    st.binary().map(lambda b: (b, None)),
    good_answers.map(lambda a: (_completion(json.dumps({"results": a}))[:40], None)),  # cut off
)


@settings(max_examples=60)
@given(st.sampled_from([200, 200, 200, 200, 400, 404, 429, 500, 503]), bodies,
       st.fixed_dictionaries({}, optional={"Retry-After": ODD_TEXT | HUGE_NUMBERS.map(str) | st.just("1e400"),
                                           "Content-Type": st.sampled_from(["application/json", "text/html"])}))
def test_whatever_the_endpoint_answers_each_post_is_scored_or_failed_never_crashed(endpoint, status, body, headers):
    server, scorer = endpoint
    body, answers = body
    server.reply = (status, headers, body)
    n = next(_texts)
    posts = [Post(i, f"$AAPL calls to the moon #{n}-{i}") for i in POST_IDS]
    try:
        results = scorer.score(posts)
    except LLMError as error:  # the endpoint is unusable: one plain error, and only for HTTP errors
        assert status >= 400 and str(error)
        return
    assert [r.id for r in results] == POST_IDS
    for r in results:
        assert r.label in LABELS and -1 <= r.score <= 1 and r.reason.strip()
        assert r.extra.get("failed") or status == 200
    if status == 200 and answers is not None:  # a valid reply: every answer used as given
        assert [(r.label, r.score, r.reason, bool(r.extra.get("failed"))) for r in results] == \
            [(a["label"], float(a["score"]), a["reason"].strip(), False) for a in answers]
