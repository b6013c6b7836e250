"""Faults for the loopback stand-ins: what a misbehaving internet service does to a client, on real sockets.

The HTTP stand-ins (Finnhub REST, Reddit, the LLM dev server) consume one fault
per request from a `FaultScript`; the Finnhub websocket replay uses the same
names at the handshake and per frame.

* ``reset``: the TCP connection is closed with SO_LINGER 0, so the client reads ECONNRESET.
* ``slow``: the answer comes only after ``slow_s`` seconds (set it past the client's timeout).
* ``429``: Too Many Requests with ``Retry-After``; any other status code (``500``, ``503``) is
  answered as itself.
* ``truncated``: the headers promise Content-Length bytes, half of them are sent, then the
  connection closes.
* ``not_json``: 200 with ``Content-Type: application/json`` and an HTML body (a proxy's error page).

``ok`` in a script answers that request normally (e.g. ``["reset", "ok"]`` then ``always="503"``:
one reset, one good answer, then an outage).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler

FAULTS = ("reset", "slow", "429", "503", "truncated", "not_json")
NOT_JSON_BODY = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"


@dataclass
class FaultScript:
    """Faults for the next requests, in order; once they are used up, `always` (if set) answers every
    later request: a persistent outage. Thread-safe; `served` counts what was played."""

    upcoming: deque = field(default_factory=deque)
    always: str | None = None
    slow_s: float = 2.0
    retry_after_s: float = 1.0
    served: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.upcoming = deque(str(f) for f in self.upcoming)
        for fault in [*self.upcoming, *([self.always] if self.always else [])]:
            check(fault)

    def next(self) -> str | None:
        with self._lock:
            fault = self.upcoming.popleft() if self.upcoming else self.always
            if fault == "ok":
                return None
            if fault:
                self.served[fault] += 1
            return fault


def check(fault: str) -> str:
    if fault in FAULTS or fault == "ok" or (fault.isdigit() and len(fault) == 3):
        return fault
    raise ValueError(f"unknown fault {fault!r}; use one of {', '.join(FAULTS)} or an HTTP status code")


def linger_zero(sock: socket.socket) -> None:
    """SO_LINGER 0: closing the socket then sends RST instead of FIN (the peer reads ECONNRESET)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass


class FaultyHandler(BaseHTTPRequestHandler):
    """A request handler that can play a fault before (or instead of) its normal answer."""

    # Headers and body leave in two writes; with Nagle on, each keep-alive answer then waited ~40 ms for
    # the client's delayed ACK (54 s of the nightly's 1,105 Reddit requests). Real servers set TCP_NODELAY.
    disable_nagle_algorithm = True
    fault: str | None = None  # pending for send_body (truncated, not_json)
    played: str | None = None  # the fault this request got, if any

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - request lines may carry tokens
        return

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:  # the client gave up (timeout) or we cut the connection: nothing more to answer
            self.close_connection = True

    def play_fault(self, script: FaultScript) -> bool:
        """Take the next fault. True when it answered the request (reset, 429, 5xx); after `slow` the
        caller answers late; `truncated` and `not_json` are applied by `send_body`."""
        return self.play(script.next(), script.slow_s, script.retry_after_s)

    @staticmethod
    def answers(fault: str | None) -> bool:
        """Whether playing `fault` is itself the answer to the request (a reset, or a status code)."""
        return fault == "reset" or (fault or "").isdigit()

    def play(self, fault: str | None, slow_s: float = 2.0, retry_after_s: float = 1.0) -> bool:
        """Play one fault (None: none); True when that answered the request (see `play_fault`)."""
        self.fault = self.played = fault
        if self.fault == "slow":
            time.sleep(slow_s)
            return False
        if self.fault == "reset":
            self.close_connection = True
            self.rfile.close()  # drops the file's reference to the socket, so close() below is the real one
            linger_zero(self.connection)
            self.connection.close()
            return True
        if self.fault and self.fault.isdigit():
            status = int(self.fault)
            headers = {"Retry-After": f"{retry_after_s:g}"} if status == 429 else {}
            phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else f"HTTP {status}"
            self.send_body(status, json.dumps({"error": phrase}).encode(), headers)
            return True
        return False

    def send_body(self, status: int, payload: bytes, headers: dict[str, str] | None = None,
                  content_type: str = "application/json; charset=utf-8") -> None:
        """Send one answer; a pending `truncated` or `not_json` fault spoils it on the way out."""
        fault, self.fault = self.fault, None
        if fault == "not_json":
            status, payload = 200, NOT_JSON_BODY
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if fault == "truncated":
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_WR)
            return
        self.wfile.write(payload)
