"""Which stocks a post talks about.

Three ways a post names a stock, in decreasing certainty:

* a cashtag (``$TSLA``): the writer says it is a ticker, so any 1-5 letter
  cashtag counts, except currency codes;
* a bare upper-case ticker (``NVDA``), counted only when the symbol table knows
  it and the stop-list does not hold it (``A``, ``IT``, ``ALL``, ``DD``, ``CEO``...
  look like tickers but are words), and never in a post written in capitals;
* a company name or alias (``Apple``, ``Bank of America``, ``Google``): the
  curated alias list below plus multi-word names from the symbol table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

# Words that look like tickers in forum text but almost never mean one. Many are
# real symbols (A, ALL, IT, DD, CAT, ARE, ON, NOW...): a cashtag still finds those.
STOP_LIST = frozenset(
    """
    A I AI AH AM AN ARE AS AT ATH ATM ALL AND ANY APE APES BE BIG BY CAN CASH CEO CFO CTO COO CPI DD DM DTE
    EOD EOW EPS ER ETF EU EV FAST FD FDA FED FOMO FOR FTC FUD FYI GDP GO GOT HAS HE HODL HOLD HOT IMO IMHO IN
    IPO IRA IRS IS IT ITM KEY LOL LOW MAN MOON NEW NFA NOW NYSE OK ON ONE OR OTC OTM OUT PE PM PR PT Q QE RH
    RIP ROI SEC SO SPAC TA THE TL TLDR TO UK UP US USA USD VERY WSB YOLO YOY EDIT
    """.split()
)
CURRENCIES = frozenset({"USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "CNY", "BTC", "ETH"})

# Common names and nicknames -> ticker. Targets follow the lake's symbol table
# (GOOG, FB) where it has the company; newer listings use today's symbols.
ALIASES: dict[str, str] = {
    "Apple": "AAPL", "Microsoft": "MSFT", "Nvidia": "NVDA", "NVIDIA": "NVDA", "Tesla": "TSLA", "Amazon": "AMZN",
    "Alphabet": "GOOG", "Google": "GOOG", "Meta": "META", "Meta Platforms": "META", "Facebook": "FB",
    "Intel": "INTC", "Netflix": "NFLX", "Disney": "DIS", "Boeing": "BA", "JPMorgan": "JPM", "JP Morgan": "JPM",
    "GameStop": "GME", "Palantir": "PLTR", "Ford": "F", "General Electric": "GE", "Exxon": "XOM",
    "Exxon Mobil": "XOM", "ExxonMobil": "XOM", "Pfizer": "PFE", "Coca-Cola": "KO", "Coke": "KO", "Walmart": "WMT",
    "Wal-Mart": "WMT", "Nike": "NKE", "Starbucks": "SBUX", "Bank of America": "BAC", "BofA": "BAC",
    "Coinbase": "COIN", "Uber": "UBER", "Snap": "SNAP", "Snapchat": "SNAP", "Caterpillar": "CAT",
    "Home Depot": "HD", "Cisco": "CSCO", "Oracle": "ORCL", "IBM": "IBM", "Goldman Sachs": "GS", "Goldman": "GS",
    "Merck": "MRK", "Citigroup": "C", "Citi": "C", "Wells Fargo": "WFC", "Morgan Stanley": "MS", "PayPal": "PYPL",
    "Salesforce": "CRM", "Adobe": "ADBE", "Qualcomm": "QCOM", "Broadcom": "AVGO", "Costco": "COST",
    "McDonald's": "MCD", "Chevron": "CVX", "Walgreens": "WBA", "AMD": "AMD", "Peloton": "PTON",
    "Rivian": "RIVN", "Shopify": "SHOP", "Airbnb": "ABNB", "Moderna": "MRNA",
    "UnitedHealth": "UNH", "Berkshire": "BRK.B", "Berkshire Hathaway": "BRK.B", "Johnson & Johnson": "JNJ",
    "Procter & Gamble": "PG", "Verizon": "VZ", "AT&T": "T", "Comcast": "CMCSA", "Micron": "MU",
    "Delta Air Lines": "DAL", "American Airlines": "AAL", "Carvana": "CVNA",
    "Beyond Meat": "BYND", "Nikola": "NKLA", "Alibaba": "BABA", "TSMC": "TSM",
}
_NAME_SUFFIXES = re.compile(
    r"(,?\s+(inc\.?|incorporated|corp\.?|corporation|co\.?|company|ltd\.?|plc|llc|group|holdings?|"
    r"companies|the|class [ab]|corp\.? [ab]|company [ab]|cos\.?|n\.?v\.?|s\.?a\.?))+$",
    re.IGNORECASE,
)
_CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z]{1,5}(?:\.[A-Za-z])?)(?![\w])")
_BARE = re.compile(r"(?<![\w$])([A-Z]{2,5})(?![\w])")


@dataclass(frozen=True)
class Mention:
    ticker: str
    start: int
    end: int
    kind: str  # cashtag | ticker | name


def company_short_name(name: str) -> str:
    """'Apple Inc.' -> 'Apple', 'Bank of America Corp' -> 'Bank of America'."""
    short = _NAME_SUFFIXES.sub("", name.strip()).strip(" ,")
    return short or name.strip()


class TickerExtractor:
    def __init__(self, symbols: Iterable[dict], aliases: dict[str, str] | None = None) -> None:
        rows = list(symbols)
        aliases = dict(ALIASES if aliases is None else aliases)
        self.known: frozenset[str] = frozenset(r["ticker"] for r in rows if r.get("ticker")) | frozenset(aliases.values())
        names: dict[str, str] = {}
        for row in rows:
            short = company_short_name(row.get("name") or "")
            # Only multi-word names: single words ("Target", "Gap", "Ball") are too often plain English.
            if len(short.split()) >= 2 and len(short) >= 6:
                names.setdefault(short, row["ticker"])
        names.update(aliases)
        ordered = sorted(names, key=len, reverse=True)  # longest first: "Bank of America" before "America"
        self._names = names
        self._name_pattern = re.compile(r"(?<![\w$])(" + "|".join(re.escape(n) for n in ordered) + r")(?!\w)") if ordered else None

    def mentions(self, text: str) -> list[Mention]:
        found: list[Mention] = []
        taken: list[tuple[int, int]] = []

        def free(start: int, end: int) -> bool:
            return all(end <= s or start >= e for s, e in taken)

        for match in _CASHTAG.finditer(text):
            symbol = match.group(1).upper()
            if symbol not in CURRENCIES:
                found.append(Mention(symbol, match.start(), match.end(), "cashtag"))
                taken.append(match.span())
        if self._name_pattern is not None:
            for match in self._name_pattern.finditer(text):
                if free(*match.span()):
                    found.append(Mention(self._names[match.group(1)], match.start(), match.end(), "name"))
                    taken.append(match.span())
        if not _shouting(text):
            for match in _BARE.finditer(text):
                symbol = match.group(1)
                if symbol in self.known and symbol not in STOP_LIST and free(*match.span()):
                    found.append(Mention(symbol, match.start(), match.end(), "ticker"))
                    taken.append(match.span())
        return sorted(found, key=lambda m: m.start)

    def extract(self, text: str) -> list[str]:
        """Distinct tickers in order of first mention."""
        return list(dict.fromkeys(m.ticker for m in self.mentions(text)))


def _shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.6


@lru_cache(maxsize=1)
def default_extractor() -> TickerExtractor:
    """Built once per process from the bundled symbol table (names and sectors of 579 tickers)."""
    from jobs.sources.bundled import symbol_rows

    return TickerExtractor(symbol_rows())


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def text_about(text: str, ticker: str, extractor: TickerExtractor) -> str:
    """The sentences of `text` that mention `ticker` (all of it when none or every
    sentence does), so a post bullish on one stock and bearish on another scores each fairly."""
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    if len(sentences) <= 1:
        return text
    chosen = [s for s in sentences if ticker in extractor.extract(s)]
    return " ".join(chosen) if chosen else text
