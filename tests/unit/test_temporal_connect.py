"""A process that starts before Temporal is reachable waits for it instead of exiting: the worker
connects with `connect_when_up`, which retries a refused connection on a doubling delay."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from orderloop import temporal_client
from orderloop.loopback_stack import free_port
from orderloop.temporal_client import connect_when_up


async def test_a_refused_connection_is_retried_on_a_doubling_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[str] = []
    slept: list[float] = []
    client = object()

    async def connect(address: str, namespace: str = "default", runtime: Any = None) -> Any:
        attempts.append(address)
        if len(attempts) < 4:
            raise RuntimeError("Failed client connect: Server connection error: tcp connect error")
        return client

    async def sleep(delay: float) -> None:
        slept.append(delay)

    monkeypatch.setattr(temporal_client, "connect", connect)
    monkeypatch.setattr(temporal_client.asyncio, "sleep", sleep)
    got = await connect_when_up("127.0.0.1:7233", first_delay=0.5, max_delay=1.5)
    assert got is client
    assert attempts == ["127.0.0.1:7233"] * 4
    assert slept == [0.5, 1.0, 1.5]


async def test_it_connects_once_the_server_listens(tmp_path: Path) -> None:
    """Against a real port: nothing listens at first, then a Temporal dev server starts there."""
    from orderloop.devserver import DevServer

    port = free_port()
    waiting = asyncio.create_task(connect_when_up(f"127.0.0.1:{port}", first_delay=0.2, max_delay=0.5))
    await asyncio.sleep(1.0)
    assert not waiting.done()
    server = DevServer(db_file=tmp_path / "temporal.db", port=port, ui_port=None)
    await server.start()
    try:
        client = await asyncio.wait_for(waiting, 60)
        assert isinstance(client, Client)
        assert (await client.workflow_service.get_system_info(_system_info())).server_version
    finally:
        server.stop()


def _system_info() -> Any:
    from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

    return GetSystemInfoRequest()


async def test_a_call_made_while_temporal_is_unreachable_waits_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's start-up calls (ensure the inventory syncs, the restock watcher, the
    schedules) outlive a Temporal restart: UNAVAILABLE is retried, anything else is raised."""
    from temporalio.service import RPCError, RPCStatusCode

    from orderloop.temporal_client import until_reachable

    slept: list[float] = []
    calls = 0

    async def sleep(delay: float) -> None:
        slept.append(delay)

    async def create_schedule() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise RPCError("tcp connect error", RPCStatusCode.UNAVAILABLE, b"")
        return "created"

    monkeypatch.setattr(temporal_client.asyncio, "sleep", sleep)
    assert await until_reachable(create_schedule, "create schedules", first_delay=0.5) == "created"
    assert calls == 3 and slept == [0.5, 1.0]

    async def refused() -> str:
        raise RPCError("bad schedule", RPCStatusCode.INVALID_ARGUMENT, b"")

    with pytest.raises(RPCError, match="bad schedule"):
        await until_reachable(refused, "create schedules")
