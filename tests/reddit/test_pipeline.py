"""praw against the local Reddit server, Kafka -> bronze -> silver; re-collection merges, deletions are kept."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from jobs.ingest.publish import Publisher
from jobs.ingest.reddit import RedditCollectConfig, RedditCollectError, RedditCollector, reddit_from_env
from jobs.reddit.steps import bronze_reddit, silver_reddit
from jobs.local.replay.reddit_server import RedditReplayServer, RedditServerConfig
from tests.kafka_records import read_topic
from jobs.ingest.topics import REDDIT_COMMENTS, REDDIT_POSTS
from lake_schema.reddit import BRONZE_REDDIT_COMMENTS, BRONZE_REDDIT_POSTS, SILVER_REDDIT_COMMENTS, SILVER_REDDIT_POSTS
from tests.windows import LATEST

AS_OF = datetime(2010, 8, 21, tzinfo=timezone.utc)
CONFIG = RedditCollectConfig(["stocks"], since=timedelta(days=20), as_of=AS_OF, comment_depth=2)


def _env(server: RedditReplayServer) -> dict[str, str]:
    return {"REDDIT_CLIENT_ID": "app", "REDDIT_CLIENT_SECRET": "s3cret", "REDDIT_OAUTH_URL": server.url,
            "REDDIT_URL": server.url}


def test_recollection_merges_updates_and_keeps_deleted_text(lake, kafka):
    with RedditReplayServer(RedditServerConfig(client_id="app", client_secret="s3cret")) as server:
        first = RedditCollector(reddit_from_env(_env(server)), Publisher(kafka, "reddit")).collect(CONFIG)
        assert first.posts > 5 and first.comments > 5 and server.requests > first.posts // 100
        expected_ids = {p["id"] for p in server.posts.values() if p["subreddit"] == "stocks"
                        and AS_OF - timedelta(days=20) <= datetime.fromtimestamp(p["created_utc"], timezone.utc) <= AS_OF}
        bronze_reddit(lake)
        silver_reddit(lake, LATEST)
        before = {r["post_id"]: r for r in lake.read(SILVER_REDDIT_POSTS).collect()}
        assert set(before) == expected_ids

        live = [i for i, r in before.items() if not r["is_deleted"] and not r["is_removed"] and r["body"]]
        bumped, deleted, removed = live[0], live[1], live[2]
        server.update(bumped, score=before[bumped]["score"] + 1000, num_comments=999)
        server.update(deleted, state="deleted")
        server.update(removed, state="removed")
        comment = lake.read(SILVER_REDDIT_COMMENTS).where("NOT is_deleted AND NOT is_removed").first()
        server.update(comment["comment_id"], state="deleted")

        second = RedditCollector(reddit_from_env(_env(server)), Publisher(kafka, "reddit")).collect(CONFIG)
        assert second.posts == first.posts

    assert bronze_reddit(lake).tables[BRONZE_REDDIT_POSTS.name] == second.posts
    report = silver_reddit(lake, LATEST)
    assert report.tables[SILVER_REDDIT_POSTS.name] == len(expected_ids)
    after = {r["post_id"]: r for r in lake.read(SILVER_REDDIT_POSTS).collect()}
    assert lake.read(SILVER_REDDIT_POSTS).count() == len(expected_ids)  # merged, not duplicated
    assert lake.read(BRONZE_REDDIT_POSTS).count() == 2 * len(expected_ids)  # every fetch kept in bronze
    assert all(r["times_fetched"] == 2 for r in after.values())
    assert after[bumped]["score"] == before[bumped]["score"] + 1000 and after[bumped]["num_comments"] == 999
    assert after[deleted]["is_deleted"] and not after[deleted]["is_removed"]
    assert after[deleted]["body"] == before[deleted]["body"] and after[deleted]["author"] == before[deleted]["author"]
    assert after[removed]["is_removed"] and after[removed]["body"] == before[removed]["body"]
    gone = lake.read(SILVER_REDDIT_COMMENTS).where(f"comment_id = '{comment['comment_id']}'").first()
    assert gone["is_deleted"] and gone["body"] == comment["body"] and gone["times_fetched"] == 2

    # nothing new in Kafka: bronze takes no record twice, silver writes nothing
    rerun = bronze_reddit(lake)
    assert rerun.tables == {}
    assert silver_reddit(lake, LATEST).tables == {}
    assert lake.read(BRONZE_REDDIT_COMMENTS).count() == first.comments + second.comments


def test_collector_window_depth_and_listings(kafka):
    with RedditReplayServer(RedditServerConfig()) as server:
        reddit = reddit_from_env(_env(server))
        config = RedditCollectConfig(["stocks", "investing"], listings=("new", "top"), since=timedelta(hours=240),
                                     as_of=AS_OF, comment_depth=1, max_posts=50)
        collector = RedditCollector(reddit, Publisher(kafka, "reddit"))
        stats = collector.collect(config)

    posts = [json.loads(value) for key, value, _ in read_topic(kafka, REDDIT_POSTS).values()]
    comments = [json.loads(value) for key, value, _ in read_topic(kafka, REDDIT_COMMENTS).values()]
    assert len(posts) == stats.posts > 0 and len(comments) == stats.comments > 0
    assert stats.kafka["delivered"] == {REDDIT_POSTS: stats.posts, REDDIT_COMMENTS: stats.comments}
    assert {key for key, _, _ in read_topic(kafka, REDDIT_POSTS).values()} == {p["id"] for p in posts}
    oldest = (AS_OF - timedelta(hours=240)).isoformat().replace("+00:00", "")
    assert all(oldest <= p["created_utc"][:19] <= AS_OF.isoformat()[:19] for p in posts)
    assert {p["subreddit"] for p in posts} == {"stocks", "investing"}
    assert len({p["id"] for p in posts}) == len(posts)  # seen in new and top: landed once per run
    assert {c["depth"] for c in comments} == {0}  # comment_depth=1: top level only
    assert all(c["parent_id"] == f"t3_{c['post_id']}" for c in comments)


def test_wrong_credentials_give_a_clear_error(kafka):
    with RedditReplayServer(RedditServerConfig(client_id="app", client_secret="right")) as server:
        env = {**_env(server), "REDDIT_CLIENT_SECRET": "wrong"}
        with pytest.raises(RedditCollectError) as caught:
            RedditCollector(reddit_from_env(env), Publisher(kafka, "reddit")).collect(CONFIG)
    assert "wrong" not in str(caught.value)


def test_a_text_cut_inside_an_emoji_is_produced_not_crashed(kafka):
    """Reddit sends valid JSON whose text may end in half a surrogate pair (cut at a length limit)."""
    from jobs.ingest.publish import utc_now

    collector = RedditCollector(None, Publisher(kafka, "reddit"))
    collector._send(REDDIT_POSTS, {"id": "cut1", "title": "to the moon \ud83d"}, utc_now())
    collector.publisher.close()
    (key, value, _), = read_topic(kafka, REDDIT_POSTS).values()
    assert key == "cut1" and json.loads(value)["title"] == "to the moon \ud83d"
