"""Where rejected records go: one table, every row with its reason."""

from lake_schema.spec import Column, TableSpec

QUARANTINE = TableSpec(
    name="bronze.quarantine",
    description="Records refused by a layer, each with the rule it broke; nothing is dropped silently.",
    columns=(
        Column("quarantine_batch", "string", False, "target table and partition the record was headed for; reruns replace it"),
        Column("target_table", "string", False, "table the record was headed for"),
        Column("reason", "string", False, "name of the rule it broke (see lake_schema)"),
        Column("detail", "string", True, "human-readable detail, e.g. the parse error"),
        Column("record_key", "string", True, "the record's key in its source, for tracing"),
        Column("record", "string", False, "the record as JSON (raw line for unparsable input)"),
        Column("source_file", "string", True, "landed file, for file-fed tables (daily bars)"),
        Column("line_number", "long", True),
        Column("kafka_topic", "string", True, "Kafka record, for topic-fed tables"),
        Column("kafka_partition", "int", True),
        Column("kafka_offset", "long", True),
        Column("ingest_date", "date", True),
    ),
    partition_by=("quarantine_batch",),
)
