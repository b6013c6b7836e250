"""Silver post sentiment: score every post and comment, per ticker it names, in Spark.

`score_texts` is the pure transform: a DataFrame (id, kind, subreddit, created_at, text)
in, one row per (id, ticker) out, scored with mapInArrow so each Python worker
loads its scorer (and the MiniLM model) once and scores whole Arrow batches.
The step that runs it over the lake is `jobs.sentiment.steps.sentiment_step`.
"""

from __future__ import annotations

import os
from typing import Iterator

import pyarrow as pa
from pyspark.sql import DataFrame

INPUT_COLUMNS = ("id", "kind", "subreddit", "created_at", "text")
_OUTPUT = (
    "id STRING, kind STRING, subreddit STRING, created_at TIMESTAMP, ticker STRING, scorer STRING, "
    "scorer_version STRING, score DOUBLE, label STRING, reason STRING, truncated BOOLEAN, failed BOOLEAN"
)
_WORKER_SCORERS: dict[tuple, object] = {}  # per Python worker process: built on first batch, reused after


def worker_scorer(name: str, threads: int, settings_json: str):
    """The scorer of this Python worker, built once (Spark reuses workers across tasks)."""
    key = (name, threads, settings_json)
    if key not in _WORKER_SCORERS:
        from jobs.sentiment.config import SentimentSettings
        from jobs.sentiment.registry import make_scorer

        settings = SentimentSettings.from_workers(settings_json)
        settings.threads = threads
        _WORKER_SCORERS[key] = make_scorer(name, settings)
    return _WORKER_SCORERS[key]


def score_units(scorer, rows: list[dict]) -> list[dict]:
    """Expand each text into one unit per ticker it names (the sentences about that ticker),
    score all units together, and return output rows."""
    from jobs.sentiment.base import Post
    from jobs.sentiment.tickers import default_extractor, text_about

    extractor = default_extractor()
    units: list[tuple[dict, str, str]] = []
    for row in rows:
        text = row["text"] or ""
        tickers = extractor.extract(text)
        if not tickers:
            units.append((row, "", text))
        for ticker in tickers:
            units.append((row, ticker, text_about(text, ticker, extractor) if len(tickers) > 1 else text))
    results = scorer.score([Post(f"{i}", text) for i, (_, _, text) in enumerate(units)])
    out = []
    for (row, ticker, _), result in zip(units, results):
        out.append({
            "id": row["id"], "kind": row["kind"], "subreddit": row["subreddit"], "created_at": row["created_at"],
            "ticker": ticker, "scorer": scorer.name, "scorer_version": scorer.version, "score": float(result.score),
            "label": result.label, "reason": result.reason, "truncated": bool(result.truncated),
            "failed": bool(result.extra.get("failed", False)),
        })
    return out


def score_texts(texts: DataFrame, scorer_name: str, settings_json: str | None = None, threads: int | None = None) -> DataFrame:
    """Pure transform: (id, kind, subreddit, created_at, text) -> one scored row per (id, ticker)."""
    missing = [c for c in INPUT_COLUMNS if c not in texts.columns]
    if missing:
        raise ValueError(f"score_texts needs columns {list(INPUT_COLUMNS)}; missing {missing}")
    if settings_json is None:
        from jobs.sentiment.config import SentimentSettings

        settings_json = SentimentSettings().for_workers()
    parallelism = texts.sparkSession.sparkContext.defaultParallelism
    threads = threads or max(1, (os.cpu_count() or 1) // max(1, parallelism))
    schema = texts.sparkSession.createDataFrame([], _OUTPUT).schema
    arrow_schema = pa.schema([
        ("id", pa.string()), ("kind", pa.string()), ("subreddit", pa.string()), ("created_at", pa.timestamp("us", tz="UTC")),
        ("ticker", pa.string()), ("scorer", pa.string()), ("scorer_version", pa.string()), ("score", pa.float64()),
        ("label", pa.string()), ("reason", pa.string()), ("truncated", pa.bool_()), ("failed", pa.bool_()),
    ])

    def score_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        scorer = worker_scorer(scorer_name, threads, settings_json)
        for batch in batches:
            rows = batch.to_pylist()
            if rows:
                yield pa.RecordBatch.from_pylist(score_units(scorer, rows), schema=arrow_schema)

    return texts.select(*INPUT_COLUMNS).mapInArrow(score_batches, schema)
