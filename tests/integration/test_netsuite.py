"""The loop through NetSuite over the real stack: BigCommerce orders with a hoodie route to the
ERP-managed centre (the `bigcommerce-hoodies-from-netsuite` rule), one sales order is entered even
when the first upsert's answer is lost and the activity retries (the retry finds the record by
its external id), the fulfilments are read by the shipment poll (SuiteQL, then the record's
packages), a fulfilment read again and again stays one shipment, and BigCommerce gets one
tracking push per fulfilment. Call counts come from the sandboxes' request logs. The module runs
a stack of its own, whose NetSuite channel polls shipments every 2 s."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from connectors.netsuite.client import RECORD, SUITEQL
from connectors.netsuite.mapping import external_id
from orderloop.loopback_stack import make_stack
from orderloop.stack import Stack
from tests.integration.stack import Api, View, base_url, edit_config, logged, only_request, sent, set_channel, started
from tests.integration.test_order_loop import completed

pytestmark = pytest.mark.integration

LOCATION = "netsuite-oh"
STORE = "/stores/orderloop1/v2/orders"
ADDRESS = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "street_1": "1 Navy Yard",
    "city": "Arlington",
    "state": "Virginia",
    "zip": "22202",
    "country_iso2": "US",
}
KNOBS = {"auto_fulfill": True, "fulfill_delay": 0.2, "lose_create_answers": 0}


@pytest_asyncio.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    built = make_stack(tmp_path_factory.mktemp("netsuite"))
    edit_config(built.config_path, set_channel(netsuite={"poll_shipments_every": "2s"}))
    async with started(built) as running:
        yield running


@pytest_asyncio.fixture
async def netsuite(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url(stack, "netsuite"), timeout=10) as http:
        try:
            yield http
        finally:
            await http.post("/_sandbox/config", json=KNOBS)


@pytest_asyncio.fixture
async def bigcommerce(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url(stack, "bigcommerce"), timeout=10) as http:
        yield http


async def place(http: httpx.AsyncClient) -> str:
    """A BigCommerce order of a hoodie and two mugs, awaiting fulfillment (the rule card sends it
    to NetSuite)."""
    body = {
        "products": [{"sku": "HOODIE-GRY-L", "quantity": 1, "price": "49.00"}, {"sku": "MUG-11OZ", "quantity": 2}],
        "shipping_addresses": [ADDRESS],
        "customer": {"email": "grace@example.com"},
        "status_id": 11,
    }
    placed = await http.post("/_sandbox/orders", json=body)
    assert placed.status_code == 201, placed.text
    return str(placed.json()["id"])


def request_of(view: View) -> tuple[str, str | None]:
    return only_request(view, LOCATION)


async def calls_on(http: httpx.AsyncClient, method: str, path: str) -> list[dict[str, Any]]:
    return [r for r in await logged(http, method, path) if r["path"] == path]


async def test_create_retried_is_one_sales_order(
    stack: Stack, api: Api, netsuite: httpx.AsyncClient, bigcommerce: httpx.AsyncClient
) -> None:
    await netsuite.post("/_sandbox/config", json={"lose_create_answers": 1})
    order_id = await place(bigcommerce)
    view = await api.wait_order("bigcommerce", order_id, completed)

    request_id, vendor_id = request_of(view)
    eid_path = f"{RECORD}/salesOrder/eid:{external_id(request_id)}"
    records = [o for o in (await netsuite.get("/_sandbox/orders")).json() if o["externalId"] == external_id(request_id)]
    assert len(records) == 1 and records[0]["id"] == vendor_id
    # The upsert whose answer was lost, then the retry that found the record by its external id.
    assert [r["status"] for r in await calls_on(netsuite, "PUT", eid_path)] == [504]
    assert [r["status"] for r in await calls_on(netsuite, "GET", eid_path)] == [404, 200]
    assert [(ln["sku"], ln["shipped"]) for ln in view["lines"]] == [("HOODIE-GRY-L", 1), ("MUG-11OZ", 2)]
    [shipment] = view["shipments"]
    assert shipment["trackingNumbers"]
    pushes = await logged(bigcommerce, "POST", f"{STORE}/{order_id}/shipments")
    assert len(pushes) == 1


async def test_a_fulfilment_read_twice_is_one_shipment(
    stack: Stack, api: Api, netsuite: httpx.AsyncClient, bigcommerce: httpx.AsyncClient
) -> None:
    await netsuite.post("/_sandbox/config", json={"auto_fulfill": False})
    order_id = await place(bigcommerce)
    view = await api.wait_order("bigcommerce", order_id, sent)
    request_id, vendor_id = request_of(view)

    # The warehouse ships the mugs first; the poll reads that fulfilment on every round.
    [mugs] = (await netsuite.post(f"/_sandbox/fulfil/{vendor_id}", json={"units": {"MUG-11OZ": 2}})).json()["shipments"]
    mugs_path = f"{RECORD}/itemFulfillment/{mugs['id']}"
    await api.wait_order("bigcommerce", order_id, lambda v: bool(v["shipments"]))
    for _ in range(150):  # at least one more poll round reads it again
        if len(await calls_on(netsuite, "GET", mugs_path)) >= 2:
            break
        await asyncio.sleep(0.1)
    assert len(await calls_on(netsuite, "GET", mugs_path)) >= 2
    await netsuite.post(f"/_sandbox/fulfil/{vendor_id}", json={"units": {"HOODIE-GRY-L": 1}})
    view = await api.wait_order("bigcommerce", order_id, completed)

    assert len(view["shipments"]) == 2
    assert f"netsuite-if-{mugs['id']}" in {s["id"] for s in view["shipments"]}
    pushes = await logged(bigcommerce, "POST", f"{STORE}/{order_id}/shipments")
    assert len(pushes) == 2  # one tracking push per fulfilment, however often it was read
    # One upsert; the poll's SuiteQL reads went to the query service, never a second record.
    assert len(await calls_on(netsuite, "PUT", f"{RECORD}/salesOrder/eid:{external_id(request_id)}")) == 1
    assert await logged(netsuite, "POST", SUITEQL)
