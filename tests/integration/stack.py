"""The real stack for integration tests and fault drills: dev server, worker, gateway and
sandboxes on free loopback ports, from a copy of the sandbox configuration."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml
from pydantic import BaseModel
from temporalio.client import ScheduleActionExecutionStartWorkflow, ScheduleOverlapPolicy
from temporalio.service import RPCError, RPCStatusCode

from orderloop.config import load_config
from orderloop.ledger import Ledger, OperatorRole
from orderloop.loopback_stack import TOKEN, make_stack
from orderloop.stack import Stack
from orderloop.temporal_client import connect

R = TypeVar("R", bound=BaseModel)


# Schedules this slow are paused once a test stack is up: no test waits for one to fire, and one
# firing by itself in the middle of a test (interval schedules fire at fixed clock times: a 10m
# poll at :00, :10 ...) races the run the test triggers with `run_schedule_now`, which works on a
# paused schedule all the same. The faster ones (report polls every few seconds) keep running.
PAUSE_SCHEDULES_FROM = timedelta(minutes=5)
# The schedule the worker creates last (workers/bootstrap.py `ensure_schedules`).
LAST_SCHEDULE = "inventory-reconciliation"


async def pause_slow_schedules(stack: Stack, timeout: float = 60) -> list[str]:
    """Pause the stack's schedules that fire every `PAUSE_SCHEDULES_FROM` or less often, once
    the worker has created them all; the ids paused."""
    client = await connect(stack.address)
    prefix = f"{stack.task_queue_prefix}/"
    deadline = time.monotonic() + timeout
    while True:
        try:
            await client.get_schedule_handle(prefix + LAST_SCHEDULE).describe()
            break
        except RPCError as err:
            if err.status is not RPCStatusCode.NOT_FOUND or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
    while True:  # the list is the server's visibility store, which may lag a moment
        ids = [listed.id async for listed in await client.list_schedules() if listed.id.startswith(prefix)]
        if prefix + LAST_SCHEDULE in ids or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    paused = []
    for schedule_id in ids:
        handle = client.get_schedule_handle(schedule_id)
        intervals = (await handle.describe()).schedule.spec.intervals
        if intervals and min(i.every for i in intervals) >= PAUSE_SCHEDULES_FROM:
            await handle.pause(note="paused by the test stack: a test runs it with run_schedule_now")
            paused.append(schedule_id)
    return paused


@asynccontextmanager
async def running_stack(directory: Path) -> AsyncIterator[Stack]:
    """A started stack in `directory` (its slow schedules paused), stopped (every process)
    however the block ends."""
    stack = make_stack(directory)
    try:
        await stack.start()
        await pause_slow_schedules(stack)
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


async def named_operator(stack: Stack, name: str, role: OperatorRole = OperatorRole.ACT) -> dict[str, str]:
    """A credential created in the stack's ledger as `orderloop operators add` does; the headers
    that authenticate as it."""
    ledger = await Ledger.open(stack.ledger_url)
    try:
        issued = await ledger.add_operator(name, role)
    finally:
        await ledger.close()
    return {"Authorization": f"Bearer {issued.token}"}


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
    needs its own configuration, ledger database or knobs (`make_stack`, then `edit_config`);
    its slow schedules paused, as `running_stack`'s."""
    try:
        await stack.start()
        await pause_slow_schedules(stack)
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

    deadline = time.monotonic() + timeout
    while True:  # the worker creates its schedules as it starts: a fresh stack may not have it yet
        try:
            seen = set(await runs())
            break
        except RPCError as err:
            if err.status is not RPCStatusCode.NOT_FOUND or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
    await handle.trigger(overlap=ScheduleOverlapPolicy.ALLOW_ALL)
    while time.monotonic() < deadline:
        new = [run for run in await runs() if run not in seen]
        if new:
            workflow_id, run_id = new[-1]
            run = client.get_workflow_handle(workflow_id, run_id=run_id, result_type=result_type)
            return await asyncio.wait_for(run.result(), deadline - time.monotonic())
        await asyncio.sleep(0.2)
    raise AssertionError(f"schedule {schedule} started no run within {timeout:.0f}s")


