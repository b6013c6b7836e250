"""Bronze trades: landed Finnhub frames -> one row per trade, with lineage.

Each landed line is ``{"received_at", "frame"}`` where `frame` is the websocket
text exactly as received. A line that is not that, or whose frame is not a
trade frame, is quarantined (`malformed_landing_line`, `not_a_trade_frame`); a
trade without symbol, price or time, with a time outside 1970..9999, or with a
volume or conditions that cannot be read, is quarantined as `bad_trade`. Frames the
collector already refused (its rejected files) are quarantined with the
collector's reason. Each landed file is taken exactly once (see
`jobs.ingest.landed`).
"""

from __future__ import annotations

import time

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.ingest.finnhub_ws import REJECTED_STREAM, TRADES_STREAM
from jobs.ingest.landed import LandedFile, pending_files, read_lines
from jobs.ingest.landing import landing_root
from jobs.quality import DETAIL, REASON, in_time_range, lake_time, to_quarantine
from jobs.resources.lake import Lake
from jobs.steps import StepReport
from lake_schema.quarantine import QUARANTINE
from lake_schema.trades import BRONZE_TRADES

_LANDED = "received_at STRING, frame STRING"
_FRAME = "type STRING, data ARRAY<STRUCT<s: STRING, p: DOUBLE, t: BIGINT, v: DOUBLE, c: ARRAY<STRING>>>"
# The optional fields once more as text, to tell a value that is absent from one sent but unreadable.
_SENT = "data ARRAY<STRUCT<v: STRING, c: STRING>>"
_REJECTED = "received_at STRING, reason STRING, detail STRING, frame STRING"
_LINE_COLUMNS = ["source_file", "line_number", "line"]


