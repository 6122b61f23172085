"""What every sandbox's state holds for the kit (its knobs, request recorder, webhook sender and
injected faults) and the timers of what it does later (a label after `ship_delay`), cancelled
when the action happens another way and at shutdown. A vendor's state subclasses it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, Generic

import httpx

from connectors.base import SandboxOptions
from connectors.sandbox_kit.faults import FaultInjector
from connectors.sandbox_kit.knobs import K, KnobHolder
from connectors.sandbox_kit.recording import Recorder
from connectors.sandbox_kit.webhooks import WebhookSender


class Timers:
    """One pending action per key (a request, a shipment)."""

    def __init__(self) -> None:
        self._tasks: dict[Any, asyncio.Task[None]] = {}

    def schedule(self, key: Any, delay: float, action: Callable[[], object]) -> None:
        """Run `action` in `delay` seconds (replacing what `key` had pending)."""

        async def later() -> None:
            await asyncio.sleep(delay)
            self._tasks.pop(key, None)
            action()

        self._tasks[key] = asyncio.get_running_loop().create_task(later())

    def cancel(self, key: Any) -> None:
        """Drop what `key` has pending, unless it is the action running now."""
        task = self._tasks.pop(key, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def cancel_all(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()


class SandboxState(Generic[K]):
    """The kit's part of a sandbox's state: `knobs` validated from `knob_values` (default: the
    options' knobs), and `aclose` for shutdown."""

    def __init__(
        self,
        options: SandboxOptions,
        knobs: type[K],
        knob_values: Mapping[str, Any] | None = None,
        *,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.options = options
        self.knobs = KnobHolder(knobs, options.knobs if knob_values is None else knob_values)
        self.recorder = Recorder()
        self.sender = WebhookSender(self.recorder, transport=webhook_transport)
        self.faults = FaultInjector()
        self.timers = Timers()

    async def aclose(self) -> None:
        self.timers.cancel_all()
        await self.sender.aclose()
