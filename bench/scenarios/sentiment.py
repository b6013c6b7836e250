"""Scenario 5: sentiment scorers — posts per second, held-out macro-F1, and LLM requests and
prompt tokens per 1,000 posts, batched vs one post per request (the loopback OpenAI-compatible
dev server answers, so the counts are the client's, not a model's speed).

Posts are drawn from the sentiment corpus (train + held-out), so their length is that of real
forum lines and headlines. Knobs: PULSELAKE_BENCH_SENTIMENT_POSTS (default 2000),
PULSELAKE_BENCH_LLM_POSTS (default 1000). `sizes` does not apply.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

LLM_BATCH_POSTS = 40


def run(spark, workdir: Path, sizes: list[int]) -> list[dict]:
    from jobs.sentiment.base import Post
    from jobs.sentiment.dataset import HELDOUT_FILE, TRAIN_FILE, read_labeled
    from jobs.sentiment.metrics import evaluate
    from jobs.sentiment.minilm import MiniLMScorer
    from jobs.sentiment.vader import VaderScorer

    posts = int(os.environ.get("PULSELAKE_BENCH_SENTIMENT_POSTS", "2000"))
    labels, texts = read_labeled(HELDOUT_FILE)
    pool = read_labeled(TRAIN_FILE)[1] + texts
    sample = [Post(str(i), pool[i % len(pool)]) for i in range(posts)]
    rows = []
    loaded = time.perf_counter()
    minilm = MiniLMScorer()
    minilm.score([Post("warm", "warm up")])
    load_s = round(time.perf_counter() - loaded, 1)
    for name, scorer in (("minilm (default)", minilm), ("vader", VaderScorer())):
        heldout = evaluate(labels, [s.label for s in scorer.score([Post(str(i), t) for i, t in enumerate(texts)])])
        started = time.perf_counter()
        scorer.score(sample)
        seconds = time.perf_counter() - started
        rows.append({"scenario": "sentiment", "scorer": name, "posts": len(sample), "seconds": round(seconds, 1),
                     "posts_per_s": round(len(sample) / seconds, 1), "heldout_macro_f1": round(heldout.macro_f1, 3),
                     "load_s": load_s if scorer is minilm else 0.0})
    return rows + _llm_rows(pool)


def _llm_rows(pool: list[str]) -> list[dict]:
    from jobs.sentiment.base import Post
    from jobs.sentiment.config import SentimentSettings
    from jobs.local.llm_server import DevServer
    from jobs.sentiment.llm import LLMScorer

    count = int(os.environ.get("PULSELAKE_BENCH_LLM_POSTS", "1000"))
    sample = [Post(str(i), f"{pool[i % len(pool)]} [{i}]") for i in range(count)]  # distinct: no cache hits
    rows = []
    with DevServer() as server, tempfile.TemporaryDirectory() as tmp:
        for mode, per_request in ((f"batched ({LLM_BATCH_POSTS}/request)", LLM_BATCH_POSTS), ("one post per request", 1)):
            settings = SentimentSettings(llm_base_url=server.base_url, llm_model="bench", llm_batch_posts=per_request,
                                         llm_cache_path=os.path.join(tmp, f"{per_request}.sqlite"),
                                         llm_requests_per_minute=1e9, llm_tokens_per_minute=1e12)
            scorer = LLMScorer(settings)
            started = time.perf_counter()
            scorer.score(sample)
            seconds = time.perf_counter() - started
            rerun = LLMScorer(settings)
            rerun.score(sample)
            rows.append({"scenario": "sentiment", "scorer": f"llm, {mode}", "posts": count, "seconds": round(seconds, 1),
                         "posts_per_s": round(count / seconds, 1),
                         "llm_requests_per_1000_posts": round(scorer.stats.requests * 1000 / count, 1),
                         "llm_prompt_tokens_per_1000_posts": round(scorer.stats.prompt_tokens_estimated * 1000 / count),
                         "llm_requests_on_rerun": rerun.stats.requests})
    return rows
