"""Post and comment sentiment: one row per (post or comment, ticker it names, scorer version)."""

from lake_schema.spec import Column, Rule, TableSpec

POST_SENTIMENT = TableSpec(
    name="silver.post_sentiment",
    description="Sentiment of every Reddit post and comment toward each ticker it names, per scorer version "
    "(ticker '' = the text names no ticker; the score is for the text as a whole).",
    columns=(
        Column("id", "string", False, "post_id for a post, comment_id for a comment"),
        Column("kind", "string", False, "post or comment"),
        Column("subreddit", "string", True),
        Column("created_at", "timestamp", False, "when the post or comment was created (UTC)"),
        Column("created_month", "string", False, "YYYY-MM of created_at: the partition"),
        Column("ticker", "string", False, "upper-case symbol; '' when the text names none"),
        Column("scorer", "string", False, "minilm, llm or vader"),
        Column("scorer_version", "string", False, "changes whenever scores could change; a new one re-scores"),
        Column("score", "double", False, "-1 bearish .. +1 bullish"),
        Column("label", "string", False, "bullish, neutral or bearish"),
        Column("reason", "string", True, "short human-readable why"),
        Column("truncated", "boolean", False, "the scorer saw only the start of an over-long text"),
        Column("scored_at", "timestamp", False),
    ),
    partition_by=("created_month",),
    merge_key=("id", "kind", "ticker", "scorer_version"),
    rules=(
        Rule("score_in_range", "score BETWEEN -1 AND 1", "scores are in [-1, 1]"),
        Rule("label_known", "label IN ('bullish', 'neutral', 'bearish')", "three labels only"),
    ),
)
