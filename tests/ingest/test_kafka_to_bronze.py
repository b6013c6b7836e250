"""Records through a real broker into bronze with Spark's Kafka source: each once, traced to its record,
poison quarantined with its coordinates, one query per checkpoint, nothing accepted lost while the broker is down."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest

from jobs.ingest.consume import CheckpointBusy, CheckpointLock, parsed_sink, take
from jobs.ingest.publish import Publisher, PublishError, utc_now
from jobs.rest.bronze import parse_rest_answers
from jobs.local.sources import collect_replay_rest
from jobs.rest.steps import bronze_rest
from jobs.ingest.topics import FINNHUB_QUOTES
from jobs.resources.kafka import KafkaSettings
from jobs.local.kafka_broker import KafkaBroker
from lake_schema.finnhub_rest import BRONZE_FINNHUB_CANDLES, BRONZE_FINNHUB_PROFILES, BRONZE_FINNHUB_QUOTES
from lake_schema.quarantine import QUARANTINE
from tests.kafka_fixture import free_ports
from tests.kafka_records import read_topic

BIG = 10 * 1024 * 1024


def test_rest_answers_land_once_each_traced_to_its_record(lake, kafka):
    symbols = ("AAPL", "MSFT", "JPM")
    collected = collect_replay_rest(symbols=symbols, candles_from=date(2010, 8, 2), candles_to=date(2010, 8, 20))
    assert "3 symbols" in collected.notes[0]
    assert collect_replay_rest(symbols=symbols, candles_from=date(2010, 8, 2), candles_to=date(2010, 8, 20)).skipped, "a rerun collects again"

    first = bronze_rest(lake)
    assert first.tables == {spec.name: 3 for spec in (BRONZE_FINNHUB_QUOTES, BRONZE_FINNHUB_PROFILES,
                                                      BRONZE_FINNHUB_CANDLES)}
    again = bronze_rest(lake)
    assert not again.tables, "a second take found records the first had taken"

    records = read_topic(kafka, FINNHUB_QUOTES)
    rows = lake.read(BRONZE_FINNHUB_QUOTES).collect()
    assert sorted(r["symbol"] for r in rows) == sorted(symbols)
    for row in rows:
        key, value, headers = records[(row["kafka_partition"], row["kafka_offset"])]
        assert row["kafka_topic"] == kafka.topic(FINNHUB_QUOTES)
        assert (row["symbol"], row["payload"]) == (key, value), "bronze differs from its Kafka record"
        assert json.loads(value)["c"] > 0
        assert headers["source"] == b"finnhub-rest"
        assert row["received_at"].isoformat(timespec="microseconds") == headers["received_at"].decode()[:-1]


def test_poison_records_go_to_quarantine_with_topic_partition_and_offset(lake, kafka):
    topic = f"poison-{uuid.uuid4().hex[:8]}"
    publisher = Publisher(kafka, "test", topics=(topic,))
    sent = {"good": ("AAPL", '{"c": 1.5}'), "not_json": ("AAPL", '{"c": 1.'), "wrong_type": ("AAPL", "[1, 2]"),
            "no_key": (None, '{"c": 2}'), "huge": ("AAPL", '"' + "x" * BIG + '"')}
    for key, value in sent.values():
        publisher.send(topic, key, value, utc_now())
    publisher.close()
    assert publisher.stats.summary()["delivered"] == {topic: 5}

    sink = parsed_sink(topic, BRONZE_FINNHUB_QUOTES, parse_rest_answers)
    report = take(lake, sink)
    assert report.quarantined == {"malformed_record": 4}
    assert lake.read(BRONZE_FINNHUB_QUOTES, filters=[("kafka_topic", "=", kafka.topic(topic))]).count() == 1
    quarantined = lake.read(QUARANTINE).where(f"kafka_topic = '{kafka.topic(topic)}'").collect()
    records = read_topic(kafka, topic)
    assert len(quarantined) == 4
    for row in quarantined:
        assert row["record_key"] == f"{kafka.topic(topic)}:{row['kafka_partition']}:{row['kafka_offset']}"
        assert json.loads(row["record"])["value"] == records[(row["kafka_partition"], row["kafka_offset"])][1], \
            "the quarantined value is not the record's, byte for byte"
    assert max(len(row["record"]) for row in quarantined) > BIG, "the 10 MB record was not kept whole"
    assert not take(lake, sink).quarantined, "a second take quarantined the poison again"


def test_one_query_at_a_time_per_checkpoint(lake, kafka):
    sink = parsed_sink(f"locked-{uuid.uuid4().hex[:8]}", BRONZE_FINNHUB_QUOTES, parse_rest_answers)
    with CheckpointLock(lake, sink):
        with pytest.raises(CheckpointBusy, match="in use by pid"):
            CheckpointLock(lake, sink).acquire()
        with pytest.raises(CheckpointBusy):
            take(lake, sink)
    assert take(lake, sink).notes == [f"{sink.topic}: nothing new"]


@pytest.mark.slow
def test_accepted_records_survive_a_broker_crash(tmp_path):
    port, controller = free_ports(2)
    broker = KafkaBroker(tmp_path / "kafka", port, controller, username="collector", password="secret-pw")
    settings = KafkaSettings(bootstrap_servers=broker.bootstrap, sasl_username="collector", sasl_password="secret-pw")
    topic = "crash.test"
    with broker:
        publisher = Publisher(settings, "test", topics=(topic,), buffer_records=1_000)
        for i in range(100):
            publisher.send(topic, str(i % 7), json.dumps({"n": i}), utc_now())
        assert publisher.flush(30) == 0
        broker.kill()
        accepted = sum(publisher.offer(topic, str(i % 7), json.dumps({"n": i}), utc_now()) for i in range(100, 1_100))
        assert accepted == 1_000 and not publisher.offer(topic, "x", "{}", utc_now()), "the buffer is not bounded"
        assert publisher.stats.buffer_full_waits == 1
        assert publisher.flush(2) == 1_000, "records were delivered to a dead broker"
        broker.start()
        publisher.close(60)
        numbers = sorted(json.loads(value)["n"] for _, value, _ in read_topic(settings, topic).values())
    assert numbers == list(range(1_100)), "records were lost or doubled across the crash"
    assert publisher.stats.delayed > 0


def test_close_reports_records_a_dead_broker_never_took(tmp_path):
    port, controller = free_ports(2)
    broker = KafkaBroker(tmp_path / "kafka", port, controller, username="collector", password="secret-pw")
    settings = KafkaSettings(bootstrap_servers=broker.bootstrap, sasl_username="collector", sasl_password="secret-pw")
    with broker:
        publisher = Publisher(settings, "test", topics=("gone.test",))
        broker.kill()
        publisher.send("gone.test", "k", "{}", utc_now())
        with pytest.raises(PublishError, match="1 records not delivered"):
            publisher.close(2)


def test_status_reports_consumer_lag_and_the_newest_records_age(lake, kafka):
    from typer.testing import CliRunner

    from jobs.cli import app
    from jobs.ingest.lag import topic_lags
    from jobs.rest.steps import rest_sinks

    publisher = Publisher(kafka, "test")
    for symbol in ("AAPL", "MSFT", "IBM"):
        publisher.send(FINNHUB_QUOTES, symbol, json.dumps({"c": 1.0}), utc_now())
    publisher.close()
    quotes = rest_sinks()[0]
    before = topic_lags(lake, kafka, [quotes])[0]
    assert (before.topic, before.retained, before.waiting) == (kafka.topic(FINNHUB_QUOTES), 3, 3)
    assert before.newest_age_s is not None and 0 <= before.newest_age_s < 120
    take(lake, quotes)
    after = topic_lags(lake, kafka, [quotes])[0]
    assert (after.retained, after.waiting) == (3, 0)

    result = CliRunner().invoke(app, ["status", "--lake-root", lake.settings.lake_root], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    line = next(l for l in result.output.splitlines() if kafka.topic(FINNHUB_QUOTES) in l)
    assert "bronze.finnhub_quotes" in line and " 3 " in line and " 0 " in line and "ago" in line


def test_rebuilding_a_range_from_the_topic_restores_lost_rows_once(lake, kafka):
    from datetime import timedelta

    from deltalake import DeltaTable

    from jobs.ingest.consume import rebuild
    from jobs.rest.steps import rest_sinks

    quotes = rest_sinks()[0]
    began = utc_now()
    publisher = Publisher(kafka, "test")
    for symbol in ("AAPL", "MSFT", "IBM", "GE"):
        publisher.send(FINNHUB_QUOTES, symbol, json.dumps({"c": 2.0}), utc_now())
    publisher.close()
    take(lake, quotes)
    DeltaTable(lake.uri(BRONZE_FINNHUB_QUOTES)).delete("symbol IN ('MSFT', 'GE')")  # rows lost downstream
    assert lake.row_count(BRONZE_FINNHUB_QUOTES) == 2

    window = (began - timedelta(minutes=1), utc_now() + timedelta(minutes=1))
    first = rebuild(lake, quotes, *window, kafka)
    assert first.tables == {BRONZE_FINNHUB_QUOTES.name: 2}
    rows = lake.read(BRONZE_FINNHUB_QUOTES).collect()
    assert sorted(r["symbol"] for r in rows) == ["AAPL", "GE", "IBM", "MSFT"]
    assert rebuild(lake, quotes, *window, kafka).tables == {BRONZE_FINNHUB_QUOTES.name: 0}, "a rerun changed bronze"
    assert lake.row_count(BRONZE_FINNHUB_QUOTES) == 4
    empty = rebuild(lake, quotes, window[1] + timedelta(hours=1), window[1] + timedelta(hours=2), kafka)
    assert empty.notes == ["the topic retains no records in that range"]


def test_offsets_the_broker_no_longer_holds_stop_in_one_line_and_reset_offsets_records_the_gap(lake, kafka):
    """Retention (here Kafka's DeleteRecords, what retention does) takes records bronze had not taken yet: the
    next take stops before Spark starts, naming the partitions and offsets; `reset-offsets` records the gap in
    bronze.quarantine and moves the checkpoint, and the next take goes on with what the broker still holds."""
    from confluent_kafka import Producer, TopicPartition
    from confluent_kafka.admin import AdminClient

    from jobs.ingest.checkpoint import OffsetsGone
    from jobs.ingest.consume import reset_offsets
    from jobs.rest.steps import rest_sinks

    quotes, topic = rest_sinks()[0], kafka.topic(FINNHUB_QUOTES)

    def send(per_partition: dict[int, int]) -> None:
        producer = Producer(kafka.client_config())
        for partition, count in per_partition.items():
            for n in range(count):
                producer.produce(topic, json.dumps({"c": float(n + 1)}), key=f"S{partition}", partition=partition)
        assert producer.flush(30) == 0

    take(lake, quotes)  # creates the topic (3 partitions) and an empty checkpoint
    send({0: 2, 1: 2, 2: 2})
    take(lake, quotes)
    assert lake.row_count(BRONZE_FINNHUB_QUOTES) == 6
    send({0: 5, 1: 1})  # partition 0: offsets 2..6, partition 1: offset 2
    admin = AdminClient(kafka.client_config())  # kept while its futures run
    for future in admin.delete_records([TopicPartition(topic, 0, 5)]).values():  # offsets 2..4 of 0 expire
        future.result(60)

    with pytest.raises(OffsetsGone) as gone:
        take(lake, quotes)
    message = str(gone.value)
    assert "\n" not in message and topic in message and "partition 0: offsets 2..4 (3 records) are gone" in message
    assert "partition 1" not in message and f"pulselake ingest reset-offsets --topic {topic}" in message

    reset = reset_offsets(lake, quotes, kafka)
    assert reset.tables == {QUARANTINE.name: 1}, reset.notes
    [gap] = [row for row in lake.read_small(QUARANTINE).to_dict("records") if row["reason"] == "kafka_records_gone"]
    assert (gap["target_table"], gap["kafka_topic"], gap["kafka_partition"], gap["kafka_offset"]) == \
        (BRONZE_FINNHUB_QUOTES.name, topic, 0, 2)
    recorded = json.loads(gap["record"])
    assert (recorded["from_offset"], recorded["to_offset"], recorded["records"], recorded["cause"]) == \
        (2, 5, 3, "retention")
    assert reset_offsets(lake, quotes, kafka).notes == [
        "the broker holds every offset the checkpoint reads next: nothing to move"]

    taken = take(lake, quotes)  # what the broker still holds and bronze has not: offsets 5, 6 of 0 and 2 of 1
    assert lake.row_count(BRONZE_FINNHUB_QUOTES) == 6 + 3, taken.notes
    kept = {(r["kafka_partition"], r["kafka_offset"]) for r in lake.read(BRONZE_FINNHUB_QUOTES).collect()}
    assert {(0, 5), (0, 6), (1, 2)} <= kept and not {(0, 2), (0, 3), (0, 4)} & kept
