"""The freshness stream: Kafka's finnhub.trades -> bronze/silver trades and 1-minute bars, exactly once.

Spark's Kafka source hands over each micro-batch of records; the batch writes
them through the lake I/O, each table write tagged with the query's app
transaction (version = batch id + 1) so a batch replayed after a crash writes
nothing twice. See `jobs.stream.batch` and `jobs.ingest.consume`.
"""
