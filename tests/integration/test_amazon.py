"""Amazon over the real stack: an order placed Pending starts nothing; once Amazon authorises the
payment its ORDER_CHANGE reaches the gateway, the order is read back with getOrder and started,
routed to our warehouses, shipped by the WMS, and confirmed to Amazon with exactly one
confirmShipment per parcel carrying Amazon's fields; the sale lowers the quantity patched on the
Amazon listing. An order cancelled while Pending never starts, and with every notification lost
the order poll (searchOrders) starts an Unshipped order once. Call counts come from the Amazon
sandbox's request log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from connectors.amazon.mapping import package_reference_id
from orderloop.contracts.scheduled_jobs import PollOrdersReport
from orderloop.stack import Stack
from tests.integration.stack import Api, run_schedule_now
from tests.integration.test_order_loop import base_url, completed

pytestmark = pytest.mark.integration

ADDRESS = {
    "firstName": "Katherine",
    "lastName": "Johnson",
    "address1": "1 NASA Dr",
    "city": "Hampton",
    "stateOrProvince": "VA",
    "zipCodeOrPostalCode": "23666",
    "country": "US",
}
SKU = "TSHIRT-WHT-M"
ORDER = {
    "lineItems": [{"sku": SKU, "quantity": 2, "unitPrice": 19.0}, {"sku": "MUG-11OZ", "quantity": 1}],
    "shippingAddress": ADDRESS,
}


@pytest_asyncio.fixture
async def amazon(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the Amazon sandbox; notifications are delivered again afterwards."""
    async with httpx.AsyncClient(base_url=base_url(stack, "amazon"), timeout=10) as http:
        yield http
        await http.post("/_sandbox/config", json={"deliver_notifications": True})


async def logged(http: httpx.AsyncClient, method: str, path_prefix: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (
        await http.get("/_sandbox/requests", params={"method": method, "path_prefix": path_prefix})
    ).json()
    return found


async def place(http: httpx.AsyncClient, **params: str) -> str:
    placed = await http.post("/_sandbox/orders", params=params, json=ORDER)
    assert placed.status_code == 201, placed.text
    return str(placed.json()["id"])


async def listed(http: httpx.AsyncClient, sku: str) -> int | None:
    quantity: int | None = (await http.get("/_sandbox/listings")).json()["quantities"].get(sku)
    return quantity


async def would_publish(api: Api, sku: str) -> int:
    preview = (await api.http.get("/api/inventory/channels/amazon/preview", params={"sku": [sku]})).json()
    return int(preview["skus"][0]["wouldPublish"])


async def until(check: Any, timeout: float = 20) -> None:
    for _ in range(int(timeout / 0.2)):
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError("timed out")


async def test_a_pending_order_starts_once_authorised_ships_and_is_confirmed_once_per_parcel(
    stack: Stack, api: Api, amazon: httpx.AsyncClient
) -> None:
    async def caught_up() -> bool:
        return await listed(amazon, SKU) == await would_publish(api, SKU)

    await until(caught_up)
    before = await would_publish(api, SKU)
    order_id = await place(amazon, pending="true")
    await asyncio.sleep(1.0)
    # Pending: the notification was answered, but nothing started and the order was not read.
    assert (await api.order("amazon", order_id)).status_code == 404
    assert await logged(amazon, "GET", f"/orders/2026-01-01/orders/{order_id}") == []

    assert (await amazon.post(f"/_sandbox/orders/{order_id}/authorize")).status_code == 200
    view = await api.wait_order("amazon", order_id, completed)

    [read] = await logged(amazon, "GET", f"/orders/2026-01-01/orders/{order_id}")
    assert read["status"] == 200
    confirmations = await logged(amazon, "POST", f"/orders/v0/orders/{order_id}/shipmentConfirmation")
    shipments = view["shipments"]
    # Exactly one confirmShipment per parcel, each naming its package, carrier, tracking and items.
    assert [c["status"] for c in confirmations] == [204] * len(shipments)
    by_package = {c["body"]["packageDetail"]["packageReferenceId"]: c["body"] for c in confirmations}
    assert set(by_package) == {package_reference_id(s["id"]) for s in shipments}
    for shipment in shipments:
        body = by_package[package_reference_id(shipment["id"])]
        detail = body["packageDetail"]
        assert body["marketplaceId"] == "ATVPDKIKX0DER"
        assert detail["trackingNumber"] == shipment["trackingNumbers"][0]
        assert detail["carrierCode"] and detail["shipDate"].endswith("Z")
        assert sum(i["quantity"] for i in detail["orderItems"]) == sum(ln["quantity"] for ln in shipment["lineItems"])
    state = (await amazon.get(f"/_sandbox/orders/{order_id}")).json()
    assert state["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    # The ship-by clock runs to Amazon's LatestShipDate, not the channel's default SLA.
    latest = state["fulfillment"]["shipByWindow"]["latestDateTime"]
    assert datetime.fromisoformat(view["shipByDeadline"]) == datetime.fromisoformat(latest)

    # The sale reached the Amazon listing through the ledger and the inventory sync.
    async def sold() -> bool:
        return await listed(amazon, SKU) == before - 2

    await until(sold)
    patches = await logged(amazon, "PATCH", "/listings/2021-08-01/items/A2SANDBOXSELLER/" + SKU)
    assert patches and all(p["body"]["patches"][0]["op"] == "merge" for p in patches)


async def test_an_order_cancelled_while_pending_never_starts(stack: Stack, api: Api, amazon: httpx.AsyncClient) -> None:
    order_id = await place(amazon, pending="true")
    assert (
        await amazon.post(f"/_sandbox/orders/{order_id}/cancel", json={"reason": "Payment failed"})
    ).status_code == 200
    await asyncio.sleep(1.0)

    assert (await api.order("amazon", order_id)).status_code == 404
    report = await run_schedule_now(stack, "order-poll/amazon", PollOrdersReport)
    assert order_id not in " ".join(report.started)
    assert (await api.order("amazon", order_id)).status_code == 404


async def test_with_every_notification_lost_the_poll_starts_the_order_once(
    stack: Stack, api: Api, amazon: httpx.AsyncClient
) -> None:
    await amazon.post("/_sandbox/config", json={"deliver_notifications": False})
    order_id = await place(amazon)

    first = await run_schedule_now(stack, "order-poll/amazon", PollOrdersReport)
    second = await run_schedule_now(stack, "order-poll/amazon", PollOrdersReport)

    assert [w for w in first.started if w.endswith(order_id)] == [f"order/amazon/{order_id}"]
    assert not [w for w in second.started if w.endswith(order_id)]
    view = await api.wait_order("amazon", order_id, completed)
    assert len(await logged(amazon, "POST", f"/orders/v0/orders/{order_id}/shipmentConfirmation")) == len(
        view["shipments"]
    )
