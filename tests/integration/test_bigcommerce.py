"""The loop through BigCommerce over the real stack: a thin `store/order/created` hook (delivered
twice) reaches the gateway, which reads the order back, starts one workflow, routes it to ShipBob
(the `bigcommerce-shipbob-first` rule); ShipBob ships; exactly one BigCommerce shipment per parcel
carries the order address, the products by `order_product_id` and the tracking; the sale's new
quantity reaches BigCommerce's inventory. An incomplete order (status 0) starts nothing, its
delivery answered with the reason and its hold listed, until the store moves it to Awaiting
Fulfillment, which starts it and releases the hold. Call counts
come from the sandboxes' request logs."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from orderloop.stack import Stack
from tests.integration.stack import Api
from tests.integration.test_order_loop import base_url, completed

pytestmark = pytest.mark.integration

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


@pytest_asyncio.fixture
async def bigcommerce(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url(stack, "bigcommerce"), timeout=10) as http:
        yield http


async def place(http: httpx.AsyncClient, status_id: int = 11, **params: str) -> str:
    body = {
        "products": [{"sku": "TSHIRT-WHT-M", "quantity": 2, "price": "19.00"}, {"sku": "MUG-11OZ", "quantity": 1}],
        "shipping_addresses": [ADDRESS],
        "customer": {"email": "grace@example.com"},
        "status_id": status_id,
    }
    placed = await http.post("/_sandbox/orders", json=body, params=params)
    assert placed.status_code == 201, placed.text
    return str(placed.json()["id"])


async def order_hooks(http: httpx.AsyncClient, order_id: str) -> list[dict[str, Any]]:
    """The order's hooks, once each was answered (those of the last status change may be on the way)."""
    for _ in range(100):
        hooks: list[dict[str, Any]] = []
        for scope in ("store/order/created", "store/order/updated", "store/order/statusUpdated"):
            found = (await http.get("/_sandbox/webhooks", params={"topic": scope})).json()
            hooks.extend(h for h in found if json.loads(h["body"])["data"]["id"] == int(order_id))
        if all(h["state"] == "delivered" for h in hooks):
            return hooks
        await asyncio.sleep(0.05)
    raise AssertionError(f"hooks of order {order_id} still on the way: {hooks}")


async def logged(http: httpx.AsyncClient, method: str, path_prefix: str) -> list[dict[str, Any]]:
    found = await http.get("/_sandbox/requests", params={"method": method, "path_prefix": path_prefix})
    rows: list[dict[str, Any]] = found.json()
    return rows


async def test_a_bigcommerce_order_ships_through_shipbob_and_one_shipment_per_parcel_reaches_bigcommerce(
    stack: Stack, api: Api, bigcommerce: httpx.AsyncClient
) -> None:
    placed_at = time.time()
    order_id = await place(bigcommerce, duplicate="true")

    view = await api.wait_order("bigcommerce", order_id, completed)

    [request] = view["shippingRequests"]
    assert request["request"]["locationId"] == "shipbob-nj"
    shipments = (await bigcommerce.get("/_sandbox/shipments", params={"order": order_id})).json()
    creates = await logged(bigcommerce, "POST", f"{STORE}/{order_id}/shipments")
    assert len(creates) == len(shipments) == len(view["shipments"])
    assert {s["tracking_number"] for s in shipments} == {n for s in view["shipments"] for n in s["trackingNumbers"]}
    document = (await bigcommerce.get(f"/_sandbox/orders/{order_id}")).json()
    address_id = document["shipping_addresses"][0]["id"]
    products = {p["id"]: p["sku"] for p in document["products"]}
    assert all(s["order_address_id"] == address_id for s in shipments)
    assert all(s["shipping_provider"] in ("usps", "ups", "fedex") for s in shipments)
    shipped = {products[i["order_product_id"]]: 0 for s in shipments for i in s["items"]}
    for s in shipments:
        for item in s["items"]:
            shipped[products[item["order_product_id"]]] += item["quantity"]
    assert shipped == {"TSHIRT-WHT-M": 2, "MUG-11OZ": 1}
    assert document["status_id"] == 2  # Shipped
    # Each order hook delivered (the duplicated creation, sent twice at once, and the status
    # changes our shipments made, which start and edit nothing) is one read-back of the order, its
    # products and addresses.
    hooks = await order_hooks(bigcommerce, order_id)
    paths = [f"{STORE}/{order_id}{resource}" for resource in ("", "/products", "/shipping_addresses")]

    async def reads() -> list[int]:
        return [len([r for r in await logged(bigcommerce, "GET", path) if r["path"] == path]) for path in paths]

    async def polls() -> int:
        """The backstop poll's order lists since the order was placed: each may have read the
        order's products and addresses once more (never the order: the list carries it)."""
        return len([r for r in await logged(bigcommerce, "GET", STORE) if r["path"] == STORE and r["at"] >= placed_at])

    async def reads_match(sends: int) -> None:
        order, products, addresses = await reads()
        assert order == sends, "one read of the order per hook delivered"
        assert products == addresses and sends <= products <= sends + await polls()

    sends = sum(h["sends"] for h in hooks)
    await reads_match(sends)
    # BigCommerce retries the creation later (our answer was lost): the gateway knows the delivery
    # by its id and reads nothing back (the store's API quota is spent on new events only).
    [created] = [h for h in hooks if h["topic"] == "store/order/created"]
    again = await bigcommerce.post(f"/_sandbox/webhooks/{created['webhook_id']}/redeliver")
    assert again.status_code == 200, again.text
    for _ in range(100):
        if sum(h["sends"] for h in await order_hooks(bigcommerce, order_id)) == sends + 1:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the redelivery was never answered")
    await reads_match(sends)
    await inventory_reaches_bigcommerce(api, bigcommerce, "TSHIRT-WHT-M")


