"""The Kafka topics between the collectors and the lake (creating them: jobs.resources.kafka_admin).

Keys: the symbol for Finnhub records, the thing's id for Reddit's. The value is the
record exactly as received; headers carry when it was received and by which collector.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobs.resources.kafka_admin import end_offsets

if TYPE_CHECKING:
    from jobs.resources.kafka import KafkaSettings

FINNHUB_TRADES = "finnhub.trades"  # websocket frames, verbatim
FINNHUB_QUOTES = "finnhub.quotes"  # REST answers, verbatim
FINNHUB_PROFILES = "finnhub.profiles"
FINNHUB_CANDLES = "finnhub.candles"
REDDIT_POSTS = "reddit.posts"
REDDIT_COMMENTS = "reddit.comments"
ALL_TOPICS = (FINNHUB_TRADES, FINNHUB_QUOTES, FINNHUB_PROFILES, FINNHUB_CANDLES, REDDIT_POSTS, REDDIT_COMMENTS)

RECEIVED_AT_HEADER = "received_at"
SOURCE_HEADER = "source"


def record_count(settings: "KafkaSettings", name: str) -> int:
    """Records the topic (`name` before the prefix) retains now."""
    return sum(high - low for low, high in end_offsets(settings.client_config(), settings.topic(name)).values())
