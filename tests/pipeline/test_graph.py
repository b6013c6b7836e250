"""The declared pipeline is consistent with the lake, the topics and the functions it names, and every surface
(CLI, backfill, Airflow: tests/dags) reads it."""

from __future__ import annotations

import inspect
import re

import pytest
from typer.testing import CliRunner

from jobs.ingest.topics import ALL_TOPICS
from jobs.pipeline.graph import STEPS, TOPIC, mermaid, select, step, topic_sinks, upstream
from lake_schema import TABLES


@pytest.mark.parametrize("declared", STEPS, ids=lambda s: s.name)
def test_every_step_names_real_tables_topics_and_a_function_taking_a_window(declared):
    for name in (*declared.reads, *declared.writes):
        if name.startswith(TOPIC):
            assert name.removeprefix(TOPIC) in ALL_TOPICS, name
        else:
            assert name in TABLES, name
    parameters = list(inspect.signature(declared.function).parameters)
    assert parameters[:2] == ["lake", "window"], f"{declared.name} must take (lake, window, ...)"


@pytest.mark.parametrize("declared", STEPS, ids=lambda s: s.name)
def test_each_step_is_declared_beside_its_function_in_its_domains_steps_module(declared):
    function = inspect.unwrap(declared.function)
    assert declared.function.step is declared  # the graph holds the function itself: go-to-definition reaches it
    assert re.fullmatch(r"jobs\.\w+\.steps", function.__module__), function.__module__
    assert function.__doc__, f"{declared.name}: say what the step does"


def test_step_names_are_unique_and_every_kafka_sink_is_declared_by_the_step_that_takes_it():
    assert len({s.name for s in STEPS}) == len(STEPS)
    sinks = topic_sinks()
    assert sorted(sink.topic for sink in sinks) == sorted(ALL_TOPICS)
    for declared in STEPS:
        for sink in declared.topic_sinks():
            assert TOPIC + sink.topic in declared.reads and sink.table.name in declared.writes


def test_steps_are_declared_in_an_order_that_respects_their_data():
    for position, declared in enumerate(STEPS):
        later_writers = [s.name for s in STEPS[position + 1:] if set(s.writes) & set(declared.reads)]
        assert not later_writers, f"{declared.name} reads what {later_writers} write, yet runs before them"


def test_every_table_has_a_writer_and_every_topic_a_reader_and_a_local_source():
    from jobs.local.sources import REPLAY_SOURCES

    written = {name for s in STEPS for name in s.writes}
    assert set(TABLES) <= written, sorted(set(TABLES) - written)
    topics = {TOPIC + t for t in ALL_TOPICS}
    assert topics <= {name for s in STEPS for name in s.reads}
    assert topics == {name for s in REPLAY_SOURCES for name in s.writes}  # `make run` feeds every topic


def test_dependencies_come_from_the_data():
    assert [s.name for s in upstream(step("prices.gold"))] == ["prices.bronze", "prices.symbols", "prices.silver"]
    assert [s.name for s in upstream(step("trades.closed_days"))] == ["trades.bronze"]
    assert upstream(step("prices.land")) == []
    with pytest.raises(KeyError, match="no step 'prices.platinum'"):
        step("prices.platinum")


def test_the_backfill_runs_the_declared_price_steps():
    from jobs.backfill import backfill_steps

    assert backfill_steps(False) == select(groups=["prices"])
    assert [s.name for s in backfill_steps(True)] == ["reddit.bronze", "rest.bronze", "trades.bronze",
                                                      *(s.name for s in select(groups=["prices"]))]


def test_pulselake_graph_prints_every_step_and_a_mermaid_picture():
    from jobs.cli import app

    table = CliRunner().invoke(app, ["graph"], env={"COLUMNS": "300"})
    assert table.exit_code == 0, table.output
    for declared in STEPS:
        assert declared.name in table.output
    picture = CliRunner().invoke(app, ["graph", "--mermaid"])
    assert picture.exit_code == 0 and picture.output == mermaid() + "\n"
    assert all(f'{s.task_id}["{s.name}' in picture.output for s in STEPS)
    topic_arrows = sum(read.startswith(TOPIC) for s in STEPS for read in s.reads)
    assert picture.output.count("-->") == sum(len(upstream(s)) for s in STEPS) + topic_arrows


def test_an_unknown_step_is_a_usage_error():
    from jobs.cli import app

    result = CliRunner().invoke(app, ["step", "prices.platinum"])
    assert result.exit_code == 2 and "no step 'prices.platinum'" in result.output
