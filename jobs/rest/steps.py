"""Finnhub REST answers' step: quotes, profiles and candles from their Kafka topics into their bronze tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobs.ingest.topics import FINNHUB_CANDLES, FINNHUB_PROFILES, FINNHUB_QUOTES
from jobs.steps import StepReport, step, topic
from jobs.window import Window
from lake_schema.finnhub_rest import BRONZE_FINNHUB_CANDLES, BRONZE_FINNHUB_PROFILES, BRONZE_FINNHUB_QUOTES
from lake_schema.quarantine import QUARANTINE

if TYPE_CHECKING:
    from jobs.ingest.consume import TopicSink
    from jobs.resources.lake import Lake

ANSWERS = ((FINNHUB_QUOTES, BRONZE_FINNHUB_QUOTES), (FINNHUB_PROFILES, BRONZE_FINNHUB_PROFILES),
           (FINNHUB_CANDLES, BRONZE_FINNHUB_CANDLES))  # each REST answer's topic and bronze table


def rest_sinks() -> tuple[TopicSink, ...]:
    """Each REST answer's topic -> its bronze table, verbatim (a record without a symbol or a JSON object is
    quarantined)."""
    from jobs.ingest.consume import parsed_sink
    from jobs.rest.bronze import parse_rest_answers

    return tuple(parsed_sink(name, table, parse_rest_answers) for name, table in ANSWERS)


@step("rest.bronze", reads=[topic(name) for name, _ in ANSWERS], sinks=rest_sinks,
      writes=[*(table for _, table in ANSWERS), QUARANTINE], windowed=False,
      description="every Finnhub REST answer in Kafka that bronze has not taken yet")
def bronze_rest(lake: Lake, window: Window | None = None) -> StepReport:
    """Every REST answer record in Kafka that bronze has not taken yet."""
    from jobs.ingest.consume import take

    report = take(lake, *rest_sinks())
    report.step = "bronze Finnhub REST answers from Kafka"
    return report
