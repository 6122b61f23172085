"""The real stack for integration tests and fault drills: dev server, worker, gateway and
sandboxes on free loopback ports, from a copy of the sandbox configuration."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml
from pydantic import BaseModel
from temporalio.client import ScheduleActionExecutionStartWorkflow, ScheduleOverlapPolicy

from orderloop.loopback_stack import TOKEN, make_stack
from orderloop.stack import Stack
from orderloop.temporal_client import connect

R = TypeVar("R", bound=BaseModel)


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


def edit_config(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite a stack's configuration file through `change`, which edits the parsed YAML."""
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def set_channel(**fields: Any) -> Callable[[dict[str, Any]], None]:
    """A `change` for `edit_config`: set fields of channels, given as `{channel id: {field: value}}`."""

    def change(data: dict[str, Any]) -> None:
        for channel in data["channels"]:
            channel.update(fields.get(channel["id"], {}))

    return change


@asynccontextmanager
async def started(stack: Stack) -> AsyncIterator[Stack]:
    """`stack` started, stopped (every process) however the block ends: for a test module that
    needs its own configuration, ledger database or knobs (`make_stack`, then `edit_config`)."""
    try:
        await stack.start()
        yield stack
    finally:
        stack.stop()


async def run_schedule_now(stack: Stack, schedule: str, result_type: type[R], timeout: float = 60) -> R:
    """Trigger one of the worker's schedules (`schedule`: its id after the task-queue prefix,
    e.g. `inventory-reconciliation`) and return the result of the run it started."""
    client = await connect(stack.address)
    handle = client.get_schedule_handle(f"{stack.task_queue_prefix}/{schedule}")

    async def runs() -> list[tuple[str, str]]:
        # By run id: two runs started within one second share a workflow id.
        actions = [a.action for a in (await handle.describe()).info.recent_actions]
        return [
            (a.workflow_id, a.first_execution_run_id)
            for a in actions
            if isinstance(a, ScheduleActionExecutionStartWorkflow)
        ]

    seen = set(await runs())
    await handle.trigger(overlap=ScheduleOverlapPolicy.ALLOW_ALL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [run for run in await runs() if run not in seen]
        if new:
            workflow_id, run_id = new[-1]
            run = client.get_workflow_handle(workflow_id, run_id=run_id, result_type=result_type)
            return await asyncio.wait_for(run.result(), deadline - time.monotonic())
        await asyncio.sleep(0.2)
    raise AssertionError(f"schedule {schedule} started no run within {timeout:.0f}s")
