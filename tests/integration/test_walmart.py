"""The loop through Walmart over the real stack: an order placed on the Walmart sandbox arrives
by its signed ORDER_UPDATES notification (read back from the Orders API before it starts
anything), routes to ShipBob (the `walmart-shipbob-then-wms` rule), ships, and comes back to
Walmart as exactly one acknowledgement and one ship-lines call per parcel with Walmart's
fields (carrier as Walmart lists it, method code, tracking number); the sale then reaches
Walmart's inventory. A notification lost is made up by the order poll; a redelivered one
starts nothing. Call counts come from the sandboxes' request logs."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from connectors.walmart.mapping import WALMART_CARRIERS
from orderloop.contracts.scheduled_jobs import PollOrdersReport
from orderloop.stack import Stack
from tests.integration.stack import Api, run_schedule_now
from tests.integration.test_order_loop import base_url, completed

pytestmark = pytest.mark.integration

NODE = "10001234567"  # the sandbox seller's default ship node

ADDRESS = {
    "firstName": "Katherine",
    "lastName": "Johnson",
    "address1": "1 NASA Dr",
    "city": "Hampton",
    "stateOrProvince": "VA",
    "zipCodeOrPostalCode": "23666",
    "country": "US",
}
ORDER = {
    "externalId": "it-walmart",
    "shippingCode": "standard",
    "shippingAddress": ADDRESS,
    "lineItems": [{"sku": "TSHIRT-WHT-M", "quantity": 2, "unitPrice": 19.0}, {"sku": "MUG-11OZ", "quantity": 1}],
}


async def logged(http: httpx.AsyncClient, method: str, path_prefix: str) -> list[dict[str, Any]]:
    response = await http.get("/_sandbox/requests", params={"method": method, "path_prefix": path_prefix})
    return list(response.json())


async def test_walmart_order_ships_through_shipbob_and_each_parcel_is_one_ship_lines_call(
    stack: Stack, api: Api
) -> None:
    async with httpx.AsyncClient(base_url=base_url(stack, "walmart"), timeout=10) as walmart:
        placed = await walmart.post("/_sandbox/orders", json=ORDER)
        assert placed.status_code == 200, placed.text
        po = str(placed.json()["id"])
        view = await api.wait_order("walmart", po, completed)
        # The notification again (Walmart retries what it thinks was not received).
        [notification] = (await walmart.get("/_sandbox/webhooks", params={"topic": "ORDER_UPDATES"})).json()[-1:]
        again = await walmart.post(f"/_sandbox/webhooks/{notification['webhook_id']}/redeliver")
        assert again.is_success, again.text
        for _ in range(200):
            hooks = (await walmart.get("/_sandbox/webhooks", params={"topic": "ORDER_UPDATES"})).json()
            [sent] = [h for h in hooks if h["webhook_id"] == notification["webhook_id"]]
            if sent["sends"] == notification["sends"] + 1 and sent["state"] == "delivered":
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the redelivered notification was never answered")
        acks = await logged(walmart, "POST", f"/v3/orders/{po}/acknowledge")
        ships = await logged(walmart, "POST", f"/v3/orders/{po}/shipping")
        records = (await walmart.get(f"/_sandbox/shipments/{po}")).json()
        reads = await logged(walmart, "GET", f"/v3/orders/{po}")
    async with httpx.AsyncClient(base_url=base_url(stack, "shipbob"), timeout=10) as shipbob:
        shipbob_orders = (await shipbob.get("/_sandbox/orders")).json()

    [request] = view["shippingRequests"]
    assert request["request"]["locationId"] == "shipbob-nj"
    assert len([o for o in shipbob_orders if o["reference_id"] == request["request"]["id"]]) == 1
    assert view["order"]["shipByDate"] is not None and view["order"]["shippingCode"] == "Standard"
    # One acknowledgement, then one ship-lines call per parcel, each with Walmart's fields.
    assert [a["status"] for a in acks] == [200]
    assert len(ships) == len(view["shipments"]) and all(s["status"] == 200 for s in ships)
    assert acks[0]["at"] < ships[0]["at"]
    tracking = {n for s in view["shipments"] for n in s["trackingNumbers"]}
    assert {r["tracking"]["trackingNumber"] for r in records} == tracking
    for record in records:
        assert record["tracking"]["carrierName"]["carrier"] in WALMART_CARRIERS
        assert record["tracking"]["methodCode"] == "Standard"
    assert sum(q for r in records for q in r["lines"].values()) == 3
    assert [(line["sku"], line["shipped"]) for line in view["lines"]] == [("TSHIRT-WHT-M", 2), ("MUG-11OZ", 1)]
    # The notification was read back once, the acknowledgement (made once the order is mapped,
    # before it is routed) reads it once, each push reads it once; the redelivery is known by its
    # id before anything is read (and started nothing more).
    assert len(reads) == 1 + 1 + len(ships)
    assert (await api.order("walmart", po)).json()["status"] == "completed"


async def test_the_sale_reaches_walmarts_inventory(stack: Stack, api: Api) -> None:
    async with httpx.AsyncClient(base_url=base_url(stack, "walmart"), timeout=10) as walmart:
        mark = len(await logged(walmart, "PUT", "/v3/inventory"))
        placed = await walmart.post("/_sandbox/orders", json={**ORDER, "externalId": "it-walmart-stock"})
        po = str(placed.json()["id"])
        await api.wait_order("walmart", po, lambda v: v["status"] in ("sent_to_fulfillment", "completed"))
        deadline = time.monotonic() + 10
        while True:
            published = (await walmart.get("/_sandbox/inventory")).json()["levels"]["TSHIRT-WHT-M"].get(NODE)
            wanted = await would_publish(api, "TSHIRT-WHT-M")
            if published == wanted or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        puts = (await logged(walmart, "PUT", "/v3/inventory"))[mark:]
    assert published == wanted and wanted > 0
    [put] = [p for p in puts if p["query"] == "sku=TSHIRT-WHT-M"][-1:]
    assert put["status"] == 200 and put["body"] == {
        "sku": "TSHIRT-WHT-M",
        "quantity": {"unit": "EACH", "amount": wanted},
    }


async def would_publish(api: Api, sku: str) -> int:
    preview = (await api.http.get("/api/inventory/channels/walmart/preview", params={"sku": sku})).json()
    [row] = preview["skus"]
    return int(row["wouldPublish"])


async def test_the_customers_intent_to_cancel_after_the_request_was_sent_cancels_it_at_shipbob(
    stack: Stack, api: Api
) -> None:
    async with (
        httpx.AsyncClient(base_url=base_url(stack, "walmart"), timeout=10) as walmart,
        httpx.AsyncClient(base_url=base_url(stack, "shipbob"), timeout=10) as shipbob,
    ):
        await shipbob.post("/_sandbox/config", json={"auto_ship": False})
        try:
            placed = await walmart.post("/_sandbox/orders", json={**ORDER, "externalId": "it-walmart-cancel"})
            po = str(placed.json()["id"])
            await api.wait_order("walmart", po, lambda v: v["status"] == "sent_to_fulfillment")
            asked = await walmart.post(f"/_sandbox/intent-to-cancel/{po}")
            assert asked.is_success, asked.text
            view = await api.wait_order("walmart", po, lambda v: v["status"] == "cancelled")
            [request] = view["shippingRequests"]
            cancels = await logged(shipbob, "POST", f"/2026-01/order/{request['vendorId']}:cancel")
            ships = await logged(walmart, "POST", f"/v3/orders/{po}/shipping")
        finally:
            await shipbob.post("/_sandbox/config", json={"auto_ship": True})
    assert request["state"] == "cancelled"
    assert [c["status"] for c in cancels] == [200]
    assert ships == []
    assert any("the customer asked Walmart to cancel" in (t["detail"] or "") for t in view["timeline"])


async def test_an_order_whose_notification_was_lost_is_started_by_the_poll(stack: Stack, api: Api) -> None:
    async with httpx.AsyncClient(base_url=base_url(stack, "walmart"), timeout=10) as walmart:
        await walmart.post("/_sandbox/config", json={"deliver_webhooks": False})
        try:
            placed = await walmart.post("/_sandbox/orders", json={**ORDER, "externalId": "it-walmart-lost"})
            po = str(placed.json()["id"])
            report = await run_schedule_now(stack, "order-poll/walmart", PollOrdersReport)
        finally:
            await walmart.post("/_sandbox/config", json={"deliver_webhooks": True})
    assert f"order/walmart/{po}" in report.started
    await api.wait_order("walmart", po, completed)
