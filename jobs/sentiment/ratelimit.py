"""A token bucket: at most `per_minute` units per minute, with bursts up to `capacity`."""

from __future__ import annotations

import threading
import time


class TokenBucket:
    def __init__(self, per_minute: float, capacity: float | None = None, clock=time.monotonic, sleep=time.sleep) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.rate = per_minute / 60.0
        self.capacity = float(capacity if capacity is not None else per_minute)
        self._level = self.capacity
        self._clock, self._sleep = clock, sleep
        self._stamp = clock()
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self, amount: float = 1.0) -> float:
        """Block until `amount` units are available, take them, return seconds waited.
        A request bigger than the bucket waits until the bucket is full, then goes."""
        amount = min(float(amount), self.capacity)
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                self._level = min(self.capacity, self._level + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._level >= amount:
                    self._level -= amount
                    self.waited += waited
                    return waited
                pause = (amount - self._level) / self.rate
                self._sleep(pause)
                waited += pause
