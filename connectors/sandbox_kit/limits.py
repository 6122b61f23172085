"""Rate-limit windows as vendors count them: a sliding window (ShipBob's 150 calls a minute) and
a leaky bucket (Shopify's REST call limit). Each answers how long a refused call should wait."""

from __future__ import annotations

import time
from collections import deque


class SlidingWindow:
    """At most `limit` calls per `window` seconds; `acquire()` returns the seconds to wait
    (0 when the call may proceed)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._calls: deque[float] = deque()

    def acquire(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        while self._calls and now - self._calls[0] >= self.window:
            self._calls.popleft()
        if len(self._calls) >= self.limit:
            return self.window - (now - self._calls[0])
        self._calls.append(now)
        return 0.0

    @property
    def remaining(self) -> int:
        return max(0, self.limit - len(self._calls))


class LeakyBucket:
    """Shopify-style bucket: `size` requests, leaking `rate` per second."""

    def __init__(self, size: int, rate: float) -> None:
        self.size = size
        self.rate = rate
        self.level = 0.0
        self._at = time.monotonic()

    def acquire(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self.level = max(0.0, self.level - (now - self._at) * self.rate)
        self._at = now
        if self.level + 1 > self.size:
            return (self.level + 1 - self.size) / self.rate
        self.level += 1
        return 0.0
