"""A local server speaking Finnhub's trade websocket protocol, streaming replayed trades.

Protocol (as wss://ws.finnhub.io): the client connects with ``?token=KEY``,
sends ``{"type":"subscribe","symbol":"AAPL"}`` (or ``unsubscribe``), and
receives ``{"type":"trade","data":[{"s","p","t","v","c"}, ...]}`` frames and
an occasional ``{"type":"ping"}``.

One market clock serves every connection, as on the real feed: it walks the
chosen trading days in exchange time, batching the trades of each market
second into one frame, sleeping ``market seconds / speedup`` between frames
(speedup 0: as fast as the socket allows). The clock starts with the first
subscription. For tests it can drop a connection abruptly after N frames
(the clock then waits for a client to subscribe again, so nothing is sent into
the void) and mix malformed frames into the stream; every trade it sends is
recorded in ``sent`` (and per connection in ``sent_by_connection``). Scripted
faults (`jobs.local.replay.faults`) hit the opening handshake (``reset``, ``slow``,
``429`` with Retry-After, ``503``) or single trade frames (``reset`` cuts the
connection instead of sending it; ``truncated`` and ``not_json`` spoil it).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from http import HTTPStatus
from itertools import groupby
from typing import Any
from urllib.parse import parse_qs, urlparse

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from jobs.local.replay.faults import FaultScript, linger_zero
from jobs.local.replay.intraday import SESSION_SECONDS, Trade, day_trades, trading_days

MALFORMED_SAMPLES = (
    '{"type":"trade","data":[{"s":"AAPL","p":1',  # truncated JSON
    '["not", "an", "object"]',
    '{"type":"trade"}',  # a trade frame without data
    '{"type":"trade","data":[{"p":10.5,"t":1}]}',  # a trade without its symbol
    'garbage \x00 bytes',
)


@dataclass
class FinnhubReplayConfig:
    symbols: list[str] | None = None  # the universe; None: whatever clients subscribe to
    start: date | None = None
    end: date | None = None
    days: int | None = 1  # how many trading days from `start` (None: all up to `end`)
    trades_per_day: int = 390
    speedup: float = 390.0  # market seconds per wall second; 0 = no pacing
    seed: int = 0
    api_key: str | None = None  # when set, connections with another token are refused (401)
    ping_every_s: float = 10.0
    drop_after_frames: int | None = None  # abort the connection once after this many trade frames
    malformed_every: int | None = None  # add one malformed frame after every N trade frames
    loop: bool = False  # start over when the last day ends
    handshake_faults: list[str] = field(default_factory=list)  # for the next connection attempts, in order
    handshake_fault_always: str | None = None  # then for every later attempt (an outage)
    frame_faults: list[str] = field(default_factory=list)  # for the next trade frames, in order
    frame_fault_always: str | None = None
    slow_s: float = 2.0  # how late a "slow" handshake answers
    retry_after_s: float = 1.0


NOT_JSON_FRAME = "<html><body><h1>502 Bad Gateway</h1></body></html>"


@dataclass(eq=False)
class _Client:
    connection: ServerConnection
    number: int = 0  # 1-based connection count: the key of `sent_by_connection`
    symbols: set[str] = field(default_factory=set)


class FinnhubReplayServer:
    def __init__(self, config: FinnhubReplayConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or FinnhubReplayConfig()
        self.host, self.port = host, port
        self.sent: list[dict[str, Any]] = []  # every trade delivered, in order (wire dicts)
        self.sent_by_connection: dict[int, list[dict[str, Any]]] = {}  # the same, per connection
        self.spoiled: list[str] = []  # trade frames sent truncated or replaced (their trades are not in `sent`)
        self.handshakes: list[tuple[float, str | None]] = []  # (monotonic time, fault played) per attempt
        self.handshake_faults = FaultScript(self.config.handshake_faults, self.config.handshake_fault_always,
                                            self.config.slow_s, self.config.retry_after_s)
        self.frame_faults = FaultScript(self.config.frame_faults, self.config.frame_fault_always)
        for where, script, allowed in (("handshake", self.handshake_faults, ("reset", "slow")),
                                       ("frame", self.frame_faults, ("reset", "truncated", "not_json"))):
            for fault in [*script.upcoming, script.always]:
                status = where == "handshake" and fault is not None and fault.isdigit()
                if fault not in (*allowed, "ok", None) and not status:
                    raise ValueError(f"{fault!r} is not a {where} fault; use one of {', '.join(allowed)}"
                                     + (" or an HTTP status" if where == "handshake" else ""))
        self.malformed_sent = 0
        self.frames_sent = 0
        self.connections = 0
        self.drops = 0
        self._clients: set[_Client] = set()
        self._subscribed = asyncio.Event()
        self.finished = threading.Event()
        self._server: Server | None = None
        self._market: asyncio.Task | None = None
        self._dropped_once = False
        self._ever_subscribed: set[str] = set()

    # ------------------------------------------------------------ serving ---

    async def start(self) -> None:
        self._server = await serve(self._handle, self.host, self.port, process_request=self._process_request)
        self.port = self._server.sockets[0].getsockname()[1]
        self._market = asyncio.create_task(self._run_market())

    async def stop(self) -> None:
        if self._market:
            self._market.cancel()
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    async def _process_request(self, connection: ServerConnection, request: Any) -> Any:
        fault = self.handshake_faults.next()
        self.handshakes.append((time.monotonic(), fault))
        if fault == "slow":
            await asyncio.sleep(self.config.slow_s)
        elif fault == "reset":
            _reset(connection)
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "")  # never arrives: the socket is gone
        elif fault:
            response = connection.respond(HTTPStatus(int(fault)), f"{HTTPStatus(int(fault)).phrase}\n")
            if fault == "429":
                response.headers["Retry-After"] = f"{self.config.retry_after_s:g}"
            return response
        return self._check_token(connection, request)

    def _check_token(self, connection: ServerConnection, request: Any) -> Any:
        token = parse_qs(urlparse(request.path).query).get("token", [""])[0]
        if self.config.api_key and token != self.config.api_key:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "Invalid API key\n")
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        self.connections += 1
        client = _Client(connection, self.connections)
        self.sent_by_connection[client.number] = []
        self._clients.add(client)
        pinger = asyncio.create_task(self._ping(connection))
        try:
            async for message in connection:
                try:
                    request = json.loads(message)
                    kind, symbol = request.get("type"), str(request.get("symbol", "")).upper()
                except (ValueError, AttributeError):
                    await connection.send(json.dumps({"type": "error", "msg": "Invalid message"}))
                    continue
                if kind == "subscribe" and symbol:
                    client.symbols.add(symbol)
                    self._ever_subscribed.add(symbol)
                    self._subscribed.set()
                elif kind == "unsubscribe":
                    client.symbols.discard(symbol)
        except ConnectionClosed:
            pass
        finally:
            pinger.cancel()
            self._clients.discard(client)

    async def _ping(self, connection: ServerConnection) -> None:
        try:
            while True:
                await asyncio.sleep(self.config.ping_every_s)
                await connection.send('{"type":"ping"}')
        except (ConnectionClosed, asyncio.CancelledError):
            return

    # ------------------------------------------------------------- market ---

    def _days(self) -> list[date]:
        days = trading_days(self.config.start, self.config.end)
        return days[: self.config.days] if self.config.days else days

    def _universe(self) -> list[str]:
        if self.config.symbols:
            return sorted({s.upper() for s in self.config.symbols})
        return sorted(self._ever_subscribed)

    async def _run_market(self) -> None:
        await self._subscribed.wait()
        await asyncio.sleep(0.05)  # let the other subscribe messages of the first client arrive
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            for index, day in enumerate(self._days()):
                trades = await asyncio.to_thread(day_trades, self._universe(), day, self.config.trades_per_day, self.config.seed)
                day_open_ms = trades[0].t_ms if trades else 0
                for second, batch in groupby(trades, key=lambda t: (t.t_ms - day_open_ms) // 1000):
                    if self.config.speedup > 0:  # nights are skipped: day k starts k sessions in
                        due = began + (index * SESSION_SECONDS + second) / self.config.speedup
                        await asyncio.sleep(max(0.0, due - loop.time()))
                    await self._broadcast(list(batch))
            if not self.config.loop:
                self.finished.set()
                return

    async def _broadcast(self, batch: list[Trade]) -> None:
        while not self._subscribed.is_set():  # a dropped client is reconnecting: hold the clock
            await self._subscribed.wait()
        for client in list(self._clients):
            data = [t.to_wire() for t in batch if t.symbol in client.symbols]
            if not data:
                continue
            fault = self.frame_faults.next()
            if fault == "reset":
                await self._drop(client)
                continue
            text = json.dumps({"type": "trade", "data": data})
            if fault:
                text = text[: len(text) // 2] if fault == "truncated" else NOT_JSON_FRAME
            try:
                await client.connection.send(text)
            except ConnectionClosed:
                continue
            if fault:
                self.spoiled.append(text)
                continue
            self.sent.extend(data)
            self.sent_by_connection[client.number].extend(data)
            self.frames_sent += 1
            every = self.config.malformed_every
            if every and self.frames_sent % every == 0:
                await client.connection.send(MALFORMED_SAMPLES[self.malformed_sent % len(MALFORMED_SAMPLES)])
                self.malformed_sent += 1
            if self.config.drop_after_frames and not self._dropped_once and self.frames_sent >= self.config.drop_after_frames:
                await self._drop(client)

    async def _drop(self, client: _Client) -> None:
        """Reset the TCP connection (RST, no close frame), as a crashing server or network would."""
        self._dropped_once = True
        self.drops += 1
        self._subscribed.clear()
        await asyncio.sleep(0.2)  # what was sent is on the wire; the cut loses nothing already sent
        self._clients.discard(client)
        _reset(client.connection)


def _reset(connection: ServerConnection) -> None:
    """Abort with SO_LINGER 0: the peer reads ECONNRESET instead of an orderly close."""
    sock = connection.transport.get_extra_info("socket")
    if sock is not None:
        linger_zero(sock)
    connection.transport.abort()


class FinnhubReplayThread:
    """Runs a FinnhubReplayServer on its own event loop in a daemon thread (for tests and embedding)."""

    def __init__(self, config: FinnhubReplayConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = FinnhubReplayServer(config, host, port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="finnhub-replay", daemon=True)

    def __enter__(self) -> FinnhubReplayServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(timeout=30)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


async def serve_forever(config: FinnhubReplayConfig, host: str, port: int, ready: Any = None) -> None:
    server = FinnhubReplayServer(config, host, port)
    await server.start()
    if ready:
        ready(server)
    try:
        await asyncio.Future()
    finally:
        await server.stop()
