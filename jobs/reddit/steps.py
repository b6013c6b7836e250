"""Reddit's steps: the Kafka topics -> bronze -> silver.

Bronze takes each record once (Spark's Kafka source, `jobs.ingest.consume`). Silver is
built from every bronze fetch and merged on the id; its app transaction
records the bronze version it has seen, so a rerun with nothing new writes
nothing. (Rebuilding from all fetches keeps the merge exact whatever the
batching; at the corpus' size it takes seconds. Restricting it to the ids
in new bronze files is the next step when bronze grows large.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from jobs.ingest.topics import REDDIT_COMMENTS, REDDIT_POSTS
from jobs.steps import StepReport, step, timed, topic
from jobs.window import Window
from lake_schema.quarantine import QUARANTINE
from lake_schema.reddit import BRONZE_REDDIT_COMMENTS, BRONZE_REDDIT_POSTS, SILVER_REDDIT_COMMENTS, SILVER_REDDIT_POSTS
from lake_schema.spec import TableSpec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from jobs.ingest.consume import TopicSink
    from jobs.resources.lake import Lake



def reddit_sinks() -> tuple[TopicSink, ...]:
    """reddit.posts -> bronze.reddit_posts and reddit.comments -> bronze.reddit_comments, parsed, rejects quarantined."""
    from jobs.ingest.consume import parsed_sink
    from jobs.reddit.bronze import parse_comment_records, parse_post_records

    return (parsed_sink(REDDIT_POSTS, BRONZE_REDDIT_POSTS, parse_post_records),
            parsed_sink(REDDIT_COMMENTS, BRONZE_REDDIT_COMMENTS, parse_comment_records))


@step("reddit.bronze", reads=[topic(REDDIT_POSTS), topic(REDDIT_COMMENTS)], sinks=reddit_sinks,
      writes=[BRONZE_REDDIT_POSTS, BRONZE_REDDIT_COMMENTS, QUARANTINE], windowed=False,
      description="every Reddit record in Kafka that bronze has not taken yet")
def bronze_reddit(lake: Lake, window: Window | None = None) -> StepReport:
    """Every post and comment record in Kafka that bronze has not taken yet (Kafka offsets, not dates)."""
    from jobs.ingest.consume import take

    report = take(lake, *reddit_sinks())
    report.step = "bronze reddit from Kafka"
    return report


def _silver_table(lake: Lake, window: Window, report: StepReport, bronze: TableSpec, silver: TableSpec,
                  build: Callable[[DataFrame], DataFrame]) -> None:
    """Merge the window's ids (created in its range) from every fetch of them, so the merged row is the same however
    the fetches were batched; the lake quarantines rows that break silver's rules."""
    from pyspark.sql import functions as F

    from jobs.resources.lake import Txn

    bronze_version = lake.version(bronze)
    app_id = f"{silver.name}:from:{bronze.name}:{window.key}"
    seen = lake.txn_version(silver, app_id)
    if seen is not None and seen >= bronze_version + 1:
        report.skipped.append(f"{silver.name} already has bronze version {bronze_version} for {window.key}")
        return
    fetches = lake.read(bronze)
    if window.bounded:
        created = F.to_date("created_at")
        fetches = fetches.where((created >= F.lit(window.start)) & (created <= F.lit(window.end)))
    # version = bronze version + 1 so that bronze version 0 is recordable (app versions start above 0); the lake
    # evaluates the merged rows once, quarantining rule breakers and counting warn rules in its result
    report.add_written(lake.merge(silver, build(fetches), txn=Txn(app_id, bronze_version + 1)))


@step("reddit.silver", reads=[BRONZE_REDDIT_POSTS, BRONZE_REDDIT_COMMENTS],
      writes=[SILVER_REDDIT_POSTS, SILVER_REDDIT_COMMENTS, QUARANTINE], windowed=True,
      description="merge the window's posts and comments into one current row each")
@timed
def silver_reddit(lake: Lake, window: Window) -> StepReport:
    """Merge bronze fetches into one current row per post and per comment."""
    from jobs.reddit.silver import build_silver_comments, build_silver_posts

    report = StepReport("silver reddit posts and comments")
    _silver_table(lake, window, report, BRONZE_REDDIT_POSTS, SILVER_REDDIT_POSTS, build_silver_posts)
    _silver_table(lake, window, report, BRONZE_REDDIT_COMMENTS, SILVER_REDDIT_COMMENTS, build_silver_comments)
    return report
