"""Finnhub's REST answers (quotes, company profiles, candles), kept verbatim, one row per answer."""

from lake_schema.spec import KAFKA_LINEAGE, Column, TableSpec


def _rest_answers(kind: str, topic: str) -> TableSpec:
    return TableSpec(
        name=f"bronze.finnhub_{kind}",
        description=f"Every Finnhub REST {kind} answer from Kafka's {topic}, as received.",
        columns=(
            Column("record_id", "string", False, "the Kafka record: one per answer"),
            Column("symbol", "string", False, "the record's key"),
            Column("payload", "string", False, "the answer's JSON, verbatim"),
            Column("received_at", "timestamp", False),
            *KAFKA_LINEAGE,
            Column("ingest_date", "date", False, "receipt date (UTC)"),
        ),
        partition_by=("ingest_date",),
        merge_key=("record_id",),
    )


BRONZE_FINNHUB_QUOTES = _rest_answers("quotes", "finnhub.quotes")
BRONZE_FINNHUB_PROFILES = _rest_answers("profiles", "finnhub.profiles")
BRONZE_FINNHUB_CANDLES = _rest_answers("candles", "finnhub.candles")
