"""Every Kafka topic the lake takes, with its sink (bronze table and batch function): for lag reports and rebuilds."""

from __future__ import annotations

from jobs.ingest.consume import TopicSink


def all_sinks() -> list[TopicSink]:
    from jobs.ingest.rest_answers import REST_SINKS
    from jobs.reddit.pipeline import REDDIT_SINKS
    from jobs.stream.batch import trades_sink

    return [trades_sink(), *REDDIT_SINKS, *REST_SINKS]
