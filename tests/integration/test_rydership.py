"""The loop through RyderShip over the real stack: Shopify orders with a black T-shirt route to
the RyderShip warehouse (the `shopify-black-tees-from-rydership` rule), one Whiplash order is
created even when the first answer is lost and the activity retries (the retry is refused as a
known `order_orig` and the search finds the order), the shipment arrives by the signed
`order.shipped` webhook or, with every webhook lost, by the poller, the tracking reaches Shopify
once per parcel, `order.attention` opens `fulfillment_hold` with the warehouse's message, and a
cancel releases the stock before pick and opens `cancel_after_ship` after it. Call counts come
from the sandboxes' request logs. The module runs a stack of its own, whose RyderShip channel
polls shipments every 2 s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from orderloop.loopback_stack import make_stack
from orderloop.stack import Stack
from tests.integration.stack import Api, edit_config, set_channel, started
from tests.integration.test_order_loop import base_url, completed
from tests.integration.test_shopify_shipbob import ADDRESS

pytestmark = pytest.mark.integration

DEFAULT_KNOBS = {"auto_ship": True, "deliver_webhooks": True, "lose_create_answers": 0, "ship_delay": 0.2}


@pytest_asyncio.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    built = make_stack(tmp_path_factory.mktemp("rydership"))
    edit_config(built.config_path, set_channel(rydership={"poll_shipments_every": "2s"}))
    async with started(built) as running:
        yield running


@pytest_asyncio.fixture
async def rydership(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the RyderShip sandbox; its knobs are back to the run's defaults afterwards."""
    async with httpx.AsyncClient(base_url=base_url(stack, "rydership"), timeout=10) as http:
        yield http
        await http.post("/_sandbox/config", json=DEFAULT_KNOBS)


async def place(stack: Stack) -> str:
    """A Shopify order of a black T-shirt and a mug; its Shopify id (our external id)."""
    body = {
        "line_items": [{"sku": "TSHIRT-BLK-M", "quantity": 2, "price": "19.00"}, {"sku": "MUG-11OZ", "quantity": 1}],
        "shipping_address": ADDRESS,
        "email": "katherine@example.com",
    }
    async with httpx.AsyncClient(timeout=10) as http:
        placed = await http.post(f"{base_url(stack, 'shopify')}/_sandbox/orders", json=body)
    assert placed.status_code == 201, placed.text
    return str(placed.json()["id"])


async def logged(http: httpx.AsyncClient, method: str, path_prefix: str) -> list[dict[str, Any]]:
    found = await http.get("/_sandbox/requests", params={"method": method, "path_prefix": path_prefix})
    return list(found.json())


async def creates(http: httpx.AsyncClient, request_id: str) -> list[dict[str, Any]]:
    return [
        r for r in await logged(http, "POST", "/api/v2/orders") if (r["body"] or {}).get("order_orig") == request_id
    ]


async def orders_of(http: httpx.AsyncClient, request_id: str) -> list[dict[str, Any]]:
    return [o for o in (await http.get("/_sandbox/orders")).json() if o["order_orig"] == request_id]


