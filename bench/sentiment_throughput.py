"""Sentiment benchmark: held-out accuracy of each scorer, default-scorer posts/second,
and LLM requests per 1,000 posts (batched vs one post per request, loopback dev server).

Run: ``.venv/bin/python -m bench.sentiment_throughput [--posts 2000]``; writes
bench/results/sentiment.json. Posts are drawn from the corpus (train + held-out),
so their length is that of real forum lines and news headlines.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import typer

from bench.machine import describe

RESULTS = Path(__file__).parent / "results"
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(posts: int = typer.Option(2000, help="posts to score for the throughput figure"),
         llm_posts: int = typer.Option(1000, help="posts for the LLM request count")) -> None:
    from jobs.sentiment.base import Post
    from jobs.sentiment.config import SentimentSettings
    from jobs.sentiment.dataset import HELDOUT_FILE, TRAIN_FILE, read_labeled
    from jobs.sentiment.devserver import DevServer
    from jobs.sentiment.llm import LLMScorer
    from jobs.sentiment.metrics import evaluate
    from jobs.sentiment.minilm import MiniLMScorer
    from jobs.sentiment.vader import VaderScorer

    labels, texts = read_labeled(HELDOUT_FILE)
    pool = read_labeled(TRAIN_FILE)[1] + texts
    sample = [Post(str(i), pool[i % len(pool)]) for i in range(posts)]
    result: dict = {"machine": describe(), "heldout_rows": len(texts)}

    load_started = time.perf_counter()
    minilm = MiniLMScorer()
    minilm.score([Post("warm", "warm up")])
    result["minilm_load_seconds"] = round(time.perf_counter() - load_started, 2)
    for name, scorer in (("minilm", minilm), ("vader", VaderScorer())):
        scored = scorer.score([Post(str(i), t) for i, t in enumerate(texts)])
        ev = evaluate(labels, [s.label for s in scored])
        result[f"{name}_heldout"] = {"macro_f1": round(ev.macro_f1, 4), "accuracy": round(ev.accuracy, 4), "version": scorer.version}
        started = time.perf_counter()
        scorer.score(sample)
        seconds = time.perf_counter() - started
        result[f"{name}_posts_per_second"] = round(len(sample) / seconds, 1)

    llm_sample = [Post(str(i), f"{pool[i % len(pool)]} [{i}]") for i in range(llm_posts)]
    with DevServer() as server, tempfile.TemporaryDirectory() as tmp:
        for label, per_request in (("batched", 40), ("one_per_request", 1)):
            settings = SentimentSettings(llm_base_url=server.base_url, llm_model="bench", llm_batch_posts=per_request,
                                         llm_cache_path=os.path.join(tmp, f"{label}.sqlite"),
                                         llm_requests_per_minute=1e9, llm_tokens_per_minute=1e12)
            scorer = LLMScorer(settings)
            scorer.score(llm_sample)
            result[f"llm_requests_per_1000_posts_{label}"] = round(scorer.stats.requests * 1000 / llm_posts, 1)
            result[f"llm_prompt_tokens_per_1000_posts_{label}"] = round(scorer.stats.prompt_tokens_estimated * 1000 / llm_posts)
            rerun = LLMScorer(settings)
            rerun.score(llm_sample)
            result[f"llm_requests_on_rerun_{label}"] = rerun.stats.requests
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sentiment.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    app()
