"""Finnhub REST answers (quotes, profiles, candles): collected into Kafka, taken into bronze."""
