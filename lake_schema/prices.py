"""Daily price bars, from raw landed lines to daily features."""

from lake_schema.spec import Column, Rule, TableSpec

_LINEAGE = (
    Column("source", "string", False, "bundled dataset or feed the bar came from"),
    Column("source_file", "string", False, "file name within the source"),
    Column("line_number", "long", False, "1-based line in that file"),
    Column("landed_at", "timestamp", False, "when the raw line was landed"),
    Column("ingest_date", "date", False, "landing batch (UTC date)"),
)

DAILY_BAR_LINES = TableSpec(
    name="landing.daily_bar_lines",
    description="Raw CSV lines of daily bar files exactly as received, immutable, one row per line.",
    columns=(
        Column("source", "string", False),
        Column("source_file", "string", False),
        Column("file_sha256", "string", False, "content hash of the whole file; landing a file twice is a no-op"),
        Column("line_number", "long", False),
        Column("line", "string", True),
        Column("landed_at", "timestamp", False),
        Column("ingest_date", "date", False),
    ),
    partition_by=("ingest_date",),
)

BRONZE_DAILY_BARS = TableSpec(
    name="bronze.daily_bars",
    description="Daily bars parsed and typed from landed lines, with lineage; unparsable lines are quarantined.",
    columns=(
        Column("record_id", "string", False, "sha256 of file hash and line number: one per landed line"),
        Column("ticker", "string", False),
        Column("trade_date", "date", False),
        Column("open", "double"),
        Column("high", "double"),
        Column("low", "double"),
        Column("close", "double"),
        Column("adj_close", "double", True, "split/dividend adjusted close where the source has one"),
        Column("volume", "long"),
        Column("row_hash", "string", False, "hash of the bar's values: equal hashes are exact duplicates"),
        *_LINEAGE,
    ),
    partition_by=("ingest_date",),
    merge_key=("record_id",),
)

SILVER_DAILY_BARS = TableSpec(
    name="silver.daily_bars",
    description="Validated, deduplicated daily bars: one row per ticker and trading day, with adjusted returns.",
    columns=(
        Column("ticker", "string", False),
        Column("trade_date", "date", False),
        Column("trade_month", "string", False, "YYYY-MM, the partition a nightly run rewrites"),
        Column("open", "double", False),
        Column("high", "double", False),
        Column("low", "double", False),
        Column("close", "double", False),
        Column("adj_close", "double", False, "adjusted close; equals close where the source has no adjustment"),
        Column("volume", "long"),
        Column("return_1d", "double", True, "adj_close over the previous trading day's adj_close, minus 1"),
        *_LINEAGE,
    ),
    partition_by=("trade_month",),
    merge_key=("ticker", "trade_date"),
    rules=(
        Rule("prices_present", "open IS NOT NULL AND high IS NOT NULL AND low IS NOT NULL AND close IS NOT NULL",
             "every bar has open, high, low and close"),
        Rule("prices_positive", "open > 0 AND high > 0 AND low > 0 AND close > 0 AND coalesce(adj_close, close) > 0",
             "prices are strictly positive"),
        Rule("high_not_below_low", "high >= low", "the day's high is at least its low"),
        Rule("volume_not_negative", "volume IS NULL OR volume >= 0", "volume is never negative"),
        Rule("date_not_after_ingest", "trade_date <= ingest_date", "a bar cannot be dated after it arrived"),
        Rule("open_close_within_range", "open BETWEEN low AND high AND close BETWEEN low AND high",
             "open and close inside [low, high]; real vendor data breaks this now and then, so it warns",
             action="warn"),
    ),
)

SYMBOLS = TableSpec(
    name="silver.symbols",
    description="Reference list of tickers with company name, sector and industry.",
    columns=(
        Column("ticker", "string", False),
        Column("name", "string", True),
        Column("sector", "string", True),
        Column("industry", "string", True),
        Column("source", "string", False, "reference file the row came from"),
    ),
    merge_key=("ticker",),
)

GOLD_DAILY_FEATURES = TableSpec(
    name="gold.daily_features",
    description="Per ticker and day, features computed only from data up to that day (no look-ahead).",
    columns=(
        Column("ticker", "string", False),
        Column("trade_date", "date", False),
        Column("trade_month", "string", False),
        Column("sector", "string", True),
        Column("adj_close", "double", False),
        Column("volume", "long"),
        Column("return_1d", "double"),
        Column("log_return_1d", "double"),
        Column("return_5d", "double"),
        Column("return_20d", "double"),
        Column("volatility_20d", "double", True, "std of daily returns over the last 20 trading days"),
        Column("range_pct", "double", True, "(high - low) / close"),
        Column("dollar_volume", "double"),
        Column("volume_z_20d", "double", True, "volume z-score against the last 20 trading days"),
        Column("close_to_sma_20d", "double", True, "adj_close over its 20-day mean, minus 1"),
    ),
    partition_by=("trade_month",),
    merge_key=("ticker", "trade_date"),
)
