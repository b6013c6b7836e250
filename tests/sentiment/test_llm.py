"""The LLM scorer against a real OpenAI-compatible HTTP server on 127.0.0.1."""

import pytest

from jobs.resources.ratelimit import TokenBucket
from jobs.sentiment.base import Post
from jobs.sentiment.llm import LLMError, LLMScorer

POSTS = [Post(f"p{i}", text) for i, text in enumerate([
    "$TSLA puts printing, short it",
    "bears getting wrecked on $NVDA",
    "$AAPL calls to the moon",
    "When does $MSFT report?",
    "Dumping all my $INTC, it's going to zero",
    "$AMD beat and got upgraded",
] * 5)]
POSTS = [Post(f"p{i}", f"{p.text} #{i}") for i, p in enumerate(POSTS)]  # 30 distinct texts


def test_batches_many_posts_per_request_and_maps_answers_by_id(llm_server, llm_settings):
    llm_settings.llm_batch_posts = 8
    scorer = LLMScorer(llm_settings)
    results = scorer.score(POSTS)
    assert [r.id for r in results] == [p.id for p in POSTS]
    assert scorer.stats.requests == 4  # 30 posts, 8 per request
    sent = [len(__import__("json").loads(r["body"]["messages"][-1]["content"])["posts"]) for r in llm_server.behaviour.requests]
    assert sent == [8, 8, 8, 6]
    assert llm_server.behaviour.requests[0]["authorization"] == "Bearer test-key"
    by_id = {r.id: r for r in results}
    assert by_id["p0"].label == "bearish" and by_id["p0"].tickers == ["TSLA"]
    assert by_id["p1"].label == "bullish" and by_id["p3"].label == "neutral"
    assert by_id["p1"].reason.startswith("keyword rules")


def test_token_budget_limits_a_batch(llm_server, llm_settings):
    llm_settings.llm_batch_tokens = 600  # the system prompt takes most of it
    scorer = LLMScorer(llm_settings)
    scorer.score(POSTS)
    sizes = [len(__import__("json").loads(r["body"]["messages"][-1]["content"])["posts"]) for r in llm_server.behaviour.requests]
    assert sum(sizes) == 30 and max(sizes) < 30 and len(sizes) > 1


def test_missing_invalid_and_unparseable_answers_are_requeued(llm_server, llm_settings):
    llm_settings.llm_attempts_per_post = 4
    llm_server.behaviour.script.extend(["drop_first", "bad_first", "invalid_json"])
    scorer = LLMScorer(llm_settings)
    results = scorer.score(POSTS[:6])
    assert all(not r.extra.get("failed") for r in results)
    assert scorer.stats.requeued == 3 and scorer.stats.requests == 4
    batches = [[p["id"] for p in __import__("json").loads(r["body"]["messages"][-1]["content"])["posts"]]
               for r in llm_server.behaviour.requests]
    assert batches == [["p0", "p1", "p2", "p3", "p4", "p5"], ["p0"], ["p0"], ["p0"]]  # only p0 went missing, then bad
    assert [r.label for r in results] == ["bearish", "bullish", "bullish", "neutral", "bearish", "bullish"]


def test_gives_up_on_a_post_after_the_allowed_attempts(llm_server, llm_settings):
    llm_settings.llm_attempts_per_post = 2
    llm_server.behaviour.script.extend(["invalid_json", "invalid_json"])
    scorer = LLMScorer(llm_settings)
    [result] = scorer.score(POSTS[:1])
    assert result.extra.get("failed") and result.label == "neutral" and "no valid answer" in result.reason
    assert scorer.stats.failed == 1


def test_429_retry_after_and_500_are_retried(llm_server, llm_settings):
    llm_server.behaviour.script.extend(["429", "500"])
    llm_server.behaviour.retry_after = "1"
    scorer = LLMScorer(llm_settings)
    results = scorer.score(POSTS[:3])
    assert llm_server.behaviour.statuses[:3] == [429, 500, 200]
    assert scorer.stats.http_retries == 2 and scorer.stats.retry_after_honoured == [1.0]
    assert [r.label for r in results] == ["bearish", "bullish", "bullish"]


def test_a_rerun_is_served_from_the_cache(llm_server, llm_settings):
    LLMScorer(llm_settings).score(POSTS)
    first_requests = len(llm_server.behaviour.requests)
    again = LLMScorer(llm_settings)
    results = again.score(POSTS + [Post("dup", POSTS[0].text)])
    assert len(llm_server.behaviour.requests) == first_requests  # nothing paid twice
    assert again.stats.cache_hits == len(POSTS) + 1
    assert results[-1].label == results[0].label


def test_over_long_posts_are_truncated_and_flagged(llm_server, llm_settings):
    llm_settings.llm_post_tokens = 30
    long_text = "$TSLA puts printing. " + "The quarter was long and the meeting was longer. " * 50
    [result] = LLMScorer(llm_settings).score([Post("long", long_text)])
    sent = __import__("json").loads(llm_server.behaviour.requests[0]["body"]["messages"][-1]["content"])["posts"][0]["text"]
    assert result.truncated and len(sent) < len(long_text) / 5
    assert result.label == "bearish"


def test_needs_an_endpoint_and_reports_a_dead_one(llm_settings):
    llm_settings.llm_base_url = ""
    with pytest.raises(LLMError, match="LLM_BASE_URL"):
        LLMScorer(llm_settings)
    llm_settings.llm_base_url = "http://127.0.0.1:9/v1"
    llm_settings.llm_http_attempts = 2
    with pytest.raises(LLMError, match="kept failing"):
        LLMScorer(llm_settings).score(POSTS[:1])


def test_token_bucket_waits_when_empty():
    now = [0.0]
    slept = []
    bucket = TokenBucket(per_minute=60, capacity=2, clock=lambda: now[0], sleep=lambda s: (slept.append(s), now.__setitem__(0, now[0] + s)))
    assert bucket.acquire() == 0 and bucket.acquire() == 0
    assert bucket.acquire() == pytest.approx(1.0)  # 1 per second refill
    assert slept == [pytest.approx(1.0)]
