"""Silver post sentiment: score every post and comment, per ticker it names, in Spark.

`score_texts` is the pure transform: a DataFrame (id, kind, subreddit, created_at, text)
in, one row per (id, ticker) out, scored with mapInArrow so each Python worker
loads its scorer (and the MiniLM model) once and scores whole Arrow batches.
`sentiment_step` does the I/O: it scores only the ids the current scorer version
has not scored yet, so a rerun with the same version writes nothing and a new
version (retrained head, other LLM model) scores everything again beside the old rows.
"""

from __future__ import annotations

import os
from typing import Iterator

import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.window import Window
from jobs.resources.lake import Lake
from jobs.steps import StepReport, timed
from lake_schema.sentiment import POST_SENTIMENT

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


def silver_texts(lake: Lake, window: Window) -> DataFrame:
    """Posts (title + body) and comments (body) from silver created in the window, as
    (id, kind, subreddit, created_at, text)."""
    from lake_schema.reddit import SILVER_REDDIT_COMMENTS, SILVER_REDDIT_POSTS

    usable = lambda c: F.when(F.col(c).isin("[deleted]", "[removed]"), F.lit(None)).otherwise(F.col(c))  # noqa: E731
    posts = lake.read(SILVER_REDDIT_POSTS).select(
        F.col("post_id").alias("id"), F.lit("post").alias("kind"), "subreddit", "created_at",
        F.concat_ws("\n\n", usable("title"), usable("body")).alias("text"))
    comments = lake.read(SILVER_REDDIT_COMMENTS).select(
        F.col("comment_id").alias("id"), F.lit("comment").alias("kind"), "subreddit", "created_at",
        F.coalesce(usable("body"), F.lit("")).alias("text"))
    texts = posts.unionByName(comments).where(F.length(F.trim("text")) > 0)
    if window.bounded:
        created = F.to_date("created_at")
        texts = texts.where((created >= F.lit(window.start)) & (created <= F.lit(window.end)))
    return texts


@timed
def sentiment_step(lake: Lake, window: Window, scorer_name: str | None = None, texts: DataFrame | None = None,
                   settings=None) -> StepReport:
    """Score the window's texts the current scorer version has not scored yet; merge them into silver.post_sentiment.
    `scored_at` is the run's as_of."""
    from jobs.sentiment.config import SentimentSettings
    from jobs.sentiment.registry import make_scorer

    settings = settings or SentimentSettings()
    name = scorer_name or settings.scorer
    report = StepReport(f"silver post sentiment ({name})")
    version = make_scorer(name, settings).version  # cheap for vader/llm; minilm loads only the head here
    source = texts if texts is not None else silver_texts(lake, window)
    done = (lake.read(POST_SENTIMENT).where(F.col("scorer_version") == version).select("id", "kind").distinct()
            if lake.exists(POST_SENTIMENT) else None)
    todo = source.join(done, on=["id", "kind"], how="left_anti") if done is not None else source
    todo = todo.cache()
    pending = todo.count()
    skipped = source.count() - pending
    if skipped:
        report.skipped.append(f"{skipped} texts already scored by {version}")
    if not pending:
        report.notes.append(f"nothing new to score for {version}")
        todo.unpersist()
        return report
    scored = score_texts(todo.repartition(lake.spark.sparkContext.defaultParallelism), name, settings.for_workers()).cache()
    failed = scored.where("failed").count()
    if failed:
        report.warnings["llm_no_valid_answer_rescored_next_run"] = failed
    rows = (scored.where(~F.col("failed")).drop("failed")
            .withColumn("created_month", F.date_format("created_at", "yyyy-MM"))
            .withColumn("scored_at", F.lit(window.as_of)))
    # upsert on (id, kind, ticker, scorer_version): a retried run cannot duplicate
    report.add_written(lake.merge(POST_SENTIMENT, rows))
    report.notes.append(f"{pending} texts scored by {version}")
    scored.unpersist()
    todo.unpersist()
    return report
