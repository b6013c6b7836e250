"""Reddit posts and comments: every fetch kept in bronze, one current row per id in silver."""

from lake_schema.spec import KAFKA_LINEAGE, Column, Rule, TableSpec

_FETCH_LINEAGE = (
    Column("listing", "string", True, "how it was found: new, hot, top or comments"),
    Column("fetched_at", "timestamp", False, "when the collector fetched it"),
    *KAFKA_LINEAGE,
    Column("ingest_date", "date", False, "fetch date (UTC): the partition"),
)

BRONZE_REDDIT_POSTS = TableSpec(
    name="bronze.reddit_posts",
    description="Every fetch of a Reddit post as collected, typed; re-collections add rows (silver merges them).",
    columns=(
        Column("record_id", "string", False, "Kafka record: one per fetched post"),
        Column("post_id", "string", False, "base36 id without the t3_ prefix"),
        Column("subreddit", "string", False),
        Column("author", "string", True, "NULL when the account is deleted"),
        Column("title", "string", True),
        Column("body", "string", True, "selftext; '[deleted]' / '[removed]' as Reddit shows it"),
        Column("url", "string", True),
        Column("flair", "string", True),
        Column("created_at", "timestamp", False),
        Column("score", "long", True),
        Column("upvote_ratio", "double", True),
        Column("num_comments", "long", True),
        Column("permalink", "string", True),
        Column("removed_by_category", "string", True, "Reddit's reason a post is gone: deleted, moderator, ..."),
        *_FETCH_LINEAGE,
    ),
    partition_by=("ingest_date",),
    merge_key=("record_id",),
)

BRONZE_REDDIT_COMMENTS = TableSpec(
    name="bronze.reddit_comments",
    description="Every fetch of a Reddit comment as collected, typed; re-collections add rows.",
    columns=(
        Column("record_id", "string", False, "Kafka record: one per fetched comment"),
        Column("comment_id", "string", False, "base36 id without the t1_ prefix"),
        Column("post_id", "string", False, "the submission it belongs to (no prefix)"),
        Column("parent_id", "string", False, "fullname of the parent: t3_<post> or t1_<comment>"),
        Column("subreddit", "string", False),
        Column("author", "string", True),
        Column("body", "string", True),
        Column("created_at", "timestamp", False),
        Column("score", "long", True),
        Column("depth", "int", True, "0 for a top-level comment"),
        Column("permalink", "string", True),
        *_FETCH_LINEAGE,
    ),
    partition_by=("ingest_date",),
    merge_key=("record_id",),
)

_STATE = (
    Column("is_deleted", "boolean", False, "the author deleted it (Reddit shows [deleted])"),
    Column("is_removed", "boolean", False, "a moderator or Reddit removed it (Reddit shows [removed])"),
    Column("first_fetched_at", "timestamp", False),
    Column("last_fetched_at", "timestamp", False, "the fetch whose score and counts are kept"),
    Column("times_fetched", "long", False),
)

SILVER_REDDIT_POSTS = TableSpec(
    name="silver.reddit_posts",
    description="One row per Reddit post: latest score and comment count; text kept from before a deletion.",
    columns=(
        Column("post_id", "string", False),
        Column("subreddit", "string", False),
        Column("author", "string", True, "last known author; kept when the post is later deleted"),
        Column("title", "string", True),
        Column("body", "string", True, "last text seen before any deletion or removal"),
        Column("url", "string", True),
        Column("flair", "string", True),
        Column("created_at", "timestamp", False),
        Column("created_month", "string", False, "YYYY-MM of created_at: the partition"),
        Column("score", "long", True, "from the latest fetch"),
        Column("upvote_ratio", "double", True),
        Column("num_comments", "long", True, "from the latest fetch"),
        Column("permalink", "string", True),
        *_STATE,
    ),
    partition_by=("created_month",),
    merge_key=("post_id",),
    rules=(
        Rule("post_has_text", "title IS NOT NULL AND length(title) > 0", "a post has a title"),
        Rule("created_not_after_fetch", "created_at <= first_fetched_at + INTERVAL 5 MINUTES",
             "a post cannot be created after it was fetched", action="warn"),
    ),
)

SILVER_REDDIT_COMMENTS = TableSpec(
    name="silver.reddit_comments",
    description="One row per Reddit comment: latest score; text kept from before a deletion.",
    columns=(
        Column("comment_id", "string", False),
        Column("post_id", "string", False),
        Column("parent_id", "string", False),
        Column("subreddit", "string", False),
        Column("author", "string", True),
        Column("body", "string", True),
        Column("created_at", "timestamp", False),
        Column("created_month", "string", False),
        Column("score", "long", True),
        Column("depth", "int", True),
        Column("permalink", "string", True),
        *_STATE,
    ),
    partition_by=("created_month",),
    merge_key=("comment_id",),
    rules=(
        Rule("comment_parent_prefixed", "substr(parent_id, 1, 3) IN ('t1_', 't3_')",
             "a comment's parent is a post (t3_) or a comment (t1_)"),
    ),
)
