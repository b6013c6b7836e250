"""The tick path: landed Finnhub trade frames -> bronze -> silver trades and 1-minute bars."""
