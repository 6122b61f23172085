"""Client-side pacing for vendors that charge calls against a credit bucket (ShipHero's complexity
credits, Shopify GraphQL's query cost): the bucket's level is estimated from what each answer
says it cost and the vendor's restore rate, and a call waits before it is sent until the bucket
holds what it is expected to cost, so the bucket never empties.

A wait longer than `max_wait` is not slept inside an activity: `take` raises `RateLimitedError`
with the wait as its delay, and Temporal retries the activity then (no retry loop here)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from connectors.base import RateLimitedError


class CreditBucket:
    """A vendor's credit bucket as the client sees it: `capacity` credits, `restore_rate` credits
    restored per second. `take(cost)` reserves the expected cost (waiting if needed), `settle`
    corrects the estimate with the cost an answer reports, `observe_remaining` resets the level
    when the vendor says how many credits are left."""

    def __init__(
        self,
        capacity: float,
        restore_rate: float,
        *,
        max_wait: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if capacity <= 0 or restore_rate <= 0:
            raise ValueError("a credit bucket needs a positive capacity and restore rate")
        self.capacity = float(capacity)
        self.restore_rate = float(restore_rate)
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._level = float(capacity)
        self._at = clock()
        # Serialises waits, so concurrent calls queue for credits instead of all waking together.
        self._lock = asyncio.Lock()
        # Calls that waited for credits, and for how long in all (for logs and tests).
        self.waits = 0
        self.waited = 0.0

    @property
    def level(self) -> float:
        """Credits estimated to be in the bucket now."""
        self._restore()
        return self._level

    def _restore(self) -> None:
        now = self._clock()
        self._level = min(self.capacity, self._level + (now - self._at) * self.restore_rate)
        self._at = now

    def wait_for(self, cost: float) -> float:
        """Seconds until the bucket holds `cost` credits (0 when it does now)."""
        missing = min(cost, self.capacity) - self.level
        return max(0.0, missing / self.restore_rate)

    async def take(self, cost: float, what: str = "call") -> None:
        """Reserve `cost` credits, waiting up to `max_wait` for them; longer: `RateLimitedError`."""
        async with self._lock:
            wait = self.wait_for(cost)
            if wait > self.max_wait:
                raise RateLimitedError(
                    f"{what}: paced: the credit bucket needs {wait:.1f} s to hold {cost:g} credits", retry_after=wait
                )
            if wait > 0:
                self.waits += 1
                self.waited += wait
                await self._sleep(wait)
            self._level = self.level - min(cost, self.capacity)

    def settle(self, reserved: float, charged: float) -> None:
        """The answer says the call cost `charged` where `reserved` was taken."""
        self._level = max(-self.capacity, min(self.capacity, self.level + reserved - charged))

    def observe_remaining(self, remaining: float) -> None:
        """The vendor said how many credits are left (a throttled answer does)."""
        self._restore()
        self._level = max(0.0, min(self.capacity, float(remaining)))
