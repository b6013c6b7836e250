"""Every Kafka topic into the lake at once: what `pulselake ingest load` and `backfill.py --from-kafka` run."""

from __future__ import annotations

from collections.abc import Iterator

from jobs.resources.lake import Lake
from jobs.steps import StepReport


def load_topics(lake: Lake) -> Iterator[StepReport]:
    """Take every record the topics hold that bronze has not taken yet (trades on to silver and bars), then merge
    Reddit into silver. One report per step, as each finishes."""
    from jobs.ingest.consume import take
    from jobs.ingest.rest_answers import bronze_rest
    from jobs.reddit.pipeline import bronze_reddit, silver_reddit
    from jobs.stream.batch import trades_sink

    yield take(lake, trades_sink())
    yield bronze_reddit(lake)
    yield bronze_rest(lake)
    yield silver_reddit(lake)
