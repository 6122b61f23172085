"""Two workers and two gateways share one PostgreSQL ledger (a schema of its own); orders for a
SKU with too little stock arrive through both gateways at once, and one worker is SIGKILLed
when a third of them were sent. No oversell: exactly as many orders complete as there were
units, the others wait in `out_of_stock`, the ledger ends with nothing on hand or reserved and
its invariants hold, and nothing was started, sent or pushed twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from orderloop.ledger import Ledger
from orderloop.loopback_stack import free_port, make_stack
from orderloop.stack import Stack
from tests.db import postgres_schema, postgres_url_or_skip
from tests.faults.batch import check_nothing_lost_or_doubled, place, settle
from tests.integration.stack import Api, started
from tests.integration.test_order_loop import base_url
from tests.integration.test_order_loop import order_body as one_line_order

pytestmark = pytest.mark.integration

UNITS = 12
ORDERS = 24


def spawn_gateway(stack: Stack, name: str, port: int) -> str:
    """Another gateway process of `stack` on `port`, stopped with the stack; returns its URL."""
    own = stack.gateway_port
    stack.gateway_port = port  # the spawned process reads its port from the stack's environment
    try:
        stack.spawn(name, "gateway")
    finally:
        stack.gateway_port = own
    return f"http://{stack.gateway_host}:{port}"


def spawn_worker(stack: Stack, name: str) -> None:
    """Another worker process of `stack`, on metrics ports of its own (the first one holds the
    stack's), stopped with the stack."""
    own = stack.worker_metrics_port, stack.temporal_metrics_port
    stack.worker_metrics_port, stack.temporal_metrics_port = free_port(), free_port()
    try:
        stack.spawn(name, "workers.main")
    finally:
        stack.worker_metrics_port, stack.temporal_metrics_port = own


@pytest_asyncio.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    url = postgres_url_or_skip()
    async with postgres_schema(url, "two_of_each") as schema:
        built = make_stack(tmp_path_factory.mktemp("pg-pair"))
        built.database_url = f"{url}?schema={schema}"
        async with started(built) as running:
            yield running


async def test_no_oversell_when_a_worker_dies_between_two_of_each(stack: Stack, api: Api) -> None:
    sku = f"SCARCE-{uuid.uuid4().hex[:8]}".upper()
    spawn_worker(stack, "worker2")
    second = spawn_gateway(stack, "gateway2", free_port())
    await stack.wait_http(f"{second}/readyz")
    async with httpx.AsyncClient(timeout=10) as http:
        (await http.post(f"{base_url(stack, 'wms')}/_sandbox/stock", json={"east": {sku: UNITS}})).raise_for_status()
    for _ in range(100):
        stock = await api.http.get(f"/api/inventory/{sku}")
        if stock.status_code == 200 and stock.json()["totals"]["onHand"] == UNITS:
            break
        await asyncio.sleep(0.1)

    built = 0

    def body(external_id: str) -> dict[str, Any]:
        nonlocal built
        built += 1
        if built == ORDERS // 3:  # a third of the orders sent, the rest still to come
            stack.kill("worker")
        return one_line_order(external_id, sku=sku)

    batch = await place(stack, ORDERS, concurrency=6, body=body, gateway_urls=[stack.gateway_url, second])
    views = await settle(api, batch, timeout=240, allowed=frozenset({"out_of_stock"}))
    assert batch.statuses == {"completed": UNITS, "exception:out_of_stock": ORDERS - UNITS}
    shipped = sum(item["quantity"] for v in views.values() for s in v["shipments"] for item in s["lineItems"])
    assert shipped == UNITS
    await check_nothing_lost_or_doubled(stack, batch, views)
    ledger = await Ledger.open(stack.ledger_url)
    try:
        levels = await ledger.stock(sku)
    finally:
        await ledger.close()
    assert [(level.location_id, level.on_hand, level.reserved) for level in levels] == [("east", 0, 0)]