async def fulfillments(stack: Stack, order_id: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as http:
        found = await http.get(f"{base_url(stack, 'shopify')}/_sandbox/fulfillments", params={"order": order_id})
    return list(found.json())


async def reserved_at_rydership(api: Api) -> int:
    stock = (await api.http.get("/api/inventory/TSHIRT-BLK-M")).json()
    return sum(loc["reserved"] for loc in stock["locations"] if loc["location"] == "rydership-ga")


def request_of(view: dict[str, Any]) -> tuple[str, str | None]:
    [request] = view["shippingRequests"]
    assert request["request"]["locationId"] == "rydership-ga"
    return request["request"]["id"], request.get("vendorId")


def sent(view: dict[str, Any]) -> bool:
    return any(r.get("vendorId") for r in view["shippingRequests"])


async def test_one_order_under_a_retried_create_and_tracking_once(
    stack: Stack, api: Api, rydership: httpx.AsyncClient
) -> None:
    await rydership.post("/_sandbox/config", json={"lose_create_answers": 1})
    external_id = await place(stack)
    view = await api.wait_order("shopify", external_id, completed)

    request_id, vendor_id = request_of(view)
    [order] = await orders_of(rydership, request_id)
    assert str(order["id"]) == vendor_id
    # The lost answer, then the retry refused as a known order_orig (the search finds the order).
    assert [r["status"] for r in await creates(rydership, request_id)] == [504, 422]
    assert [(ln["sku"], ln["shipped"]) for ln in view["lines"]] == [("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)]
    webhooks = (await rydership.get("/_sandbox/webhooks", params={"topic": "order.shipped"})).json()
    assert [w["state"] for w in webhooks if request_id in w["body"]] == ["delivered"]
    [shipment] = view["shipments"]
    [fulfillment] = await fulfillments(stack, external_id)
    assert [fulfillment["tracking_number"]] == shipment["trackingNumbers"]
    assert sum(item["quantity"] for item in fulfillment["line_items"]) == 3


async def test_with_every_webhook_lost_the_poller_finds_the_shipment(
    stack: Stack, api: Api, rydership: httpx.AsyncClient
) -> None:
    await rydership.post("/_sandbox/config", json={"deliver_webhooks": False})
    external_id = await place(stack)
    view = await api.wait_order("shopify", external_id, completed, timeout=90)

    request_id, vendor_id = request_of(view)
    webhooks = (await rydership.get("/_sandbox/webhooks", params={"topic": "order.shipped"})).json()
    assert [w["state"] for w in webhooks if request_id in w["body"]] == ["not_delivered"]
    assert len(await creates(rydership, request_id)) == 1
    assert await logged(rydership, "GET", f"/api/v2/orders/{vendor_id}")
    assert len(view["shipments"]) == 1
    assert len(await fulfillments(stack, external_id)) == 1


async def test_attention_opens_fulfillment_hold_with_the_warehouse_message(
    stack: Stack, api: Api, rydership: httpx.AsyncClient
) -> None:
    await rydership.post("/_sandbox/config", json={"auto_ship": False})
    external_id = await place(stack)
    view = await api.wait_order("shopify", external_id, sent)
    request_id, _ = request_of(view)
    flagged = await rydership.post(f"/_sandbox/attention/{request_id}", json={"message": "Damaged item in bin C-12"})
    assert flagged.status_code == 200, flagged.text

    view = await api.wait_order(
        "shopify",
        external_id,
        lambda v: any(e["kind"] == "fulfillment_hold" and not e.get("resolvedAt") for e in v["exceptions"]),
    )
    [hold] = [e for e in view["exceptions"] if e["kind"] == "fulfillment_hold"]
    assert "Damaged item in bin C-12" in str(hold)
    # The shipment clears it.
    assert (await rydership.post(f"/_sandbox/ship/{request_id}")).status_code == 200
    await api.wait_order("shopify", external_id, completed)


async def test_cancel_before_pick_releases_the_stock(stack: Stack, api: Api, rydership: httpx.AsyncClient) -> None:
    await rydership.post("/_sandbox/config", json={"auto_ship": False})
    before = await reserved_at_rydership(api)

    external_id = await place(stack)
    view = await api.wait_order("shopify", external_id, sent)
    request_id, vendor_id = request_of(view)
    assert await reserved_at_rydership(api) == before + 2
    cancelled = await api.http.post(f"/api/orders/shopify/{external_id}/cancel", json={"reason": "customer"})
    assert cancelled.status_code < 300, cancelled.text
    await api.wait_order("shopify", external_id, lambda v: v["status"] == "cancelled")

    [order] = await orders_of(rydership, request_id)
    assert order["status_name"] == "Cancelled"
    cancels = await logged(rydership, "PUT", f"/api/v2/orders/{vendor_id}/call/cancel")
    assert [r["status"] for r in cancels][:1] == [200]
    assert await reserved_at_rydership(api) == before
    assert await fulfillments(stack, external_id) == []


async def test_cancel_after_pick_opens_cancel_after_ship(stack: Stack, api: Api, rydership: httpx.AsyncClient) -> None:
    await rydership.post("/_sandbox/config", json={"auto_ship": False})
    external_id = await place(stack)
    view = await api.wait_order("shopify", external_id, sent)
    request_id, vendor_id = request_of(view)
    assert (await rydership.post(f"/_sandbox/pick/{request_id}")).status_code == 200
    cancelled = await api.http.post(f"/api/orders/shopify/{external_id}/cancel", json={"reason": "customer"})
    assert cancelled.status_code < 300, cancelled.text

    await api.wait_order(
        "shopify",
        external_id,
        lambda v: any(e["kind"] == "cancel_after_ship" and not e.get("resolvedAt") for e in v["exceptions"]),
    )
    # Whiplash refused each cancel the workflow sent (422), none retried.
    cancels = await logged(rydership, "PUT", f"/api/v2/orders/{vendor_id}/call/cancel")
    assert cancels and all(r["status"] == 422 for r in cancels)
    [order] = await orders_of(rydership, request_id)
    assert order["status_name"] == "Picked"
