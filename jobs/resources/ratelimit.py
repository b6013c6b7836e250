"""One thread-safe token bucket for every client that must stay under a provider's per-minute limit.

Finnhub's REST client takes one token per call (60 calls a minute, burst 1); the LLM scorer takes one
from a requests bucket and the request's token count from a tokens bucket. Providers state their limits
per minute, so the bucket is built from a per-minute rate and a capacity (the burst).

Each acquire reserves its turn under the lock and then sleeps outside it: waiters are served in the order
they arrived, a long wait never blocks others from queueing, and no one re-polls.

A request larger than the capacity (one LLM prompt may exceed the token burst; it cannot be split and
refusing it would fail the batch on every retry) waits for a full bucket, goes, and leaves the bucket in
debt by the excess: the requests after it pay that debt, so the long-run rate still holds. Finnhub never
asks for more than one token, so it is untouched by this.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable


class TokenBucket:
    def __init__(self, per_minute: float, capacity: float | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        """`capacity` defaults to a whole minute's budget, the burst a per-minute quota allows."""
        capacity = per_minute if capacity is None else capacity
        if not (0 < per_minute < math.inf and 0 < capacity < math.inf):
            raise ValueError(f"per_minute and capacity must be positive and finite, not {per_minute}, {capacity}")
        self.per_minute = float(per_minute)
        self.rate = self.per_minute / 60.0  # units per second
        self.capacity = float(capacity)
        self._clock, self._sleep = clock, sleep
        self._level = self.capacity  # below zero: promised to requests still sleeping, or an oversized debt
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self, amount: float = 1.0) -> float:
        """Block until `amount` may go, take it, and return the seconds waited."""
        if not 0 < amount < math.inf:
            raise ValueError(f"amount must be positive and finite, not {amount}")
        with self._lock:
            now = self._clock()
            self._level = min(self.capacity, self._level + (now - self._stamp) * self.rate)
            self._stamp = now
            need = min(float(amount), self.capacity)  # oversized: a full bucket, then debt
            wait = max(0.0, (need - self._level) / self.rate)
            self._level -= amount  # the reservation: later arrivals queue behind it
        if wait > 0:
            self._sleep(wait)
        return wait
