"""A local stand-in for Finnhub's REST API (https://finnhub.io/api/v1), answered from the bundled bars.

Serves ``/quote``, ``/stock/profile2`` and ``/stock/candle`` with Finnhub's
JSON shapes and its failure modes: 401 for a wrong token, 403 for candles
(a paid endpoint) unless ``candles_allowed``, 429 with ``Retry-After`` when
its per-minute quota is spent, and scripted faults (e.g. ``[429, 503]`` or
``["reset", "truncated"]`` for the next two requests, ``fault_always`` for an
outage; see `jobs.local.replay.faults`) so clients' retry paths run for real.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jobs.local.replay.faults import FaultScript, FaultyHandler
from jobs.local.replay.intraday import daily_bars, session_start, trading_days
from jobs.local.loopback_http import LoopbackHttp
from jobs.sources.bundled import symbol_rows

FORBIDDEN = {"error": "You don't have access to this resource."}


@dataclass
class FinnhubRestConfig:
    api_key: str | None = None  # None: any token is accepted
    as_of: date | None = None  # the "today" quotes are taken from; default: last bundled day
    candles_allowed: bool = False
    calls_per_minute: int | None = None  # the server's own quota (429 past it)
    retry_after_s: int = 1
    # faults for the next requests, in order: status codes or names from jobs.local.replay.faults
    faults: list[int | str] = field(default_factory=list)
    fault_always: str | None = None  # then every later request gets this one (a persistent outage)
    slow_s: float = 2.0  # how late a "slow" answer comes


class _Handler(FaultyHandler):

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        app, arrived = self.server.app, time.monotonic()
        parts = urlsplit(self.path)
        path = "/" + "/".join(p for p in parts.path.split("/") if p)  # finnhub-python sends "v1//quote"
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        fault = app.faults.next()
        if self.answers(fault):  # logged before the client can see the answer
            app.record(arrived, path, int(fault) if fault.isdigit() else fault)
        if self.play(fault, app.faults.slow_s, app.faults.retry_after_s):
            return
        status, body, headers = app.answer(path, params)
        app.record(arrived, path, self.played or status)  # a spoiled answer is logged as its fault
        self.send_body(status, json.dumps(body).encode(), headers)


class FinnhubRestFake(LoopbackHttp):
    def __init__(self, config: FinnhubRestConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or FinnhubRestConfig()
        self._lock = threading.Lock()
        self.requests: list[tuple[float, str, int | str]] = []  # (monotonic arrival, path, status or fault)
        self._window: list[float] = []
        self.faults = FaultScript(self.config.faults, self.config.fault_always, self.config.slow_s,
                                  self.config.retry_after_s)
        super().__init__(_Handler, host, port, app=self, name="finnhub-rest-fake")

    @property
    def url(self) -> str:
        return f"{self.root}/api/v1"

    # ------------------------------------------------------------ answers ---

    def record(self, arrived: float, path: str, outcome: int | str) -> None:
        """Log a request (in order of arrival): its status, or the fault it got (reset, slow, truncated, not_json)."""
        with self._lock:
            bisect.insort(self.requests, (arrived, path, outcome), key=lambda r: r[0])

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if self.config.api_key and params.get("token") != self.config.api_key:
            return 401, {"error": "Invalid API key"}, {}
        with self._lock:
            if self.config.calls_per_minute:
                now = time.monotonic()
                self._window = [t for t in self._window if now - t < 60.0]
                if len(self._window) >= self.config.calls_per_minute:
                    wait = int(60.0 - (now - self._window[0])) + 1
                    return 429, {"error": "API limit reached. Please try again later. Remaining Limit: 0"}, {
                        "Retry-After": str(wait), "X-Ratelimit-Remaining": "0"}
                self._window.append(now)
        symbol = params.get("symbol", "").upper()
        if path == "/api/v1/quote":
            return 200, self._quote(symbol), {}
        if path == "/api/v1/stock/profile2":
            return 200, self._profile(symbol), {}
        if path == "/api/v1/stock/candle":
            if not self.config.candles_allowed:
                return 403, FORBIDDEN, {}
            return self._candles(symbol, params)
        return 404, {"error": "Not found"}, {}

    def _as_of(self) -> date:
        return self.config.as_of or trading_days()[-1]

    def _quote(self, symbol: str) -> dict[str, Any]:
        by_day = daily_bars().get(symbol, {})
        as_of = self._as_of()
        days = sorted(d for d in by_day if d <= as_of)
        if not days:  # Finnhub answers an unknown symbol with zeros, not an error
            return {"c": 0, "d": None, "dp": None, "h": 0, "l": 0, "o": 0, "pc": 0, "t": 0}
        bar = by_day[days[-1]]
        prev = by_day[days[-2]].close if len(days) > 1 else bar.open
        close_ts = int(session_start(bar.day).timestamp()) + 6 * 3600 + 30 * 60
        return {"c": bar.close, "d": round(bar.close - prev, 4), "dp": round((bar.close / prev - 1) * 100, 4),
                "h": bar.high, "l": bar.low, "o": bar.open, "pc": prev, "t": close_ts}

    def _profile(self, symbol: str) -> dict[str, Any]:
        row = next((r for r in symbol_rows() if r["ticker"] == symbol), None)
        if row is None:
            return {}
        return {"country": "US", "currency": "USD", "exchange": "US", "name": row["name"], "ticker": symbol,
                "finnhubIndustry": row.get("industry") or row.get("sector"), "ipo": "", "marketCapitalization": None,
                "shareOutstanding": None, "logo": "", "phone": "", "weburl": ""}

    def _candles(self, symbol: str, params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if params.get("resolution") != "D":
            return 422, {"error": "This demo serves daily candles only (resolution=D)."}, {}
        try:
            start, end = int(params["from"]), int(params["to"])
        except (KeyError, ValueError):
            return 422, {"error": "from and to must be UNIX seconds"}, {}
        bars = [b for d, b in sorted(daily_bars().get(symbol, {}).items())
                if start <= int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp()) <= end]
        if not bars:
            return 200, {"s": "no_data"}, {}
        return 200, {
            "s": "ok",
            "t": [int(datetime(b.day.year, b.day.month, b.day.day, tzinfo=timezone.utc).timestamp()) for b in bars],
            "o": [b.open for b in bars], "h": [b.high for b in bars], "l": [b.low for b in bars],
            "c": [b.close for b in bars], "v": [b.volume for b in bars],
        }, {}