def parse_trade_lines(lines: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(bronze.trades rows, rejected lines/trades with `reason` and `detail`). Pure."""
    landed = lines.withColumn("_l", F.from_json("line", _LANDED))
    landed = landed.withColumn("received_at", lake_time(F.try_to_timestamp(F.col("_l.received_at"))))
    landed = landed.withColumn("_f", F.from_json(F.col("_l.frame"), _FRAME))
    landed = landed.withColumn("_sent", F.from_json(F.col("_l.frame"), _SENT))
    line_problem = F.coalesce(
        F.when(F.col("_l").isNull() | F.col("_l.frame").isNull(), F.lit("malformed_landing_line")),
        F.when(F.col("received_at").isNull(), F.lit("malformed_landing_line")),
        F.when((F.coalesce(F.col("_f.type"), F.lit("")) != "trade") | (F.coalesce(F.size("_f.data"), F.lit(0)) < 1),
               F.lit("not_a_trade_frame")),
    )
    landed = landed.withColumn(REASON, line_problem)
    bad_lines = landed.where(F.col(REASON).isNotNull()).select(
        *_LINE_COLUMNS, REASON,
        F.when(F.col(REASON) == "not_a_trade_frame", F.lit("frame is not {type: trade, data: [...]}"))
        .otherwise(F.lit("line is not {received_at, frame} JSON")).alias(DETAIL),
    )
    trades = landed.where(F.col(REASON).isNull()).select(
        *_LINE_COLUMNS, "received_at", "_sent", F.posexplode("_f.data").alias("position", "trade")
    ).withColumn("sent", F.get(F.col("_sent.data"), F.col("position")))
    trade_problem = F.coalesce(
        F.when(F.coalesce(F.trim(F.col("trade.s")), F.lit("")) == "", F.lit("no symbol (s)")),
        F.when(F.col("trade.p").isNull(), F.lit("no numeric price (p)")),
        F.when(F.col("trade.t").isNull(), F.lit("no integer time (t)")),
        F.when(~in_time_range(F.col("trade.t")), F.lit("time (t) outside 1970..9999")),
        F.when(F.col("trade.v").isNull() & F.col("sent.v").isNotNull(), F.lit("volume (v) is not a number")),
        F.when(F.col("trade.c").isNull() & F.col("sent.c").isNotNull(), F.lit("conditions (c) is not a list")),
    )
    trades = trades.withColumn(DETAIL, trade_problem)
    bad_trades = trades.where(F.col(DETAIL).isNotNull()).select(*_LINE_COLUMNS, F.lit("bad_trade").alias(REASON), DETAIL)
    good = trades.where(F.col(DETAIL).isNull())
    trade_ts = F.timestamp_millis(F.col("trade.t"))
    bronze = good.select(
        F.sha2(F.concat_ws(":", "source_file", F.col("line_number").cast("string"), F.col("position").cast("string")),
               256).alias("record_id"),
        F.upper(F.trim(F.col("trade.s"))).alias("symbol"),
        F.col("trade.p").alias("price"),
        F.col("trade.v").alias("volume"),
        trade_ts.alias("trade_ts"),
        F.col("trade.c").alias("conditions"),
        "received_at", "source_file", "line_number",
        F.to_date(trade_ts).alias("trade_date"),
    )
    return bronze.select(*BRONZE_TRADES.column_names), bad_lines.unionByName(bad_trades)


def parse_rejected_lines(lines: DataFrame) -> DataFrame:
    """The collector's rejected frames, with its reason, ready for `to_quarantine`. Pure."""
    parsed = lines.withColumn("_r", F.from_json("line", _REJECTED))
    return parsed.select(
        *_LINE_COLUMNS,
        F.coalesce(F.nullif(F.trim(F.col("_r.reason")), F.lit("")), F.lit("malformed_landing_line")).alias(REASON),
        F.coalesce(F.col("_r.detail"), F.lit("rejected by the collector")).alias(DETAIL),
        F.to_date(lake_time(F.try_to_timestamp(F.col("_r.received_at")))).alias("ingest_date"),
    )


def _batch(landed: LandedFile) -> str:
    return landed.path.name  # unique: the writer names files by time and a random suffix


def _quarantine(lake: Lake, rejected: DataFrame, landed: LandedFile) -> dict[str, int]:
    shaped = to_quarantine(rejected, target=BRONZE_TRADES, batch=F.lit(_batch(landed)), record_columns=["line"],
                           record_key=F.concat_ws(":", "source_file", F.col("line_number").cast("string")))
    batch = f"{BRONZE_TRADES.name}__{_batch(landed)}"
    counts = {r[REASON]: r["count"] for r in rejected.groupBy(REASON).count().collect()}
    if counts:
        lake.overwrite(QUARANTINE, shaped, where=[("quarantine_batch", "=", batch)])
    return counts


def bronze_trades(lake: Lake) -> StepReport:
    """Every landed trade file (and rejected-frame file) not yet in bronze, one commit each."""
    started, report = time.perf_counter(), StepReport("bronze trades from landing")
    root = landing_root(lake.settings)
    files, done = pending_files(lake, BRONZE_TRADES, root, TRADES_STREAM)
    for landed in files:
        lines = read_lines(lake.spark, landed).cache()
        parsed, rejected = parse_trade_lines(lines)
        report.add_quarantine(_quarantine(lake, rejected, landed))
        result = lake.append(BRONZE_TRADES, parsed, txn=landed.txn(BRONZE_TRADES))
        report.add_written(result)
        lines.unpersist()
    # Rejected-frame files are marked done on the quarantine table, which is where they go.
    rejected_files, rejected_done = pending_files(lake, QUARANTINE, root, REJECTED_STREAM)
    for landed in rejected_files:
        frames = parse_rejected_lines(read_lines(lake.spark, landed)).cache()
        shaped = to_quarantine(frames, target=BRONZE_TRADES, batch=F.lit(_batch(landed)), record_columns=["line"],
                               record_key=F.concat_ws(":", "source_file", F.col("line_number").cast("string")))
        lake.append(QUARANTINE, shaped, txn=landed.txn(QUARANTINE))
        report.add_quarantine({r[REASON]: r["count"] for r in frames.groupBy(REASON).count().collect()})
        frames.unpersist()
    report.notes.append(f"{len(files)} trade files and {len(rejected_files)} rejected-frame files taken; "
                        f"{done + rejected_done} taken before")
    if done or rejected_done:
        report.skipped.append(f"{done + rejected_done} landed files already in bronze")
    report.seconds = round(time.perf_counter() - started, 2)
    return report
