"""The loop through TikTok Shop over the real stack: an order placed on the TikTok sandbox is
not started while TikTok holds it (the buyer's remorse window), starts from its
AWAITING_SHIPMENT notification (read back from the API), routes to ShipBob by the
`tiktok-from-shipbob` rule, and each ShipBob parcel becomes exactly one TikTok package with its
tracking number, shipping provider and line item ids; the sale's stock reaches TikTok's
inventory. A buyer cancel during the hold means the order never starts. Call counts come from
the sandboxes' request logs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from orderloop.stack import Stack
from tests.integration.stack import Api
from tests.integration.test_order_loop import base_url, completed
from tests.integration.test_shopify_shipbob import ADDRESS

pytestmark = pytest.mark.integration

PACKAGES = "/fulfillment/202309/orders/"
INVENTORY = "/product/202309/products/"


@pytest_asyncio.fixture
async def tiktok(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the TikTok sandbox, its remorse window long (orders leave it by a control)."""
    async with httpx.AsyncClient(base_url=base_url(stack, "tiktok"), timeout=10) as http:
        await http.post("/_sandbox/config", json={"on_hold_seconds": 3600})
        yield http
        await http.post("/_sandbox/config", json={"on_hold_seconds": 1.0})


async def place(http: httpx.AsyncClient) -> str:
    body = {
        "line_items": [{"sku": "TSHIRT-WHT-M", "quantity": 2, "price": "19.00"}, {"sku": "MUG-11OZ", "quantity": 1}],
        "shipping_address": ADDRESS,
        "email": "katherine@example.com",
    }
    placed = await http.post("/_sandbox/orders", json=body)
    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "ON_HOLD"
    return str(placed.json()["id"])


async def logged(http: httpx.AsyncClient, method: str, path_prefix: str) -> list[dict[str, Any]]:
    params = {"method": method, "path_prefix": path_prefix}
    rows: list[dict[str, Any]] = (await http.get("/_sandbox/requests", params=params)).json()
    return rows


async def notified(http: httpx.AsyncClient, order_id: str, status: str) -> None:
    """Wait until the sandbox delivered the order's status notification (gateway answered 2xx)."""
    for _ in range(100):
        hooks = (await http.get("/_sandbox/webhooks", params={"topic": "ORDER_STATUS_CHANGE"})).json()
        if any(order_id in h["body"] and status in h["body"] and h["delivered"] for h in hooks):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {status} notification of {order_id} was delivered")


async def test_tiktok_order_starts_after_its_hold_ships_through_shipbob_one_package_per_parcel(
    stack: Stack, api: Api, tiktok: httpx.AsyncClient
) -> None:
    order_id = await place(tiktok)
    await notified(tiktok, order_id, "ON_HOLD")
    assert (await api.order("tiktok", order_id)).status_code == 404, "an order on hold must not start"

    released_at = time.time()
    released = await tiktok.post(f"/_sandbox/orders/{order_id}/release")
    assert released.status_code == 200, released.text
    view = await api.wait_order("tiktok", order_id, completed)

    [request] = view["shippingRequests"]
    assert request["request"]["locationId"] == "shipbob-nj"
    order = (await tiktok.get(f"/_sandbox/orders/{order_id}")).json()
    # The ship-by clock runs to TikTok's ready-to-ship deadline.
    deadline = datetime.fromisoformat(view["shipByDeadline"].replace("Z", "+00:00"))
    assert int(deadline.timestamp()) == order["rts_sla_time"]
    packages = (await tiktok.get("/_sandbox/packages", params={"order": order_id})).json()
    calls = [c for c in await logged(tiktok, "POST", f"{PACKAGES}{order_id}/packages") if c["status"] == 200]
    # Exactly one package call per parcel, each carrying its parcel's tracking number and provider.
    assert len(calls) == len(packages) == len(view["shipments"])
    tracking = {n for s in view["shipments"] for n in s["trackingNumbers"]}
    assert {p["tracking_number"] for p in packages} == tracking
    assert all(c["body"]["shipping_provider_id"] for c in calls)
    shipped_items = [i for p in packages for i in p["order_line_item_ids"]]
    assert sorted(shipped_items) == sorted(i["id"] for i in order["line_items"])
    assert order["status"] == "IN_TRANSIT"
    assert [(line["sku"], line["shipped"]) for line in view["lines"]] == [("TSHIRT-WHT-M", 2), ("MUG-11OZ", 1)]
    # The sale's stock (reserved at allocation) reaches TikTok's inventory.
    sold = {i["product_id"] for i in order["line_items"]}
    # A cap, not a timing check: the channel's inventory drain may be backing off on a busy stack.
    for _ in range(600):
        updates = await logged(tiktok, "POST", INVENTORY)
        updated = {c["path"].split("/")[4] for c in updates if c["at"] > released_at and c["status"] == 200}
        if sold <= updated:
            break
        await asyncio.sleep(0.1)
    assert sold <= updated, f"no inventory update of the sold products after the sale: {updates[-3:]}"


async def test_a_buyer_cancel_during_the_hold_means_the_order_never_starts(
    stack: Stack, api: Api, tiktok: httpx.AsyncClient
) -> None:
    order_id = await place(tiktok)

    cancelled = await tiktok.post(f"/_sandbox/orders/{order_id}/buyer_cancel", json={"reason": "Ordered twice"})

    assert cancelled.status_code == 200 and cancelled.json()["order"]["status"] == "CANCELLED"
    await notified(tiktok, order_id, "CANCELLED")
    assert (await api.order("tiktok", order_id)).status_code == 404
    assert await logged(tiktok, "POST", f"{PACKAGES}{order_id}/packages") == []
