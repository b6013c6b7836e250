"""The `pulselake` console script, run as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PULSELAKE = Path(sys.executable).parent / "pulselake"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(PULSELAKE), *args], capture_output=True, text=True, timeout=120)


def test_every_command_has_help():
    top = run("--help")
    assert top.returncode == 0 and "nightly" in top.stdout and "tables" in top.stdout
    nightly = run("nightly", "--help")
    assert nightly.returncode == 0 and "--start" in nightly.stdout and "--lake-root" in nightly.stdout
    assert "--verbose" in nightly.stdout and "log file" in nightly.stdout


def test_tables_lists_the_schema():
    result = run("tables")
    assert result.returncode == 0
    assert "silver.daily_bars" in result.stdout and "bronze.quarantine" in result.stdout


def test_a_bad_date_is_a_clear_error_not_a_stack_trace():
    result = run("nightly", "--start", "2010-13-01")
    assert result.returncode != 0
    assert "YYYY-MM-DD" in result.stderr and "Traceback" not in result.stderr


def test_one_step_runs_alone_for_a_window_and_a_half_window_is_refused(tmp_path):
    # prices.symbols reads nothing and touches no topic: no Kafka broker is started for it.
    result = run("step", "prices.symbols", "--lake-root", str(tmp_path / "lake"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Kafka: not needed" in result.stderr and "prices.symbols" in result.stderr
    from deltalake import DeltaTable

    assert DeltaTable(str(tmp_path / "lake" / "silver" / "symbols")).to_pyarrow_table().num_rows > 500
    half = run("step", "prices.silver", "--start", "2010-01-01", "--lake-root", str(tmp_path / "lake"))
    assert half.returncode == 2 and "give both start and end" in half.stderr


def test_the_replay_continues_after_the_lakes_newest_trade_day(lake, spark):
    """`pulselake replay finnhub` with no --start serves the bundled day after the lake's newest trades, so a
    stream after `make run` gets trades newer than its watermark; with the last bundled day in the lake it says
    what to do instead of replaying trades every table already has."""
    import typer

    from jobs.cli.replay import _day_after_the_lake
    from jobs.sources.bundled import LAST_BUNDLED_DAY, REPLAY_DAY
    from lake_schema.trades import SILVER_TRADES

    root = lake.settings.lake_root
    assert _day_after_the_lake(root)[0] == LAST_BUNDLED_DAY  # no trades yet

    def trades_of(day: str):
        return spark.sql(f"SELECT 1L AS trade_key, 'AAPL' AS symbol, 10.0D AS price, 1.0D AS volume, "
                         f"TIMESTAMP'{day} 15:00:00' AS trade_ts, array('1') AS conditions, "
                         f"TIMESTAMP'{day} 15:00:01' AS received_at, DATE'{day}' AS trade_date")

    lake.append(SILVER_TRADES, trades_of(str(REPLAY_DAY)))  # what `make run` leaves: trades to 2010-08-19
    first, why = _day_after_the_lake(root)
    assert first == LAST_BUNDLED_DAY and str(REPLAY_DAY) in why
    lake.append(SILVER_TRADES, trades_of(str(LAST_BUNDLED_DAY)))
    with pytest.raises(typer.Exit):
        _day_after_the_lake(root)


def test_commands_that_need_kafka_say_so_in_one_line_when_it_is_not_there(tmp_path):
    from jobs.local.jvm_daemon import free_ports

    [port] = free_ports(1)
    env = {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}", "KAFKA_SASL_PASSWORD": "x",
           "PULSELAKE_LAKE_ROOT": str(tmp_path / "lake")}
    for args in (["ingest", "load"], ["stream", "--no-score"], ["ingest", "reset-offsets", "--topic", "finnhub.trades"]):
        result = subprocess.run([str(PULSELAKE), *args], capture_output=True, text=True, timeout=120,
                                env={**os.environ, **env})
        said = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert result.returncode == 1 and "Traceback" not in result.stderr, (args, result.stderr[-2000:])
        assert len(said) == 1 and f"cannot reach Kafka at 127.0.0.1:{port}" in said[0], (args, result.stderr)
