"""Which broker answers an offsets read waits out: leadership still settling, not a refusal."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from jobs.resources.kafka_admin import _settling


@pytest.mark.parametrize("code", [KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE,
                                  KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._TIMED_OUT])
def test_a_partition_whose_leader_is_settling_is_asked_again(code):
    # The client builds these errors without its retriable flag: the codes themselves must be recognised.
    assert _settling(KafkaException(KafkaError(code)))


@pytest.mark.parametrize("code", [KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.SASL_AUTHENTICATION_FAILED])
def test_a_refusal_is_not_retried(code):
    assert not _settling(KafkaException(KafkaError(code)))
    assert not _settling(ValueError("not a Kafka error"))
