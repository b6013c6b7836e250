"""The tick path: Finnhub trade frames from Kafka -> bronze -> silver trades and 1-minute bars."""
