"""The real stack for integration tests and fault drills: dev server, worker, gateway and
sandboxes on free loopback ports, from a copy of the sandbox configuration."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from orderloop.loopback_stack import TOKEN, make_stack
from orderloop.stack import Stack


@asynccontextmanager
async def running_stack(directory: Path) -> AsyncIterator[Stack]:
    """A started stack in `directory`, stopped (every process) however the block ends."""
    stack = make_stack(directory)
    try:
        await stack.start()
        yield stack
    finally:
        stack.stop()


async def api_for(stack: Stack) -> AsyncIterator[Api]:
    """An operator API client for a fixture, closed when the fixture ends."""
    client = Api(stack)
    try:
        yield client
    finally:
        await client.aclose()


class Api:
    """The operator API of a running stack, plus helpers to wait on orders."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.http = httpx.AsyncClient(
            base_url=stack.gateway_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        )

    async def order(self, channel: str, external_id: str) -> httpx.Response:
        return await self.http.get(f"/api/orders/{channel}/{external_id}")

    async def wait_order(
        self, channel: str, external_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            response = await self.order(channel, external_id)
            if response.status_code == 200:
                last = response.json()
                if done(last):
                    return dict(last)
            await asyncio.sleep(0.25)
        raise AssertionError(f"order {channel}/{external_id} never got there; last view: {last}")

    async def aclose(self) -> None:
        await self.http.aclose()
