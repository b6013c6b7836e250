"""Landing numbers every line of a file by its place in the file, however Spark splits the file."""

from __future__ import annotations

from datetime import date, datetime, timezone

from jobs.prices.landing import read_lines
from jobs.sources.bundled import BarFile


def test_lines_keep_their_file_order_across_splits(spark, tmp_path):
    path = tmp_path / "bars.csv"
    lines = [f"T{n % 97:03d},2010-01-{n % 28 + 1:02d},{n}.5,{'x' * (n % 40)}" for n in range(20_000)]
    path.write_text("\n".join(lines) + "\n")
    bar_file = BarFile(source="test", path=path, fields={"ticker": 0}, field_count=4, date_format="yyyy-MM-dd",
                       priority=1, description="lines of uneven length")
    previous = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(64 * 1024))  # many splits of one small file
    try:
        frame = read_lines(spark, bar_file, "sha", datetime(2026, 1, 5, tzinfo=timezone.utc), date(2026, 1, 5))
        assert spark.read.text(str(path)).rdd.getNumPartitions() > 4
        landed = {r.line_number: r.line for r in frame.select("line_number", "line").collect()}
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", previous)
    assert landed == dict(enumerate(lines, start=1))
