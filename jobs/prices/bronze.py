"""Bronze: landed lines parsed into typed daily bars.

A line that cannot be parsed (wrong field count, bad date or number, no
ticker) is quarantined as `malformed_row` with what was wrong; a bar dated
before one that came earlier in the same file for the same ticker is
quarantined as `out_of_order`. Everything else reaches bronze, untouched in
meaning: validation of the values themselves is silver's job.
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.sources.bundled import BarFile
from lake_schema.prices import BRONZE_DAILY_BARS

_PRICE_FIELDS = ("open", "high", "low", "close", "adj_close")


def parse_bar_lines(lines: DataFrame, bar_files: list[BarFile]) -> tuple[DataFrame, DataFrame]:
    """Split landed lines into (bronze rows, rejected lines with `reason` and `detail`)."""
    parsed_parts = []
    for bar_file in bar_files:
        mine = lines.where((F.col("source") == bar_file.source) & (F.col("line_number") > 1))  # line 1 is the header
        parsed_parts.append(_parse_one_format(mine, bar_file))
    unknown = lines.where(~F.col("source").isin([f.source for f in bar_files])).select(
        "*",
        F.lit("malformed_row").alias("reason"),
        F.concat(F.lit("no parser for source "), F.col("source")).alias("detail"),
    )
    parsed = reduce(DataFrame.unionByName, parsed_parts)
    malformed = parsed.where(F.col("detail").isNotNull())
    good = parsed.where(F.col("detail").isNull()).drop("detail")

    ordered = Window.partitionBy("file_sha256", "ticker").orderBy("line_number").rowsBetween(Window.unboundedPreceding, -1)
    good = good.withColumn("_latest_before", F.max("trade_date").over(ordered))
    out_of_order = good.where(F.col("trade_date") < F.col("_latest_before")).select(
        *lines.columns,
        F.lit("out_of_order").alias("reason"),
        F.concat(F.lit("dated "), F.col("trade_date").cast("string"), F.lit(" after a line dated "),
                 F.col("_latest_before").cast("string")).alias("detail"),
    )
    bronze = good.where(F.col("_latest_before").isNull() | (F.col("trade_date") >= F.col("_latest_before")))
    bronze = bronze.withColumn("record_id", F.sha2(F.concat_ws(":", "file_sha256", F.col("line_number").cast("string")), 256))
    bronze = bronze.withColumn(
        "row_hash",
        F.sha2(F.concat_ws("|", *[F.coalesce(F.col(c).cast("string"), F.lit("")) for c in
                                  ("ticker", "trade_date", *_PRICE_FIELDS, "volume")]), 256),
    )
    rejected = malformed.select(*lines.columns, F.lit("malformed_row").alias("reason"), "detail")
    rejected = rejected.unionByName(out_of_order).unionByName(unknown)
    return bronze.select(*BRONZE_DAILY_BARS.column_names), rejected


def _parse_one_format(lines: DataFrame, bar_file: BarFile) -> DataFrame:
    fields = F.split(F.col("line"), ",", -1)

    def raw(name: str) -> Column:
        if name not in bar_file.fields:
            return F.lit(None).cast("string")
        # try_element_at: a short line yields NULL here instead of failing the job (ANSI mode).
        return F.trim(F.try_element_at(fields, F.lit(bar_file.fields[name] + 1)))

    ticker = F.upper(raw("ticker"))
    trade_date = F.try_to_date(raw("trade_date"), bar_file.date_format)
    numbers = {name: F.nullif(raw(name), F.lit("")).try_cast("double") for name in (*_PRICE_FIELDS, "volume")}
    # A volume is a whole number of shares written as one ("123", "123.0"): NaN, 1e30, 1.5 or 1e-300 is
    # unparsable, where a cast through a double would fail the whole job, or round or cut the number.
    whole = F.regexp_extract(raw("volume"), r"^([+-]?[0-9]+)(\.0*)?$", 1)
    numbers["volume"] = F.nullif(whole, F.lit("")).try_cast("long")
    problems = [
        F.when(F.size(fields) != bar_file.field_count,
               F.format_string(f"expected {bar_file.field_count} fields, got %d", F.size(fields))),
        F.when(F.coalesce(ticker, F.lit("")) == "", F.lit("empty ticker")),
        F.when(trade_date.isNull(), F.format_string("unparsable trade_date '%s'", raw("trade_date"))),
    ]
    for name, value in numbers.items():
        if name in bar_file.fields:
            problems.append(F.when(value.isNull() & (F.coalesce(raw(name), F.lit("")) != ""),
                                   F.format_string(f"unparsable {name} '%s'", raw(name))))
    detail = F.coalesce(*problems)  # the first problem found
    return lines.select(
        *lines.columns,
        ticker.alias("ticker"),
        trade_date.alias("trade_date"),
        *[numbers[n].alias(n) for n in _PRICE_FIELDS],
        numbers["volume"].alias("volume"),
        detail.alias("detail"),
    )
