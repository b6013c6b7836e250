"""Sentiment's step: score the window's posts and comments into silver.post_sentiment.

It scores only the ids the current scorer version has not scored yet, so a rerun with the same version writes
nothing and a new version (retrained head, other LLM model) scores everything again beside the old rows. The
scoring itself is `jobs.sentiment.spark_job.score_texts` (mapInArrow).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobs.steps import StepReport, step, timed
from jobs.window import Window
from lake_schema.reddit import SILVER_REDDIT_COMMENTS, SILVER_REDDIT_POSTS
from lake_schema.sentiment import POST_SENTIMENT

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from jobs.resources.lake import Lake


def silver_texts(lake: Lake, window: Window) -> DataFrame:
    """Posts (title + body) and comments (body) from silver created in the window, as
    (id, kind, subreddit, created_at, text)."""
    from pyspark.sql import functions as F

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


@step("sentiment.score", reads=[SILVER_REDDIT_POSTS, SILVER_REDDIT_COMMENTS], writes=[POST_SENTIMENT], windowed=True,
      description="score the window's posts and comments per ticker (default scorer)")
@timed
def sentiment_step(lake: Lake, window: Window, scorer_name: str | None = None, texts: DataFrame | None = None,
                   settings=None) -> StepReport:
    """Score the window's texts the current scorer version has not scored yet; merge them into silver.post_sentiment.
    `scored_at` is the run's as_of."""
    from pyspark.sql import functions as F

    from jobs.sentiment.config import SentimentSettings
    from jobs.sentiment.registry import make_scorer
    from jobs.sentiment.spark_job import score_texts

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
