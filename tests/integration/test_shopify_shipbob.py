"""The loop through the two real vendor connectors: a Shopify order webhook in, one ShipBob
order created, ShipBob's signed order.shipped webhook in, one Shopify fulfillment with the
tracking for exactly the shipped lines. A duplicated Shopify delivery starts nothing more."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from orderloop.stack import Stack
from tests.integration.stack import ADDRESS, Api
from tests.integration.test_order_loop import base_url

pytestmark = pytest.mark.integration


def completed(view: dict[str, Any]) -> bool:
    return view["status"] == "completed"


async def place_shopify_order(http: httpx.AsyncClient, stack: Stack, **params: str) -> dict[str, Any]:
    body = {
        "line_items": [{"sku": "TSHIRT-WHT-M", "quantity": 2, "price": "19.00"}, {"sku": "MUG-11OZ", "quantity": 1}],
        "shipping_address": ADDRESS,
        "email": "katherine@example.com",
    }
    response = await http.post(f"{base_url(stack, 'shopify')}/_sandbox/orders", params=params, json=body)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def test_shopify_order_ships_through_shipbob_and_tracking_reaches_shopify(stack: Stack, api: Api) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        order = await place_shopify_order(http, stack, duplicate="true")
        view = await api.wait_order("shopify", str(order["id"]), completed)
        shipbob_orders = (await http.get(f"{base_url(stack, 'shipbob')}/_sandbox/orders")).json()
        fulfillments = (
            await http.get(f"{base_url(stack, 'shopify')}/_sandbox/fulfillments", params={"order": order["id"]})
        ).json()
    [request] = view["shippingRequests"]
    assert request["request"]["locationId"] == "shipbob-nj" and request["request"]["fulfillmentChannelId"] == "shipbob"
    # One ShipBob order for the request, whatever the retries and the duplicated webhook.
    mine = [o for o in shipbob_orders if o["reference_id"] == request["request"]["id"]]
    assert len(mine) == 1 and str(mine[0]["id"]) == request["vendorId"]
    # One Shopify fulfillment per parcel, carrying its tracking number, covering every unit once.
    tracking = {n for s in view["shipments"] for n in s["trackingNumbers"]}
    assert len(fulfillments) == len(view["shipments"])
    assert {f["tracking_number"] for f in fulfillments} == tracking
    shipped = sum(item["quantity"] for f in fulfillments for item in f["line_items"])
    assert shipped == 3
    assert [(line["sku"], line["shipped"]) for line in view["lines"]] == [("TSHIRT-WHT-M", 2), ("MUG-11OZ", 1)]


async def test_an_unpaid_shopify_order_waits_until_it_is_paid(stack: Stack, api: Api) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        body = {
            "line_items": [{"sku": "MUG-11OZ", "quantity": 1}],
            "shipping_address": ADDRESS,
            "financial_status": "pending",
        }
        placed = await http.post(f"{base_url(stack, 'shopify')}/_sandbox/orders", json=body)
        assert placed.status_code == 201, placed.text
        order_id = str(placed.json()["id"])
        held = await api.wait_order("shopify", order_id, lambda v: v["status"] == "exception")
        assert held["exceptions"][-1]["kind"] == "invalid_order" and "pending" in held["exceptions"][-1]["message"]
        await asyncio.sleep(0.5)
        paid = await http.post(f"{base_url(stack, 'shopify')}/_sandbox/orders/{order_id}/pay")
        assert paid.status_code < 300, paid.text
    view = await api.wait_order("shopify", order_id, completed)
    assert view["exceptions"][0]["resolvedAt"] is not None
