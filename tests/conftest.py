"""Shared fixtures: one real local Spark session for the whole run, a fresh real lake per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

# Keep TensorFlow and BLAS from oversubscribing the 2-core CI machines.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OMP_NUM_THREADS", "2")
# The nightly trains on every ticker; tests use a slice (the benchmark times the full run).
os.environ.setdefault("PULSELAKE_MODEL_MAX_TICKERS", "8")
# ... and replays 3 trading days instead of 8, with an intraday model whose walk-forward fits them (each of the
# five other days cost every whole-nightly test about 25 s: 8 days spent 205 s in trades.bronze, trades.closed_days
# and models.intraday_train on the 2-core machine).
os.environ.setdefault("PULSELAKE_REPLAY_DAYS", "3")
os.environ.setdefault("PULSELAKE_INTRADAY_CONFIG", str(FIXTURES / "intraday_nightly.toml"))


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from jobs.resources.spark import get_spark
    from jobs.resources.settings import Settings

    session = get_spark(Settings(lake_root=str(tmp_path_factory.mktemp("lake")), spark_master="local[2]"), "pulselake-tests")
    yield session
    session.stop()


@pytest.fixture
def settings(tmp_path):
    from jobs.resources.settings import Settings

    return Settings(lake_root=str(tmp_path / "lake"), spark_master="local[2]")


from tests.kafka_fixture import kafka_broker  # noqa: E402,F401  (one real broker per test session)
from tests.hdfs_fixture import hdfs  # noqa: E402,F401  (one real HDFS per test session, when asked for)


@pytest.fixture
def kafka(kafka_broker):  # noqa: F811
    """The session broker's KafkaSettings, also as the environment, with this test's own topics."""
    from tests.kafka_records import kafka_environment

    with kafka_environment(kafka_broker) as settings:
        yield settings


@pytest.fixture
def lake(spark, settings):
    from jobs.resources.lake import Lake

    return Lake(spark, settings)


# Property tests (hypothesis): the same examples on every run and machine, nothing written into the repo
# (no example database; failure patches go to the temp folder).
import tempfile  # noqa: E402

from hypothesis import settings as _hypothesis_settings  # noqa: E402

os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "pulselake-hypothesis"))

_hypothesis_settings.register_profile("pulselake", derandomize=True, database=None, deadline=None, print_blob=True)
_hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "pulselake"))


# `make test-fast` runs `pytest -m "not slow"`. A test that starts a real service (the session's Kafka broker or
# HDFS, Airflow, the pipeline-built lake the notebooks and dashboard read) is slow by what it asks for, so a new
# one is marked without anyone remembering to.
SERVICE_FIXTURES = {"kafka_broker", "hdfs", "airflow_db", "small_lake"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
