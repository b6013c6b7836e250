"""The freshness stream: Kafka's finnhub.trades -> bronze/silver trades and 1-minute bars, exactly once.

Spark's Kafka source hands over each micro-batch of records; Spark evaluates the
batch once and delta-rs writes its tables, each commit tagged with the query's
app transaction (version = batch id + 1) so a batch replayed after a crash writes
nothing twice; live scoring runs beside it. See `jobs.trades.batch`,
`jobs.stream.scoring` and `jobs.ingest.consume`.
"""
