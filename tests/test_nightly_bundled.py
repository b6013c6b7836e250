"""The nightly pipeline over the real bundled data, as `make run` runs it, on a lake in a real HDFS
(`PULSELAKE_LAKE_ROOT=hdfs://...`): nothing but the lake root differs from a local run."""

from __future__ import annotations

import gzip
import io

import pytest
from deltalake import DeltaTable
from rich.console import Console

from jobs.local.sources import REPLAY_SOURCES
from jobs.pipeline.graph import NIGHTLY
from jobs.pipeline.run import print_summary, run_steps
from jobs.sources.bundled import bundled_bar_files
from lake_schema.prices import BRONZE_DAILY_BARS, DAILY_BAR_LINES, GOLD_DAILY_FEATURES, SILVER_DAILY_BARS, SYMBOLS
from lake_schema import TABLES
from tests.hdfs_fixture import hdfs_lake_root
from tests.kafka_records import kafka_environment
from lake_schema.quarantine import QUARANTINE
from tests.windows import LATEST


@pytest.fixture(scope="module")
def nightly(spark, kafka_broker, hdfs):
    """One nightly over the bundled data, as `make run` runs it (collectors through a real Kafka broker), with
    the lake, its checkpoints and the model registry on HDFS: (lake, step reports, printed summary)."""
    from jobs.resources.lake import Lake
    from jobs.resources.settings import Settings

    lake = Lake(spark, Settings(lake_root=hdfs_lake_root(hdfs, "nightly"), spark_master="local[2]"))
    out = io.StringIO()
    with kafka_environment(kafka_broker):
        reports = run_steps(lake, LATEST, [*REPLAY_SOURCES, *NIGHTLY], console=Console(file=out, width=200))
        print_summary(lake, reports, Console(file=out, width=200))
        yield lake, reports, out.getvalue()


@pytest.mark.slow
def test_nightly_builds_every_price_layer_from_the_bundled_real_data(nightly):
    lake, reports, summary = nightly

    for spec in (DAILY_BAR_LINES, BRONZE_DAILY_BARS, SYMBOLS, SILVER_DAILY_BARS, GOLD_DAILY_FEATURES, QUARANTINE):
        assert DeltaTable.is_deltatable(lake.uri(spec)), spec.name
        assert spec.name in summary
    # Every line of both files lands, headers included.
    expected_lines = 0
    for bar_file in bundled_bar_files():
        opener = gzip.open if bar_file.path.suffix == ".gz" else open
        with opener(bar_file.path, "rt") as handle:
            expected_lines += sum(1 for _ in handle)
    assert lake.read(DAILY_BAR_LINES).count() == expected_lines > 130_000
    silver = lake.read(SILVER_DAILY_BARS)
    assert silver.select("ticker").distinct().count() == 525  # 524 S&P 500 names + FB
    assert silver.count() == silver.select("ticker", "trade_date").distinct().count()
    # The vendors' files are clean apart from 78 opens outside [low, high], which are kept and reported.
    assert lake.read(QUARANTINE).count() == 0
    assert sum(r.warnings.get("open_close_within_range", 0) for r in reports) == 78
    # Where two sources overlap, the adjusted series wins, so AAPL's 2:1 split of
    # 2005-02-28 is not a -50% day (its real -52% day, 2000-09-29, stays).
    aapl = silver.where("ticker = 'AAPL'")
    assert aapl.where("source = 'quandl_wiki'").count() == aapl.count()
    by_day = {str(r.trade_date): r.return_1d for r in aapl.where("trade_date IN ('2005-02-28', '2000-09-29')").collect()}
    assert abs(by_day["2005-02-28"]) < 0.05
    assert by_day["2000-09-29"] == pytest.approx(-0.52, abs=0.01)
    assert lake.read(GOLD_DAILY_FEATURES).count() == silver.count()
    assert "Steps" in summary and "open_close_within_range=78" in summary


