"""The README's stream walkthrough, run as written: on a lake like the one `make run` leaves (trades and bars to
the day before the last bundled one, an intraday model trained on them), the replay, the collector and the
stream, started with the README's own command lines, give the last bundled day's bars and live predictions.

The commands are read from the README (between its stream-walkthrough markers), so the test and the
documentation cannot drift apart. `make kafka` is the one line not run: the README says to skip it when
KAFKA_BOOTSTRAP_SERVERS names a broker, and here it names the test session's."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs.models.steps import train_intraday
from jobs.resources.lake import Lake
from jobs.resources.settings import Settings
from jobs.sources.bundled import LAST_BUNDLED_DAY, REPLAY_SYMBOLS
from lake_schema.models import LIVE_PREDICTIONS
from lake_schema.trades import BARS_1M, SILVER_TRADES
from tests.models.intraday_data import bars_frame, config_toml, last_days, replay_trades, tiny_intraday_config
from tests.windows import LATEST

pytestmark = pytest.mark.slow  # a replayed trading day through Kafka, the stream and TensorFlow

REPO = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"<!-- stream-walkthrough:start -->\s*```bash\n(.*?)```\s*<!-- stream-walkthrough:end -->", re.S)


def walkthrough_commands() -> list[tuple[str, bool]]:
    """(command line, runs in the background) for each line of the README's walkthrough, comments dropped."""
    block = BLOCK.search((REPO / "README.md").read_text())
    assert block, "README.md has no stream-walkthrough block"
    commands = []
    for line in block.group(1).splitlines():
        command = line.split("  #")[0].strip()
        if command:
            commands.append((command.removesuffix("&").strip(), command.endswith("&")))
    return commands


def test_the_walkthrough_is_the_four_commands_the_readme_explains():
    assert [shlex.split(c)[:3] for c, _ in walkthrough_commands()] == [
        ["make", "kafka"], ["pulselake", "replay", "finnhub"], ["FINNHUB_API_KEY=x", "pulselake", "ingest"],
        ["pulselake", "stream"]]


def test_the_readme_walkthrough_gives_the_next_days_bars_and_live_predictions(spark, kafka, tmp_path):
    root = tmp_path / "lake"
    lake = Lake(spark, Settings(lake_root=str(root), spark_master="local[2]"))
    days = [day for day in last_days(6) if day < LAST_BUNDLED_DAY][-4:]
    trades = replay_trades(days, list(REPLAY_SYMBOLS))
    lake.overwrite(BARS_1M, bars_frame(spark, trades))  # what `make run` leaves: bars, trades, a model
    rows = [{**row, "trade_ts": row["trade_ts"].to_pydatetime(), "received_at": row["received_at"].to_pydatetime()}
            for row in trades[trades.trade_date == days[-1]].to_dict("records")]
    lake.append(SILVER_TRADES, spark.createDataFrame(rows, SILVER_TRADES.spark_ddl()))
    assert train_intraday(lake, LATEST, tiny_intraday_config()).tables, "the intraday model did not register"
    config = tmp_path / "intraday_test.toml"
    config.write_text(config_toml(tiny_intraday_config()))
    env = {**os.environ, "PULSELAKE_LAKE_ROOT": str(root), "PULSELAKE_INTRADAY_CONFIG": str(config),
           "PULSELAKE_SPARK_MASTER": "local[2]", "PULSELAKE_SPARK_DRIVER_MEMORY": "1g",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    assert env.get("KAFKA_BOOTSTRAP_SERVERS"), "the kafka fixture names the session's broker"

    (make_kafka, _), *run = walkthrough_commands()
    assert make_kafka == "make kafka"  # skipped: KAFKA_BOOTSTRAP_SERVERS names a broker
    started: list[tuple[subprocess.Popen, Path]] = []
    try:
        for number, (command, _) in enumerate(run):
            log = tmp_path / f"command-{number}.log"
            with log.open("w") as out:
                started.append((subprocess.Popen(["bash", "-c", command], cwd=REPO, env=env, stdout=out,
                                                 stderr=subprocess.STDOUT, start_new_session=True), log))
            if command.startswith("pulselake replay"):  # the collector connects once the replay listens
                _wait(lambda: "Finnhub replay of" in log.read_text(), 120, started[-1])
        replay_log = started[0][1].read_text()
        assert f"Finnhub replay of {LAST_BUNDLED_DAY} (the day after the lake's newest trade day" in replay_log

        def predicted() -> bool:
            made = lake.read_small(LIVE_PREDICTIONS)
            return not made.empty and set(made.trade_date) == {LAST_BUNDLED_DAY}

        _wait(predicted, 300, started[-1])
    finally:
        for process, _ in reversed(started):  # Ctrl-C to each, as a terminal would
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
        codes = []
        for process, _ in started:
            try:
                codes.append(process.wait(timeout=120))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                codes.append(process.wait())
    stream_log = started[-1][1].read_text()
    assert codes[-1] == 0 and "stream stopped" in stream_log, stream_log[-3000:]
    bars = lake.read_small(BARS_1M, where=[("trade_date", "=", LAST_BUNDLED_DAY)])
    made = lake.read_small(LIVE_PREDICTIONS)
    assert set(bars.symbol) == set(REPLAY_SYMBOLS) and len(bars) > 100
    assert len(made) > 0 and set(made.trade_date) == {LAST_BUNDLED_DAY}
    assert not made.duplicated(["symbol", "predicted_at"]).any()


def _wait(condition, timeout_s: float, running: tuple[subprocess.Popen, Path]) -> None:
    process, log = running
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert process.poll() is None, f"{process.args} ended early:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s:\n{log.read_text()[-3000:]}"
        time.sleep(1.0)
