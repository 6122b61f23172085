"""The loop through Logiwa over the real stack: Shopify orders with a hoodie route to the
Logiwa warehouse (the `shopify-hoodies-from-logiwa` rule), one shipment order is created even when
Logiwa's first answer is lost and the activity retries, the shipment arrives by the unsigned
webhook (confirmed by WarehouseOrderSearch) or, with every webhook lost, by the poller, the
tracking reaches Shopify once per parcel (one fulfillment), and a cancel releases the stock before picking
and opens `cancel_after_ship` after it. Call counts come from the sandboxes' request logs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from orderloop.stack import Stack
from tests.integration.stack import Api
from tests.integration.test_order_loop import base_url, completed
from tests.integration.test_shopify_shipbob import ADDRESS

pytestmark = pytest.mark.integration

RPC = "/en/api/IntegrationApi"
DEFAULT_KNOBS = {"auto_ship": True, "deliver_webhooks": True, "lose_create_answers": 0, "ship_delay": 0.2}


@pytest_asyncio.fixture
async def logiwa(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the Logiwa sandbox; its knobs are back to the run's defaults afterwards."""
    async with httpx.AsyncClient(base_url=base_url(stack, "logiwa"), timeout=10) as http:
        yield http
        await http.post("/_sandbox/config", json=DEFAULT_KNOBS)


async def place(stack: Stack) -> str:
    """A Shopify order of a hoodie and two mugs; its Shopify id (our external id)."""
    body = {
        "line_items": [{"sku": "HOODIE-GRY-L", "quantity": 1, "price": "49.00"}, {"sku": "MUG-11OZ", "quantity": 2}],
        "shipping_address": ADDRESS,
        "email": "katherine@example.com",
    }
    async with httpx.AsyncClient(timeout=10) as http:
        placed = await http.post(f"{base_url(stack, 'shopify')}/_sandbox/orders", json=body)
    assert placed.status_code == 201, placed.text
    return str(placed.json()["id"])


async def requests(http: httpx.AsyncClient, method: str, code: str) -> list[dict[str, Any]]:
    """The RPC calls of `method` the Logiwa sandbox received about shipment order `code`."""
    logged = (await http.get("/_sandbox/requests", params={"method": "POST", "path_prefix": f"{RPC}/{method}"})).json()
    return [r for r in logged if code in json.dumps(r["body"])]


async def fulfillments(stack: Stack, order_id: str) -> list[dict[str, Any]]:
    """The Shopify fulfillments (tracking pushes) the shop holds for the order."""
    async with httpx.AsyncClient(timeout=10) as http:
        found = await http.get(f"{base_url(stack, 'shopify')}/_sandbox/fulfillments", params={"order": order_id})
    return list(found.json())


async def reserved_at_logiwa(api: Api) -> int:
    stock = (await api.http.get("/api/inventory/HOODIE-GRY-L")).json()
    return sum(loc["reserved"] for loc in stock["locations"] if loc["location"] == "logiwa-il")


def request_of(view: dict[str, Any]) -> tuple[str, str | None]:
    [request] = view["shippingRequests"]
    assert request["request"]["locationId"] == "logiwa-il"
    return request["request"]["id"], request.get("vendorId")


