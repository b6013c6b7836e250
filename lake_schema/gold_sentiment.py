"""Gold tables where Reddit sentiment meets prices."""

from lake_schema.spec import Column, Rule, TableSpec

_AGGREGATES = (
    Column("posts", "long", False, "posts mentioning the ticker created that UTC day"),
    Column("comments", "long", False, "comments created that day under those tickers' posts"),
    Column("mean_sentiment", "double", True, "mean post sentiment in [-1, 1]"),
    Column("weighted_sentiment", "double", True,
           "post sentiment weighted by 1 + max(score, 0), the score as known at the end of that day "
           "(weight 1 where no fetch that early exists)"),
    Column("bullish_share", "double", True, "share of posts labelled bullish"),
    Column("distinct_authors", "long", False, "distinct authors of those posts and comments"),
)

SENTIMENT_DAILY = TableSpec(
    name="gold.sentiment_daily",
    description="Reddit sentiment per ticker and UTC day: counts, mean and score-weighted sentiment, "
    "bullish share, distinct authors. A day's row is final after midnight UTC (after the US close).",
    columns=(
        Column("ticker", "string", False),
        Column("day", "date", False, "UTC calendar day the posts were created"),
        Column("day_month", "string", False, "YYYY-MM of day (partition)"),
        *_AGGREGATES,
    ),
    partition_by=("day_month",),
    merge_key=("ticker", "day"),
)

SENTIMENT_DAILY_SUBREDDIT = TableSpec(
    name="gold.sentiment_daily_subreddit",
    description="Reddit sentiment per ticker, UTC day and subreddit (same measures as gold.sentiment_daily).",
    columns=(
        Column("ticker", "string", False),
        Column("day", "date", False),
        Column("subreddit", "string", False),
        Column("day_month", "string", False),
        *_AGGREGATES,
    ),
    partition_by=("day_month",),
    merge_key=("ticker", "day", "subreddit"),
)

POST_PRICE_WINDOWS = TableSpec(
    name="gold.post_price_windows",
    description="Per post and mentioned ticker: returns from the first price at or after the post to "
    "+1 hour (minute bars, where ticks exist), +1 and +5 trading days (daily closes). Only prices at "
    "or after the post are used; a horizon not yet reached is NULL.",
    columns=(
        Column("post_id", "string", False),
        Column("ticker", "string", False),
        Column("subreddit", "string", False),
        Column("created_at", "timestamp", False),
        Column("created_month", "string", False, "YYYY-MM of created_at (partition)"),
        Column("sentiment", "double", True),
        Column("label", "string", True),
        Column("intraday_base_at", "timestamp", True, "start of the first 1-minute bar at or after the post"),
        Column("intraday_base_price", "double", True, "that bar's open"),
        Column("return_1h", "double", True, "first price at or after post + 1 h over the intraday base, minus 1"),
        Column("daily_base_date", "date", True, "first trading day whose close (16:00 New York) is at or after the post"),
        Column("daily_base_close", "double", True, "that day's adjusted close"),
        Column("return_1d", "double", True, "next trading day's adjusted close over the daily base, minus 1"),
        Column("return_5d", "double", True, "5th trading day's adjusted close over the daily base, minus 1"),
    ),
    partition_by=("created_month",),
    merge_key=("post_id", "ticker"),
    rules=(Rule("base_not_before_post", "intraday_base_at IS NULL OR intraday_base_at >= created_at",
                "a window never starts before its post"),),
)

SENTIMENT_LEAD_LAG = TableSpec(
    name="gold.sentiment_lead_lag",
    description="Correlation of daily sentiment with later returns (sentiment_leads: sentiment on t vs "
    "return t -> t+k) and with earlier ones (returns_lead: return t-k -> t vs sentiment on t), per ticker "
    "and pooled, each with its sample size and a Fisher-z 95% interval.",
    columns=(
        Column("scope", "string", False, "ticker or pooled"),
        Column("ticker", "string", False, "'*' for pooled"),
        Column("direction", "string", False, "sentiment_leads or returns_lead"),
        Column("horizon_days", "int", False, "k trading days"),
        Column("measure", "string", False, "mean_sentiment, weighted_sentiment or bullish_share"),
        Column("r", "double", True, "Pearson correlation; NULL with fewer than 4 pairs or no variance"),
        Column("ci_low", "double", True),
        Column("ci_high", "double", True),
        Column("n", "long", False, "ticker-days paired"),
        Column("first_day", "date", True),
        Column("last_day", "date", True),
    ),
    merge_key=("ticker", "direction", "horizon_days", "measure"),
)
