"""The micro-batch stream: landed trade files -> bronze/silver trades and 1-minute bars, exactly once.

Spark Structured Streaming watches the landing zone; every micro-batch takes
the files no one has taken yet and writes them through the lake I/O, each
table write tagged with the stream's app transaction (version = batch id + 1)
so a batch replayed after a crash writes nothing twice. See `jobs.stream.batch`.
"""
