"""Silver: one trusted row per ticker and trading day, with adjusted returns.

Order of judgement, each step leaving a reason for what it refuses:
1. `unknown_ticker` — not in the symbol reference table.
2. the table's quarantine rules from lake_schema (prices present and
   positive, high >= low, volume >= 0, not dated after arrival).
3. `duplicate_record` — the same bar again from the same source (first kept).
4. `conflicting_duplicate` — one landing batch of one source gives two
   different bars for a ticker and day: neither can be trusted.
Then, per ticker and day, the highest-priority source wins and within it the
latest landing batch wins (a restatement); the losers stay in bronze.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.quality import DETAIL, REASON, split_by_rules
from lake_schema.prices import BRONZE_DAILY_BARS, SILVER_DAILY_BARS


def build_silver_daily_bars(bronze: DataFrame, symbols: DataFrame, source_priority: dict[str, int]) -> tuple[DataFrame, DataFrame]:
    """Return (silver rows, rejected bronze rows with `reason` and `detail`)."""
    bars = bronze.select(*BRONZE_DAILY_BARS.column_names)
    known = symbols.select(F.col("ticker").alias("_known_ticker")).distinct()
    with_symbol = bars.join(known, bars.ticker == known._known_ticker, "left")
    unknown = with_symbol.where(F.col("_known_ticker").isNull()).drop("_known_ticker").select(
        *bars.columns, F.lit("unknown_ticker").alias(REASON),
        F.concat(F.lit("ticker "), F.col("ticker"), F.lit(" is not in silver.symbols")).alias(DETAIL),
    )
    candidates = with_symbol.where(F.col("_known_ticker").isNotNull()).drop("_known_ticker")

    rule_input = candidates.withColumn("adj_close", F.coalesce("adj_close", "close"))
    passed, broken = split_by_rules(rule_input, SILVER_DAILY_BARS)

    first_copy = Window.partitionBy("source", "ticker", "trade_date", "row_hash").orderBy("ingest_date", "source_file", "line_number")
    passed = passed.withColumn("_copy", F.row_number().over(first_copy))
    duplicates = passed.where(F.col("_copy") > 1).drop("_copy").select(
        *bars.columns, F.lit("duplicate_record").alias(REASON),
        F.lit("an identical bar for this ticker and day arrived earlier").alias(DETAIL),
    )
    unique = passed.where(F.col("_copy") == 1).drop("_copy")

    batch = Window.partitionBy("source", "ingest_date", "ticker", "trade_date")
    unique = unique.withColumn("_versions", F.size(F.collect_set("row_hash").over(batch)))
    conflicting = unique.where(F.col("_versions") > 1).drop("_versions").select(
        *bars.columns, F.lit("conflicting_duplicate").alias(REASON),
        F.lit("the same landing batch holds different bars for this ticker and day").alias(DETAIL),
    )
    trusted = unique.where(F.col("_versions") == 1).drop("_versions")

    priority = F.create_map(*[x for source, rank in source_priority.items() for x in (F.lit(source), F.lit(rank))])
    best = Window.partitionBy("ticker", "trade_date").orderBy(
        F.coalesce(priority[F.col("source")], F.lit(1_000_000)), F.col("ingest_date").desc(), F.col("line_number")
    )
    chosen = trusted.withColumn("_rank", F.row_number().over(best)).where(F.col("_rank") == 1).drop("_rank")

    by_day = Window.partitionBy("ticker").orderBy("trade_date")
    previous_close = F.lag("adj_close").over(by_day)
    previous_source = F.lag("source").over(by_day)
    silver = chosen.withColumn(
        "return_1d",
        # A return across a change of source would mix two adjustment bases: leave it empty.
        F.when(previous_source == F.col("source"), F.col("adj_close") / previous_close - 1),
    ).withColumn("trade_month", F.date_format("trade_date", "yyyy-MM"))

    broken = broken.select(*bars.columns, REASON, DETAIL)
    rejected = unknown.unionByName(broken).unionByName(duplicates).unionByName(conflicting)
    return silver.select(*SILVER_DAILY_BARS.column_names), rejected
