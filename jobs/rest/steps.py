"""Finnhub REST answers' steps: quotes, profiles and candles collected into Kafka, then into their bronze tables."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING

from jobs.ingest.topics import FINNHUB_CANDLES, FINNHUB_PROFILES, FINNHUB_QUOTES, record_count
from jobs.resources.kafka import get_kafka_settings
from jobs.resources.ratelimit import TokenBucket
from jobs.sources.bundled import REPLAY_DAY, REPLAY_SYMBOLS
from jobs.steps import StepReport, step, timed, topic
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


@step("rest.collect", writes=[topic(name) for name, _ in ANSWERS],
      windowed=False, kind="collector", description="quotes, profiles and candles -> Kafka (Finnhub REST over loopback)")
@timed
def collect_replay_rest(lake: Lake | None = None, window: Window | None = None, symbols: tuple[str, ...] = REPLAY_SYMBOLS,
                        candles_from: date = REPLAY_DAY.replace(day=1), candles_to: date = REPLAY_DAY) -> StepReport:
    """Quotes, profiles and daily candles of `symbols` from the embedded Finnhub REST server, through the real
    client, into their Kafka topics (skipped when finnhub.quotes already holds records)."""
    from jobs.ingest.finnhub_rest import FinnhubRest
    from jobs.ingest.publish import Publisher, utc_now
    from jobs.replay.finnhub_rest import FinnhubRestConfig, FinnhubRestFake

    report = StepReport("collect Finnhub REST answers (embedded server)")
    kafka = get_kafka_settings()
    if record_count(kafka, FINNHUB_QUOTES):
        report.skipped.append("finnhub.quotes already holds records; `pulselake ingest quote` fetches more")
    else:
        with FinnhubRestFake(FinnhubRestConfig(api_key="replay", candles_allowed=True)) as server:
            client, publisher = FinnhubRest("replay", server.url, bucket=TokenBucket(6_000, capacity=1)), Publisher(kafka, "finnhub-rest")
            for symbol in symbols:
                publisher.send(FINNHUB_QUOTES, symbol, json.dumps(client.quote(symbol)), utc_now())
                publisher.send(FINNHUB_PROFILES, symbol, json.dumps(client.profile(symbol)), utc_now())
                publisher.send(FINNHUB_CANDLES, symbol, json.dumps(client.candles(symbol, candles_from, candles_to)),
                               utc_now())
            publisher.close()
        report.notes.append(f"{len(symbols)} symbols x quote, profile, candles ({client.attempts} requests)")
    return report


@step("rest.bronze", reads=[topic(name) for name, _ in ANSWERS], sinks=rest_sinks,
      writes=[*(table for _, table in ANSWERS), QUARANTINE], windowed=False,
      description="every Finnhub REST answer in Kafka that bronze has not taken yet")
def bronze_rest(lake: Lake, window: Window | None = None) -> StepReport:
    """Every REST answer record in Kafka that bronze has not taken yet."""
    from jobs.ingest.consume import take

    report = take(lake, *rest_sinks())
    report.step = "bronze Finnhub REST answers from Kafka"
    return report
