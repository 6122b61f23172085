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
from tests.integration.stack import (
    Api,
    View,
    logged,
    only_request,
    open_exception,
    place_shopify_order,
    reserved_at,
    sandbox_client,
    sent,
    shopify_fulfillments,
)
from tests.integration.test_order_loop import completed

pytestmark = pytest.mark.integration

RPC = "/en/api/IntegrationApi"
LOCATION = "logiwa-il"


@pytest_asyncio.fixture
async def logiwa(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with sandbox_client(stack, "logiwa") as http:
        yield http


async def place(stack: Stack) -> str:
    """A Shopify order of a hoodie and two mugs (the rule card sends it to Logiwa)."""
    lines = [{"sku": "HOODIE-GRY-L", "quantity": 1, "price": "49.00"}, {"sku": "MUG-11OZ", "quantity": 2}]
    return await place_shopify_order(stack, lines)


async def requests(http: httpx.AsyncClient, method: str, code: str) -> list[dict[str, Any]]:
    """The RPC calls of `method` the Logiwa sandbox received about shipment order `code`."""
    return [r for r in await logged(http, "POST", f"{RPC}/{method}") if code in json.dumps(r["body"])]


def request_of(view: View) -> tuple[str, str | None]:
    return only_request(view, LOCATION)


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
    [fulfillment] = await shopify_fulfillments(stack, external_id)
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
    assert len(await shopify_fulfillments(stack, external_id)) == 1


async def test_cancel_before_pick_releases_the_stock(stack: Stack, api: Api, logiwa: httpx.AsyncClient) -> None:
    await logiwa.post("/_sandbox/config", json={"auto_ship": False})
    before = await reserved_at(api, "HOODIE-GRY-L", LOCATION)

    external_id = await place(stack)
    view = await api.wait_order("shopify", external_id, sent)
    code, _ = request_of(view)
    assert await reserved_at(api, "HOODIE-GRY-L", LOCATION) == before + 1
    cancelled = await api.http.post(f"/api/orders/shopify/{external_id}/cancel", json={"reason": "customer"})
    assert cancelled.status_code < 300, cancelled.text
    view = await api.wait_order("shopify", external_id, lambda v: v["status"] == "cancelled")

    [record] = [o for o in (await logiwa.get("/_sandbox/orders")).json() if o["Code"] == code]
    assert record["WarehouseOrderStatusCode"] == "Cancelled"
    assert [r["status"] for r in await requests(logiwa, "CancelShipmentOrder", code)] == [200]
    assert await reserved_at(api, "HOODIE-GRY-L", LOCATION) == before
    assert await shopify_fulfillments(stack, external_id) == []


async def test_cancel_after_pick_opens_cancel_after_ship(stack: Stack, api: Api, logiwa: httpx.AsyncClient) -> None:
    await logiwa.post("/_sandbox/config", json={"auto_ship": False})
    external_id = await place(stack)
    view = await api.wait_order("shopify", external_id, sent)
    code, _ = request_of(view)
    picked = await logiwa.post(f"/_sandbox/pick/{code}")
    assert picked.status_code == 200, picked.text
    cancelled = await api.http.post(f"/api/orders/shopify/{external_id}/cancel", json={"reason": "customer"})
    assert cancelled.status_code < 300, cancelled.text

    view = await api.wait_order(
        "shopify",
        external_id,
        open_exception("cancel_after_ship"),
    )
    # Logiwa was asked nothing it would refuse: the record said picking had started.
    assert await requests(logiwa, "CancelShipmentOrder", code) == []
    [record] = [o for o in (await logiwa.get("/_sandbox/orders")).json() if o["Code"] == code]
    assert record["WarehouseOrderStatusCode"] == "Picked"