# --- the shared moves of the 3PL tests (ShipHero, Logiwa, RyderShip) ---------------------------

# A Shopify order's shipping address (Shopify's field names).
ADDRESS = {
    "first_name": "Katherine",
    "last_name": "Johnson",
    "address1": "1 NASA Dr",
    "city": "Hampton",
    "province_code": "VA",
    "zip": "23666",
    "country_code": "US",
}
# The 3PL sandboxes' knobs a test may change, as the stacks run them.
THREEPL_KNOBS = {"auto_ship": True, "deliver_webhooks": True, "lose_create_answers": 0, "ship_delay": 0.2}
View = dict[str, Any]


def base_url(stack: Stack, channel_id: str) -> str:
    """Where the stack runs the sandbox of `channel_id`."""
    return load_config(stack.config_path).channel(channel_id).sandbox_base_url


@asynccontextmanager
async def sandbox_client(
    stack: Stack, channel_id: str, knobs: dict[str, Any] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the sandbox of `channel_id`; its knobs are set back to `knobs` (the 3PL
    defaults unless given) afterwards, so a test's changes do not leak into the next."""
    async with httpx.AsyncClient(base_url=base_url(stack, channel_id), timeout=10) as http:
        try:
            yield http
        finally:
            await http.post("/_sandbox/config", json=THREEPL_KNOBS if knobs is None else knobs)


async def place_shopify_order(stack: Stack, lines: list[dict[str, Any]]) -> str:
    """A Shopify order of `lines` (`{"sku", "quantity", "price"?}`) placed at the Shopify
    sandbox, which sends its webhook; its Shopify id (our external id)."""
    body = {"line_items": lines, "shipping_address": ADDRESS, "email": "katherine@example.com"}
    async with httpx.AsyncClient(timeout=10) as http:
        placed = await http.post(f"{base_url(stack, 'shopify')}/_sandbox/orders", json=body)
    assert placed.status_code == 201, placed.text
    return str(placed.json()["id"])


async def logged(http: httpx.AsyncClient, method: str | None, path_prefix: str) -> list[dict[str, Any]]:
    """The requests a sandbox answered (its request log: method, path, headers, body, status)."""
    params = {"path_prefix": path_prefix} | ({"method": method} if method else {})
    found = await http.get("/_sandbox/requests", params=params)
    assert found.status_code == 200, found.text
    return list(found.json())


async def shopify_fulfillments(stack: Stack, order_id: str) -> list[dict[str, Any]]:
    """The Shopify fulfillments (tracking pushes) the shop holds for the order."""
    async with httpx.AsyncClient(timeout=10) as http:
        found = await http.get(f"{base_url(stack, 'shopify')}/_sandbox/fulfillments", params={"order": order_id})
    return list(found.json())


async def reserved_at(api: Api, sku: str, location: str) -> int:
    stock = (await api.http.get(f"/api/inventory/{sku}")).json()
    return sum(loc["reserved"] for loc in stock["locations"] if loc["location"] == location)


def only_request(view: View, location: str) -> tuple[str, str | None]:
    """The order's one shipping request (at `location`): its id and the 3PL's id for it."""
    [request] = view["shippingRequests"]
    assert request["request"]["locationId"] == location
    return request["request"]["id"], request.get("vendorId")


def sent(view: View) -> bool:
    """Whether a shipping request of the order reached its 3PL."""
    return any(r.get("vendorId") for r in view["shippingRequests"])


def open_exception(kind: str) -> Callable[[View], bool]:
    return lambda view: any(e["kind"] == kind and not e.get("resolvedAt") for e in view["exceptions"])