async def test_one_shipment_order_under_a_retried_create_and_tracking_once(
    stack: Stack, api: Api, logiwa: httpx.AsyncClient
) -> None:
    await logiwa.post("/_sandbox/config", json={"lose_create_answers": 1})
    external_id = await place(stack)
    view = await api.wait_order("shopify", external_id, completed)

    code, vendor_id = request_of(view)
    records = [o for o in (await logiwa.get("/_sandbox/orders")).json() if o["Code"] == code]
    assert len(records) == 1 and str(records[0]["ID"]) == vendor_id
    # The lost answer, then the retry that Logiwa refuses as a known Code and the search finds.
    assert [r["status"] for r in await requests(logiwa, "InsertShipmentOrder", code)] == [504, 200]
    assert [(ln["sku"], ln["shipped"]) for ln in view["lines"]] == [("HOODIE-GRY-L", 1), ("MUG-11OZ", 2)]
    # Reported by its webhook, which the gateway confirmed by one more search before the signal.
    webhooks = (await logiwa.get("/_sandbox/webhooks", params={"topic": "Order Shipment Info"})).json()
    assert [w["state"] for w in webhooks if code in w["body"]] == ["delivered"]
    assert len(await requests(logiwa, "WarehouseOrderSearch", code)) >= 2
    [shipment] = view["shipments"]
    [fulfillment] = await fulfillments(stack, external_id)
    assert [fulfillment["tracking_number"]] == shipment["trackingNumbers"]
    assert sum(item["quantity"] for item in fulfillment["line_items"]) == 3


async def test_with_every_webhook_lost_the_poller_finds_the_shipment(
    stack: Stack, api: Api, logiwa: httpx.AsyncClient
) -> None:
    await logiwa.post("/_sandbox/config", json={"deliver_webhooks": False})
    external_id = await place(stack)
    view = await api.wait_order("shopify", external_id, completed, timeout=90)

    code, _ = request_of(view)
    webhooks = (await logiwa.get("/_sandbox/webhooks", params={"topic": "Order Shipment Info"})).json()
    mine = [w for w in webhooks if code in w["body"]]
    assert [w["state"] for w in mine] == ["not_delivered"]
    assert len(await requests(logiwa, "InsertShipmentOrder", code)) == 1
    assert len(view["shipments"]) == 1
    assert len(await fulfillments(stack, external_id)) == 1


async def test_cancel_before_pick_releases_the_stock(stack: Stack, api: Api, logiwa: httpx.AsyncClient) -> None:
    await logiwa.post("/_sandbox/config", json={"auto_ship": False})
    before = await reserved_at_logiwa(api)

    external_id = await place(stack)
    view = await api.wait_order("shopify", external_id, lambda v: any(r.get("vendorId") for r in v["shippingRequests"]))
    code, _ = request_of(view)
    assert await reserved_at_logiwa(api) == before + 1
    cancelled = await api.http.post(f"/api/orders/shopify/{external_id}/cancel", json={"reason": "customer"})
    assert cancelled.status_code < 300, cancelled.text
    view = await api.wait_order("shopify", external_id, lambda v: v["status"] == "cancelled")

    [record] = [o for o in (await logiwa.get("/_sandbox/orders")).json() if o["Code"] == code]
    assert record["WarehouseOrderStatusCode"] == "Cancelled"
    assert [r["status"] for r in await requests(logiwa, "CancelShipmentOrder", code)] == [200]
    assert await reserved_at_logiwa(api) == before
    assert await fulfillments(stack, external_id) == []


async def test_cancel_after_pick_opens_cancel_after_ship(stack: Stack, api: Api, logiwa: httpx.AsyncClient) -> None:
    await logiwa.post("/_sandbox/config", json={"auto_ship": False})
    external_id = await place(stack)
    view = await api.wait_order("shopify", external_id, lambda v: any(r.get("vendorId") for r in v["shippingRequests"]))
    code, _ = request_of(view)
    picked = await logiwa.post(f"/_sandbox/pick/{code}")
    assert picked.status_code == 200, picked.text
    cancelled = await api.http.post(f"/api/orders/shopify/{external_id}/cancel", json={"reason": "customer"})
    assert cancelled.status_code < 300, cancelled.text

    view = await api.wait_order(
        "shopify",
        external_id,
        lambda v: any(e["kind"] == "cancel_after_ship" and not e.get("resolvedAt") for e in v["exceptions"]),
    )
    # Logiwa was asked nothing it would refuse: the record said picking had started.
    assert await requests(logiwa, "CancelShipmentOrder", code) == []
    [record] = [o for o in (await logiwa.get("/_sandbox/orders")).json() if o["Code"] == code]
    assert record["WarehouseOrderStatusCode"] == "Picked"
