"""Reddit's steps: collect from the embedded server into Kafka, topics -> bronze -> silver.

Bronze takes each record once (Spark's Kafka source, `jobs.ingest.consume`). Silver is
built from every bronze fetch and merged on the id; its app transaction
records the bronze version it has seen, so a rerun with nothing new writes
nothing. (Rebuilding from all fetches keeps the merge exact whatever the
batching; at the corpus' size it takes seconds. Restricting it to the ids
in new bronze files is the next step when bronze grows large.)
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable

from jobs.ingest.topics import REDDIT_COMMENTS, REDDIT_POSTS, record_count
from jobs.resources.kafka import get_kafka_settings
from jobs.steps import StepReport, step, timed, topic
from jobs.window import Window
from lake_schema.quarantine import QUARANTINE
from lake_schema.reddit import BRONZE_REDDIT_COMMENTS, BRONZE_REDDIT_POSTS, SILVER_REDDIT_COMMENTS, SILVER_REDDIT_POSTS
from lake_schema.spec import TableSpec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from jobs.ingest.consume import TopicSink
    from jobs.resources.lake import Lake

SUBREDDITS = ("wallstreetbets", "stocks", "investing", "options")
CORPUS_END = datetime(2010, 8, 21, 23, 59, tzinfo=timezone.utc)


@step("reddit.collect", writes=[topic(REDDIT_POSTS), topic(REDDIT_COMMENTS)], windowed=False, kind="collector",
      description="the embedded Reddit server's corpus -> Kafka (praw over loopback)")
@timed
def collect_replay_corpus(lake: Lake | None, window: Window | None = None, comment_depth: int = 10) -> StepReport:
    """Start the embedded Reddit server on loopback and collect the whole corpus with praw into
    Kafka: every post of the four subreddits over the corpus window, with all its comments
    (the corpus nests at most five levels deep)."""
    from jobs.ingest.publish import Publisher
    from jobs.ingest.reddit import RedditCollectConfig, RedditCollector, reddit_from_env
    from jobs.replay.reddit_server import RedditReplayServer, RedditServerConfig

    report = StepReport("collect reddit (embedded server)")
    kafka = get_kafka_settings()
    if record_count(kafka, REDDIT_POSTS):
        # Re-collecting is normal (silver merges it), but a nightly rerun over a fixed corpus should change nothing.
        report.skipped.append("reddit.posts already holds the corpus; `pulselake ingest reddit` re-collects on demand")
        return report
    with RedditReplayServer(RedditServerConfig(client_id="pulselake", client_secret="replay")) as server:
        env = {"REDDIT_CLIENT_ID": "pulselake", "REDDIT_CLIENT_SECRET": "replay",
               "REDDIT_OAUTH_URL": server.url, "REDDIT_URL": server.url}
        collector = RedditCollector(reddit_from_env(env), Publisher(kafka, "reddit"))
        result = collector.collect(RedditCollectConfig(list(SUBREDDITS), since=timedelta(days=400), as_of=CORPUS_END,
                                                       comment_depth=comment_depth))
        report.notes.append(f"{result.posts} posts and {result.comments} comments into Kafka "
                            f"({server.requests} HTTP requests)")
    return report


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

    from jobs.quality import warning_counts
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
    built = build(fetches).cache()
    report.warnings.update({k: v for k, v in warning_counts(built, silver).items() if v})
    # version = bronze version + 1 so that bronze version 0 is recordable (app versions start above 0)
    report.add_written(lake.merge(silver, built, txn=Txn(app_id, bronze_version + 1)))
    built.unpersist()


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
