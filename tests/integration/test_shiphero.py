"""The loop through ShipHero on the real stack: Shopify orders holding a hoodie route to the
ShipHero location (its rule card in `orderloop.yaml`); the GraphQL order is created once even when the
first create's answer is lost and the activity retried; each package's Shipment Update webhook
becomes one tracking push, and with webhooks lost the shipment poll finds the packages; a
cancel before pick releases the stock, one after pick opens `cancel_after_ship`. Calls are
counted from the sandboxes' request logs. The module runs a stack of its own, whose ShipHero
channel polls shipments every 2 s."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio

from orderloop.loopback_stack import make_stack
from orderloop.stack import Stack
from tests.integration.stack import ADDRESS, Api, edit_config, set_channel, started
from tests.integration.test_channel_paths import ok, reservations
from tests.integration.test_order_loop import base_url

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    built = make_stack(tmp_path_factory.mktemp("shiphero"))
    edit_config(built.config_path, set_channel(shiphero={"poll_shipments_every": "2s"}))
    async with started(built) as running:
        yield running


async def place_hoodie_order(http: httpx.AsyncClient, stack: Stack, quantity: int = 2) -> str:
    """A Shopify order the rule card sends to ShipHero (its ranked first location); its id."""
    body = {
        "line_items": [{"sku": "POSTER-A2", "quantity": quantity, "price": "49.00"}],
        "shipping_address": ADDRESS,
        "email": "katherine@example.com",
    }
    placed = await http.post(f"{base_url(stack, 'shopify')}/_sandbox/orders", json=body)
    assert placed.status_code == 201, placed.text
    return str(placed.json()["id"])


def status_is(*statuses: str) -> Callable[[dict[str, Any]], bool]:
    return lambda view: view["status"] in statuses


async def shiphero_calls(
    http: httpx.AsyncClient, stack: Stack, operation: str, request_id: str
) -> list[dict[str, Any]]:
    """The GraphQL requests of `operation` that name our request id (in their variables) or its
    ShipHero order (cancel)."""
    logged = await ok(
        await http.get(f"{base_url(stack, 'shiphero')}/_sandbox/requests", params={"path_prefix": "/graphql"})
    )
    return [
        r for r in logged if (r["body"] or {}).get("operationName") == operation and request_id in json.dumps(r["body"])
    ]


async def fulfillments(http: httpx.AsyncClient, stack: Stack, order_id: str) -> list[dict[str, Any]]:
    """The Shopify fulfillments (tracking pushes) the shop holds for the order."""
    return list(
        await ok(await http.get(f"{base_url(stack, 'shopify')}/_sandbox/fulfillments", params={"order": order_id}))
    )


async def cancel_at_shopify(http: httpx.AsyncClient, stack: Stack, order_id: str) -> None:
    await ok(
        await http.post(f"{base_url(stack, 'shopify')}/_sandbox/orders/{order_id}/cancel", json={"reason": "customer"})
    )


async def configure(http: httpx.AsyncClient, stack: Stack, **knobs: Any) -> None:
    await ok(await http.post(f"{base_url(stack, 'shiphero')}/_sandbox/config", json=knobs))


async def test_a_lost_create_answer_creates_one_order_and_each_package_pushes_its_tracking(
    stack: Stack, api: Api
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        await configure(http, stack, lose_create_answers=1, packages=2, ship_delay=0.5)
        try:
            order_id = await place_hoodie_order(http, stack)
            view = await api.wait_order("shopify", order_id, status_is("completed"), timeout=90)
        finally:
            await configure(http, stack, lose_create_answers=0, packages=1, ship_delay=1.0)
        [request] = view["shippingRequests"]
        request_id = request["request"]["id"]
        creates = await shiphero_calls(http, stack, "OrderCreate", request_id)
        lookups = await shiphero_calls(http, stack, "OrdersByPartnerId", request_id)
        orders = await ok(await http.get(f"{base_url(stack, 'shiphero')}/_sandbox/orders"))
        pushed = await fulfillments(http, stack, order_id)
    assert request["request"]["locationId"] == "shiphero-pa"
    # The first create went through but its answer was lost (504); the retried activity found the
    # order by partner_order_id instead of creating another.
    assert [c["status"] for c in creates] == [504]
    assert [c["status"] for c in lookups] == [200, 200]
    mine = [o for o in orders if o["partner_order_id"] == request_id]
    assert len(mine) == 1 and mine[0]["id"] == request["vendorId"]
    # Two packages, two Shipment Update webhooks, two shipments, one tracking push each.
    assert len(view["shipments"]) == 2
    assert sorted(f["tracking_number"] for f in pushed) == sorted(s["trackingNumbers"][0] for s in view["shipments"])
    assert sum(item["quantity"] for f in pushed for item in f["line_items"]) == 2
    assert [(line["sku"], line["shipped"]) for line in view["lines"]] == [("POSTER-A2", 2)]


async def test_with_webhooks_lost_the_shipment_poll_finds_the_package(stack: Stack, api: Api) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        await configure(http, stack, drop_webhooks=True, ship_delay=0.5)
        try:
            order_id = await place_hoodie_order(http, stack, quantity=1)
            view = await api.wait_order("shopify", order_id, status_is("completed"), timeout=90)
        finally:
            await configure(http, stack, drop_webhooks=False, ship_delay=1.0)
        [request] = view["shippingRequests"]
        logged = await ok(await http.get(f"{base_url(stack, 'shiphero')}/_sandbox/webhooks"))
        polls = await shiphero_calls(http, stack, "ShipmentsOfOrder", request["vendorId"])
        pushed = await fulfillments(http, stack, order_id)
    mine = [w for w in logged if request["request"]["id"] in w["body"]]
    assert mine and all(w["state"] == "not_delivered" for w in mine)
    assert polls and all(p["status"] == 200 for p in polls)
    [shipment] = view["shipments"]
    assert [f["tracking_number"] for f in pushed] == shipment["trackingNumbers"]


async def test_cancel_before_pick_releases_the_stock(stack: Stack, api: Api) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        await configure(http, stack, auto_ship=False)
        try:
            order_id = await place_hoodie_order(http, stack)
            view = await api.wait_order("shopify", order_id, status_is("sent_to_fulfillment"), timeout=90)
            await cancel_at_shopify(http, stack, order_id)
            view = await api.wait_order("shopify", order_id, status_is("cancelled", "exception"))
        finally:
            await configure(http, stack, auto_ship=True)
        [request] = view["shippingRequests"]
        cancels = await shiphero_calls(http, stack, "OrderCancel", request["vendorId"])
    assert view["status"] == "cancelled", view["exceptions"]
    assert [c["status"] for c in cancels] == [200]
    assert [s["state"] for s in view["shippingRequests"]] == ["cancelled"]
    assert await reservations(stack, view["workflowId"]) == [("POSTER-A2", 2, 2, "released")]


async def test_cancel_after_pick_opens_cancel_after_ship(stack: Stack, api: Api) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        await configure(http, stack, auto_ship=False)
        try:
            order_id = await place_hoodie_order(http, stack)
            view = await api.wait_order("shopify", order_id, status_is("sent_to_fulfillment"), timeout=90)
            [request] = view["shippingRequests"]
            await ok(await http.post(f"{base_url(stack, 'shiphero')}/_sandbox/pick/{request['request']['id']}"))
            await cancel_at_shopify(http, stack, order_id)
            view = await api.wait_order("shopify", order_id, status_is("exception", "cancelled"))
        finally:
            await configure(http, stack, auto_ship=True)
        cancels = await shiphero_calls(http, stack, "OrderCancel", request["vendorId"])
    assert view["status"] == "exception"
    assert view["exceptions"][-1]["kind"] == "cancel_after_ship"
    # Shopify reports a cancel twice (orders/cancelled, then orders/updated with cancelled_at): the
    # workflow may act on each. Every cancel it asks for is one refused call, never retried.
    asked = [e for e in view["timeline"] if e["event"] == "cancel requested"]
    assert 1 <= len(asked) <= 2 and len(cancels) == len(asked)
    assert all(c["status"] == 200 for c in cancels)
