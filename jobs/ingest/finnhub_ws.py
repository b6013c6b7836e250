"""Finnhub trade stream collector: websocket frames -> the Kafka topic `finnhub.trades`.

One task reads frames and puts ``(received_at, raw)`` on a bounded queue; when
the queue is full the reader waits, so it stops reading the socket and TCP
pushes back on the server instead of memory growing. A second task hands each
frame to Kafka verbatim (key: its first trade's symbol; headers: receipt time
and source) and counts it: pings are dropped, frames that are not good trade
frames are still produced (bronze quarantines them with their topic, partition
and offset) and counted by reason. When Kafka's buffer is full too, the writer
waits, and so does the reader. A failed handshake or lost connection is retried with capped
exponential backoff plus jitter (at least the server's ``Retry-After`` on a 429
or 503), every symbol is subscribed again, and each failure is counted by
reason (``http_429``, ``handshake_timeout``, ``connection_reset``, ...).
Stopping (SIGTERM, SIGINT, the duration running out) runs the closing handshake
while still reading, so every frame the server sent before it saw the close is
produced, then drains the queue and waits until Kafka acknowledged every record
(`jobs.ingest.publish`). A SIGKILL loses what was in flight (socket, queue,
producer buffer): what Kafka acknowledged stays.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import signal
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidHandshake, InvalidStatus

from jobs.ingest.publish import Publisher, utc_now
from jobs.ingest.topics import FINNHUB_TRADES

log = logging.getLogger(__name__)

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
    failures: Counter = field(default_factory=Counter)  # failed handshakes and lost connections, by reason
    max_queue: int = 0
    kafka: dict[str, Any] = field(default_factory=dict)  # the publisher's summary, at the end

    def summary(self) -> dict[str, Any]:
        return {"frames": self.frames, "trade_frames": self.trade_frames, "trades": self.trades, "pings": self.pings,
                "rejected": dict(self.rejected), "connects": self.connects, "reconnects": self.reconnects,
                "failures": dict(self.failures), "max_queue": self.max_queue, "kafka": self.kafka}


def failure_reason(exc: BaseException) -> str:
    """The counted reason for a failed handshake or a lost connection."""
    if isinstance(exc, InvalidStatus):
        return f"http_{exc.response.status_code}"
    if isinstance(exc, TimeoutError):
        return "handshake_timeout"
    if isinstance(exc, ConnectionClosedOK):
        return "closed_by_server"
    if any(isinstance(e, ConnectionResetError) for e in (exc, exc.__cause__, exc.__context__)):
        return "connection_reset"
    if isinstance(exc, ConnectionRefusedError):
        return "connection_refused"
    if isinstance(exc, ConnectionClosed):
        return "connection_lost"
    if isinstance(exc, InvalidHandshake) and isinstance(exc.__cause__, EOFError):
        return "handshake_cut"  # closed (or reset) before the server answered the upgrade
    if isinstance(exc, InvalidHandshake):
        return "invalid_handshake"
    return "connection_error"


def _retry_after(exc: InvalidStatus) -> float | None:
    try:
        return max(0.0, float(exc.response.headers.get("Retry-After", "")))
    except ValueError:
        return None


def classify_frame(raw: str | bytes) -> tuple[str, Any]:
    """('trade', n_trades) | ('ping', None) | ('reject', (reason, detail)). Pure: the contract of a good frame."""
    try:
        frame = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested past Python's limit
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


def frame_key(raw: str | bytes) -> str | None:
    """The Kafka key of a frame: its first trade's symbol (frames of one symbol stay in order), else none."""
    try:
        return str(json.loads(raw)["data"][0]["s"]).strip().upper() or None
    except (ValueError, UnicodeDecodeError, RecursionError, LookupError, TypeError):
        return None


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
        publisher: Publisher,
        *,
        buffer_size: int = 10_000,
        flush_timeout_s: float = 120.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        open_timeout_s: float = 10.0,
    ) -> None:
        if not symbols:
            raise ValueError("give at least one symbol to subscribe to")
        if urlsplit(url).scheme not in ("ws", "wss"):  # websockets' own error would print the URL with the token
            raise ValueError(f"{url.split('?')[0]} is not a ws:// or wss:// URL")
        self.url = url
        self._api_key = api_key  # never logged: URLs in messages are printed without the query
        self.symbols = [s.strip().upper() for s in symbols if s.strip()]
        self.publisher = publisher
        self.flush_timeout_s = flush_timeout_s
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=buffer_size)
        self.backoff = (backoff_initial_s, backoff_max_s)
        self.open_timeout_s = open_timeout_s
        self.stats = CollectorStats()

    @property
    def safe_url(self) -> str:
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))

    async def run(self, stop: asyncio.Event) -> CollectorStats:
        """Collect until `stop` is set; then wait for Kafka to acknowledge everything and return the counts.
        Raises `PublishError` when records stay undelivered past `flush_timeout_s`."""
        writer = asyncio.create_task(self._write_loop())
        try:
            await self._read_loop(stop)
        finally:
            await self.queue.put(_END)
            await writer
            try:
                await asyncio.to_thread(self.publisher.close, self.flush_timeout_s)
            finally:
                self.stats.kafka = self.publisher.stats.summary()
        return self.stats

    # ------------------------------------------------------------ reading ---

    async def _read_loop(self, stop: asyncio.Event) -> None:
        attempt = 0
        stopper = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                server_wait = None
                try:
                    ws = await self._open(stopper)
                    if ws is None:  # stopped during the handshake
                        return
                    async with ws:
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
                    self.stats.failures[failure_reason(exc)] += 1
                    server_wait = _retry_after(exc)
                    log.warning("handshake with %s failed: HTTP %s", self.safe_url, exc.response.status_code)
                except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as exc:
                    self.stats.failures[failure_reason(exc)] += 1
                    log.warning("connection to %s failed: %s", self.safe_url, failure_reason(exc))
                if stop.is_set():
                    return
                self.stats.reconnects += 1
                delay = backoff_delay(attempt, *self.backoff)
                if server_wait is not None:  # the server said when: not sooner, and never past our cap
                    delay = min(max(delay, server_wait), self.backoff[1])
                attempt += 1
                log.info("reconnecting in %.2f s (attempt %d)", delay, attempt)
                await asyncio.wait({stopper}, timeout=delay)
        finally:
            stopper.cancel()

    async def _open(self, stopper: asyncio.Task) -> Any:
        """The opened connection, or None when `stopper` fired first (a hanging handshake never delays a stop)."""
        opening = asyncio.ensure_future(connect(with_token(self.url, self._api_key), open_timeout=self.open_timeout_s,
                                                max_queue=64))
        await asyncio.wait({opening, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if not opening.done():
            opening.cancel()
            await asyncio.gather(opening, return_exceptions=True)
            return None
        return opening.result()

    async def _receive(self, ws: Any, stopper: asyncio.Task) -> None:
        while True:
            recv = asyncio.create_task(ws.recv())
            done, _ = await asyncio.wait({recv, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if recv not in done:
                await self._drain(ws, recv)
                return
            raw = recv.result()  # raises ConnectionClosed when the server went away
            await self._enqueue(raw)

    async def _enqueue(self, raw: str | bytes) -> None:
        await self.queue.put((utc_now(), raw))  # blocks when full: backpressure
        self.stats.max_queue = max(self.stats.max_queue, self.queue.qsize())

    async def _drain(self, ws: Any, recv: asyncio.Task) -> None:
        """Stopping: start the closing handshake and keep reading until the server's close frame, so every
        frame the server sent before it saw our close (TCP keeps them in order) is produced, none dropped."""
        closing = asyncio.create_task(ws.close())
        while True:
            try:
                raw = await recv
            except ConnectionClosed:
                break
            await self._enqueue(raw)
            recv = asyncio.create_task(ws.recv())
        await closing

    # ------------------------------------------------------------ writing ---

    async def _write_loop(self) -> None:
        while True:
            try:
                item = await asyncio.wait_for(self.queue.get(), timeout=0.5)
            except TimeoutError:
                self.publisher.poll()
                continue
            if item is _END:
                return
            await self._produce(*item)

    async def _produce(self, received_at: Any, raw: str | bytes) -> None:
        self.stats.frames += 1
        kind, info = classify_frame(raw)
        if kind == "ping":
            self.stats.pings += 1
            return
        if kind == "trade":
            self.stats.trade_frames += 1
            self.stats.trades += info
        else:
            self.stats.rejected[info[0]] += 1
        while not self.publisher.offer(FINNHUB_TRADES, frame_key(raw), raw, received_at):
            await asyncio.sleep(0.05)  # Kafka's buffer is full: the queue fills, then the reader waits


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