async def inventory_reaches_bigcommerce(api: Api, bigcommerce: httpx.AsyncClient, sku: str) -> None:
    """The channel's available-to-sell after the sale is what BigCommerce's location 1 holds."""
    wanted = None
    for _ in range(100):
        preview = (await api.http.get("/api/inventory/channels/bigcommerce/preview", params={"sku": sku})).json()
        wanted = preview["skus"][0]["wouldPublish"]
        levels = (await bigcommerce.get("/_sandbox/inventory")).json()["levels"]
        if levels.get(sku, {}).get("1") == wanted and preview["skus"][0]["published"] == wanted:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"{sku}: BigCommerce never got {wanted}")
    puts = await logged(bigcommerce, "PUT", "/stores/orderloop1/v3/inventory/adjustments/absolute")
    items = [i for r in puts if r["status"] == 200 for i in r["body"]["items"] if i["sku"] == sku]
    assert items and items[-1] == {"location_id": 1, "sku": sku, "quantity": wanted}


async def test_an_incomplete_order_starts_nothing_until_the_store_says_it_can_ship(
    stack: Stack, api: Api, bigcommerce: httpx.AsyncClient
) -> None:
    order_id = await place(bigcommerce, status_id=0)
    for _ in range(100):
        hooks = (await bigcommerce.get("/_sandbox/webhooks", params={"topic": "store/order/created"})).json()
        mine = [h for h in hooks if json.loads(h["body"])["data"]["id"] == int(order_id)]
        if mine and mine[-1]["delivered"]:
            break
        await asyncio.sleep(0.05)
    assert mine and mine[-1]["status"] == 200
    missing = await api.order("bigcommerce", order_id)
    assert missing.status_code == 404
    # The operator asking for it is told the store holds it, and why; the holds list has it.
    assert missing.json()["error"] == f"no order order/bigcommerce/{order_id}"
    assert missing.json()["hold"]["state"] == "held" and "Incomplete (status 0)" in missing.json()["hold"]["reason"]
    assert "the checkout was not completed" in missing.json()["hint"]
    [held] = await holds(api, order_id, "held")
    # Seen once by its hook (the backstop poll of a shared stack may have seen it once more).
    assert (held["channelStatus"], held["releasedAt"]) == ("Incomplete (status 0)", None) and held["timesSeen"] >= 1

    moved = await bigcommerce.post(f"/_sandbox/orders/{order_id}/status", json={"status_id": 11})
    assert moved.status_code == 200, moved.text

    view = await api.wait_order("bigcommerce", order_id, completed)
    assert [(line["sku"], line["shipped"]) for line in view["lines"]] == [("TSHIRT-WHT-M", 2), ("MUG-11OZ", 1)]
    # Started by the store's status change: the hold is released, and no longer listed as held.
    [released] = await holds(api, order_id, "released")
    assert released["releasedAt"] is not None and released["cancelledAt"] is None
    assert released["firstSeenAt"] == held["firstSeenAt"]
    assert await holds(api, order_id, "held") == []


async def holds(api: Api, order_id: str, status: str) -> list[dict[str, Any]]:
    """The BigCommerce holds of one order in one state (`GET /api/holds`)."""
    answer = await api.http.get("/api/holds", params={"channel": "bigcommerce", "status": status, "limit": 1000})
    assert answer.status_code == 200, answer.text
    return [h for h in answer.json()["holds"] if h["externalId"] == order_id]
