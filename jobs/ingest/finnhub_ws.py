"""Finnhub trade stream collector: websocket frames -> landing zone NDJSON.

One task reads frames and puts ``(received_at, raw)`` on a bounded queue; when
the queue is full the reader waits, so it stops reading the socket and TCP
pushes back on the server instead of memory growing. A second task classifies
each frame: trade frames are landed verbatim (``{"received_at", "frame"}``),
pings are dropped, anything malformed goes to the rejected file with its
reason. A lost connection is retried with capped exponential backoff plus
jitter and every symbol is subscribed again. Stopping (SIGTERM, SIGINT, the
duration running out) closes the socket, drains the queue and renames every
open file into place, so nothing received is lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import signal
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from jobs.ingest.landing import LandingWriter, iso, utc_now

log = logging.getLogger(__name__)

TRADES_STREAM = "finnhub/trades"
REJECTED_STREAM = "finnhub/rejected"
DEFAULT_WS_URL = "wss://ws.finnhub.io"
_END = object()


class AuthError(RuntimeError):
    """The server refused the API key: retrying will not help."""


@dataclass
class CollectorStats:
    frames: int = 0
    trade_frames: int = 0
    trades: int = 0
    pings: int = 0
    rejected: Counter = field(default_factory=Counter)
    connects: int = 0
    reconnects: int = 0
    max_queue: int = 0
    files: list[Path] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"frames": self.frames, "trade_frames": self.trade_frames, "trades": self.trades, "pings": self.pings,
                "rejected": dict(self.rejected), "connects": self.connects, "reconnects": self.reconnects,
                "max_queue": self.max_queue, "files": len(self.files)}


def classify_frame(raw: str | bytes) -> tuple[str, Any]:
    """('trade', n_trades) | ('ping', None) | ('reject', (reason, detail)). Pure: the contract of a good frame."""
    try:
        frame = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return "reject", ("invalid_json", str(exc)[:200])
    if not isinstance(frame, dict):
        return "reject", ("not_an_object", f"a frame is a JSON object, got {type(frame).__name__}")
    kind = frame.get("type")
    if kind == "ping":
        return "ping", None
    if kind == "error":
        return "reject", ("server_error", str(frame.get("msg"))[:200])
    if kind != "trade":
        return "reject", ("unknown_type", f"type {kind!r}")
    data = frame.get("data")
    if not isinstance(data, list) or not data:
        return "reject", ("trade_without_data", "a trade frame carries a non-empty data list")
    for i, trade in enumerate(data):
        if not isinstance(trade, dict) or not all(k in trade for k in ("s", "p", "t")):
            return "reject", ("trade_missing_field", f"data[{i}] lacks s, p or t")
    return "trade", len(data)


def with_token(url: str, api_key: str) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode({"token": api_key})]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def backoff_delay(attempt: int, initial: float, cap: float) -> float:
    """Capped exponential backoff with full jitter on the upper half (never zero, never above cap)."""
    ceiling = min(cap, initial * (2 ** attempt))
    return ceiling * (0.5 + random.random() / 2)


class FinnhubTradeCollector:
    def __init__(
        self,
        url: str,
        api_key: str,
        symbols: list[str],
        landing: Path,
        *,
        buffer_size: int = 10_000,
        max_file_bytes: int = 8 << 20,
        max_file_age_s: float = 60.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        open_timeout_s: float = 10.0,
    ) -> None:
        if not symbols:
            raise ValueError("give at least one symbol to subscribe to")
        self.url = url
        self._api_key = api_key  # never logged: URLs in messages are printed without the query
        self.symbols = [s.strip().upper() for s in symbols if s.strip()]
        self.trades = LandingWriter(landing, TRADES_STREAM, max_file_bytes, max_file_age_s, prefix="trades")
        self.rejected = LandingWriter(landing, REJECTED_STREAM, max_file_bytes, max_file_age_s, prefix="rejected")
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=buffer_size)
        self.backoff = (backoff_initial_s, backoff_max_s)
        self.open_timeout_s = open_timeout_s
        self.stats = CollectorStats()

    @property
    def safe_url(self) -> str:
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))

    async def run(self, stop: asyncio.Event) -> CollectorStats:
        """Collect until `stop` is set; then flush and return the counts."""
        writer = asyncio.create_task(self._write_loop())
        try:
            await self._read_loop(stop)
        finally:
            await self.queue.put(_END)
            await writer
            self.trades.close()
            self.rejected.close()
            self.stats.files = self.trades.finished + self.rejected.finished
        return self.stats

    # ------------------------------------------------------------ reading ---

    async def _read_loop(self, stop: asyncio.Event) -> None:
        attempt = 0
        stopper = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                try:
                    async with connect(with_token(self.url, self._api_key), open_timeout=self.open_timeout_s,
                                       max_queue=64) as ws:
                        self.stats.connects += 1
                        log.info("connected to %s, subscribing %d symbols", self.safe_url, len(self.symbols))
                        for symbol in self.symbols:
                            await ws.send(json.dumps({"type": "subscribe", "symbol": symbol}))
                        attempt = 0
                        await self._receive(ws, stopper)
                        if stop.is_set():
                            return
                except InvalidStatus as exc:
                    if exc.response.status_code in (401, 403):
                        raise AuthError(f"{self.safe_url} refused the API key (HTTP {exc.response.status_code}); "
                                        "check FINNHUB_API_KEY") from None
                    log.warning("handshake with %s failed: HTTP %s", self.safe_url, exc.response.status_code)
                except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as exc:
                    log.warning("connection to %s lost: %s", self.safe_url, type(exc).__name__)
                if stop.is_set():
                    return
                self.stats.reconnects += 1
                delay = backoff_delay(attempt, *self.backoff)
                attempt += 1
                log.info("reconnecting in %.2f s (attempt %d)", delay, attempt)
                await asyncio.wait({stopper}, timeout=delay)
        finally:
            stopper.cancel()

    async def _receive(self, ws: Any, stopper: asyncio.Task) -> None:
        while True:
            recv = asyncio.create_task(ws.recv())
            done, _ = await asyncio.wait({recv, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if recv not in done:  # stopping: recv() is cancellation-safe in websockets
                recv.cancel()
                await ws.close()
                return
            raw = recv.result()  # raises ConnectionClosed when the server went away
            received_at = utc_now()
            await self.queue.put((received_at, raw))  # blocks when full: backpressure
            self.stats.max_queue = max(self.stats.max_queue, self.queue.qsize())

    # ------------------------------------------------------------ writing ---

    async def _write_loop(self) -> None:
        while True:
            try:
                item = await asyncio.wait_for(self.queue.get(), timeout=1.0)
            except TimeoutError:
                self.trades.maybe_roll()
                self.rejected.maybe_roll()
                continue
            if item is _END:
                return
            self._land(*item)
            self.trades.maybe_roll()
            self.rejected.maybe_roll()

    def _land(self, received_at: Any, raw: str | bytes) -> None:
        self.stats.frames += 1
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        kind, info = classify_frame(raw)
        if kind == "ping":
            self.stats.pings += 1
        elif kind == "trade":
            self.stats.trade_frames += 1
            self.stats.trades += info
            self.trades.write({"received_at": iso(received_at), "frame": text}, received_at.date())
        else:
            reason, detail = info
            self.stats.rejected[reason] += 1
            self.rejected.write({"received_at": iso(received_at), "reason": reason, "detail": detail, "frame": text},
                                received_at.date())


async def collect_trades(collector: FinnhubTradeCollector, duration_s: float | None = None,
                         handle_signals: bool = True) -> CollectorStats:
    """Run `collector` until the duration ends or SIGTERM/SIGINT arrives, flushing on the way out."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if handle_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    timer = loop.call_later(duration_s, stop.set) if duration_s else None
    try:
        return await collector.run(stop)
    finally:
        if timer:
            timer.cancel()
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
