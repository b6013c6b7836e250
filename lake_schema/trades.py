"""The tick path: trades from the Finnhub stream and the 1-minute bars built from them."""

from lake_schema.spec import KAFKA_LINEAGE, Column, Rule, TableSpec

BRONZE_TRADES = TableSpec(
    name="bronze.trades",
    description="Trades parsed from the websocket frames in Kafka's finnhub.trades, one row per trade, each traced to its record.",
    columns=(
        Column("record_id", "string", False, "Kafka record and position in the frame: one per received trade"),
        Column("symbol", "string", False),
        Column("price", "double"),
        Column("volume", "double"),
        Column("trade_ts", "timestamp", False, "exchange time (Finnhub's t, ms since epoch)"),
        Column("conditions", "array<string>"),
        Column("received_at", "timestamp", False, "when the collector received the frame"),
        *KAFKA_LINEAGE,
        Column("trade_date", "date", False),
    ),
    partition_by=("trade_date",),
    merge_key=("record_id",),
)

SILVER_TRADES = TableSpec(
    name="silver.trades",
    description="Validated trades, deduplicated across re-sent frames, one row per distinct trade.",
    columns=(
        Column("trade_key", "long", False, "64-bit hash (xxhash64) of symbol, time, price, volume, conditions and "
               "the position among identical prints of one record"),
        Column("symbol", "string", False),
        Column("price", "double", False),
        Column("volume", "double", False),
        Column("trade_ts", "timestamp", False),
        Column("conditions", "array<string>"),
        Column("received_at", "timestamp", False),
        Column("trade_date", "date", False),
    ),
    partition_by=("trade_date",),
    merge_key=("trade_key",),
    rules=(
        Rule("price_positive", "price > 0", "a trade has a positive price"),
        Rule("volume_not_negative", "volume >= 0", "volume is never negative"),
        Rule("not_from_future", "trade_ts <= received_at + INTERVAL 5 SECONDS",
             "a trade cannot be stamped after it was received (5 s clock skew allowed)"),
    ),
)

BARS_1M = TableSpec(
    name="silver.bars_1m",
    description="1-minute OHLCV bars per symbol built from silver trades.",
    columns=(
        Column("symbol", "string", False),
        Column("minute_start", "timestamp", False),
        Column("open", "double", False),
        Column("high", "double", False),
        Column("low", "double", False),
        Column("close", "double", False),
        Column("volume", "double", False),
        Column("vwap", "double", True),
        Column("trade_count", "long", False),
        Column("trade_date", "date", False),
    ),
    partition_by=("trade_date",),
    merge_key=("symbol", "minute_start"),
)

GOLD_TRADE_DAILY = TableSpec(
    name="gold.trade_daily_bars",
    description="Daily OHLCV per symbol built from the tick path (1-minute bars of closed days).",
    columns=(
        Column("symbol", "string", False),
        Column("trade_date", "date", False),
        Column("open", "double", False, "open of the day's first minute bar"),
        Column("high", "double", False),
        Column("low", "double", False),
        Column("close", "double", False, "close of the day's last minute bar"),
        Column("volume", "double", False),
        Column("vwap", "double", True, "volume-weighted price over the day; NULL when the day traded no volume"),
        Column("trade_count", "long", False),
        Column("bar_minutes", "long", False, "minutes with at least one trade"),
    ),
    partition_by=("trade_date",),
    merge_key=("symbol", "trade_date"),
)