@pytest.mark.slow
def test_every_table_the_nightly_wrote_reads_back_through_delta_rs(nightly):
    """Spark writes, delta-rs (the dashboard's and notebooks' reader) reads: same rows, same columns, every table."""
    lake = nightly[0]
    written = [spec for spec in TABLES.values() if lake.exists(spec)]
    assert len(written) >= 10, [s.name for s in written]
    for spec in written:
        arrow = DeltaTable(lake.uri(spec)).to_pyarrow_table()
        assert arrow.schema.names == spec.column_names, spec.name
        assert arrow.num_rows == lake.read(spec).count() == lake.row_count(spec), spec.name


@pytest.mark.slow
def test_every_table_has_rows_and_the_summary_counts_each_topic(nightly):
    """After `make run` a new user finds no empty table: trades, REST answers and Reddit came through Kafka."""
    lake, reports, summary = nightly
    nightly_writes = {name for step in NIGHTLY for name in step.writes}  # the stream's live tables are its own
    empty = [name for name, spec in TABLES.items()
             if name != QUARANTINE.name and name in nightly_writes and lake.row_count(spec) == 0]
    assert not empty, f"empty after the nightly: {empty}"
    counts = dict(part.split("=") for part in summary.split("Kafka records per topic: ")[1].splitlines()[0].split(", "))
    assert set(counts) == {"finnhub.trades", "finnhub.quotes", "finnhub.profiles", "finnhub.candles", "reddit.posts",
                           "reddit.comments"}
    assert all(int(n.replace(",", "")) > 0 for n in counts.values()), counts
    trades = lake.read(TABLES["bronze.trades"])
    assert trades.count() == trades.select("kafka_topic", "kafka_partition", "kafka_offset", "record_id").distinct().count()


@pytest.mark.slow
def test_every_step_touched_only_the_tables_it_declares(nightly):
    """The graph's reads and writes are what the steps do: each step of the nightly asked the lake to write only
    tables it declares, and to read only tables it declares reading (or writing: a merge reads its target)."""
    _, reports, _ = nightly
    steps = {declared.name: declared for declared in (*REPLAY_SOURCES, *NIGHTLY)}
    for report in reports:
        declared = steps[report.step]
        assert report.tables_written <= set(declared.writes), (declared.name, report.tables_written)
        assert report.tables_read <= set(declared.reads) | set(declared.writes), (declared.name, report.tables_read)
    by_name = {report.step: report for report in reports}  # the record is real: a few steps, as they are
    assert by_name["prices.land"].tables_written == {"landing.daily_bar_lines"}
    assert {"gold.model_runs", "gold.daily_features"} <= by_name["models.score"].tables_read
    assert by_name["models.score"].tables_written == {"gold.predictions"}


@pytest.mark.slow
def test_the_dashboard_and_the_registry_read_the_hdfs_lake_without_spark(nightly):
    """The dashboard opens the lake with no Spark session (delta-rs over hdfs-native); scoring loaded the model
    the nightly saved to HDFS."""
    from jobs.dashboard import data
    from jobs.resources.kafka import get_kafka_settings
    from jobs.resources.lake import Lake

    spark_lake = nightly[0]
    assert spark_lake.settings.lake_root.startswith("hdfs://")
    lake = Lake(None, spark_lake.settings)
    tickers = data.tickers(lake)
    assert tickers and not data.prices(lake, tickers[0]).empty
    assert not data.predictions(lake, tickers[0]).empty  # scored by the model read back from the HDFS registry
    runs = data.model_runs(lake)  # the daily LSTM and the intraday model, trained on the replayed days' bars
    assert sorted(runs.model_name) == ["intraday_5m", "lstm_global"], runs.model_name.tolist()
    assert all(uri.startswith(spark_lake.settings.lake_root + "/models/") for uri in runs.model_uri)
    assert data.newest_trade(lake) is not None
    lag = data.kafka_lag(lake)  # the Kafka checkpoints' committed offsets, read from HDFS
    kafka = get_kafka_settings()  # the module's broker and topic prefix (the fixture keeps its environment)
    assert set(lag.topic) == {kafka.topic(t) for t in ("finnhub.trades", "finnhub.quotes", "finnhub.profiles",
                                                       "finnhub.candles", "reddit.posts", "reddit.comments")}
    assert (lag.retained > 0).all() and (lag.waiting == 0).all(), lag
