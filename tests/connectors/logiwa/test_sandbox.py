"""The Logiwa sandbox with the connector on it: tokens that expire, the tier's 403, batch and
content refusals in Logiwa's shapes, cancel until picking, webhooks that are only hints (a forged
one is not confirmed, a changed one is replaced by the order record), and lost webhooks found by
polling."""

from __future__ import annotations

import asyncio
import json

import pytest

from connectors.base import AlreadyShippedError, InboundKind, RateLimitedError, RetryableError
from connectors.logiwa.client import RPC_PATH
from connectors.logiwa.mapping import order_body
from connectors.logiwa.webhooks import TOPIC_HEADER, LogiwaTopic
from orderloop.config import ChannelConfig
from tests.connectors.logiwa.conftest import PASSWORD, USERNAME, WEBHOOK_TOKEN, Harness, MakeHarness, shipping_request

RPC = "/en/api/IntegrationApi"


async def bearer(harness: Harness) -> dict[str, str]:
    form = {"grant_type": "password", "username": USERNAME, "password": PASSWORD}
    token = (await harness.http.post("/token", data=form)).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def test_an_expired_token_is_refused_and_the_connector_fetches_another(harness: Harness) -> None:
    request = shipping_request("T1")
    await harness.connector.create_shipping_request(request)
    assert (await harness.control("GET", "tokens"))["issued"] == 1

    await harness.control("POST", "tokens/expire")
    assert await harness.connector.fetch_shipments(request, None) == []

    assert (await harness.control("GET", "tokens"))["issued"] == 2
    refused = [r for r in harness.sandbox.recorder.matching("POST", RPC) if r.status == 401]
    assert len(refused) == 1


async def test_token_host_answers_logiwas_shapes(harness: Harness) -> None:
    wrong = await harness.http.post("/token", data={"grant_type": "password", "username": USERNAME, "password": "x"})
    empty = await harness.http.post("/token", data={"grant_type": "password", "username": ""})
    good = await harness.http.post(
        "/token", data={"grant_type": "password", "username": USERNAME, "password": PASSWORD}
    )

    assert wrong.status_code == 200 and wrong.json()["error"] == "invalid_grant"
    assert empty.status_code == 200 and empty.json()[".error_description"] == "Username cannot be empty."
    assert good.json()["token_type"] == "bearer" and good.json()["expires_in"] == 14 * 24 * 3600
    unauthorised = await harness.http.post(f"{RPC}/WarehouseOrderSearch", json={})
    assert unauthorised.status_code == 401
    assert unauthorised.json() == {"Message": "Authorization has been denied for this request."}


async def test_standard_tier_throttles_the_second_call_in_a_second_with_a_403(
    make_harness: MakeHarness, channel: ChannelConfig
) -> None:
    harness = await make_harness(tier="standard")
    auth = await bearer(harness)

    first = await harness.http.post(f"{RPC}/WarehouseOrderSearch", json={}, headers=auth)
    second = await harness.http.post(f"{RPC}/WarehouseOrderSearch", json={}, headers=auth)

    assert first.status_code == 200
    assert second.status_code == 403 and "retry-after" not in second.headers
    assert "Please retry after" in second.json() and "milliseconds later" in second.json()
    with pytest.raises(RateLimitedError) as limited:
        await harness.connector.fetch_stock()
    assert 0 < (limited.value.retry_after or 0) <= 1.0


async def test_refusals_are_success_false_at_http_200(harness: Harness) -> None:
    auth = await bearer(harness)
    body = [{"Code": f"X{i}"} for i in range(51)]

    too_many = await harness.http.post(f"{RPC}/InsertShipmentOrder", json=body, headers=auth)
    broken = await harness.http.post(f"{RPC}/InsertShipmentOrder", content=b"{", headers=auth)
    unknown = await harness.http.post(f"{RPC}/NoSuchMethod", json={}, headers=auth)

    assert too_many.status_code == 200 and too_many.json()["Success"] is False
    assert "at most 50 shipment orders" in too_many.json()["Errors"][0]
    assert broken.status_code == 200 and broken.json()["Success"] is False
    assert unknown.status_code == 404 and "Message" in unknown.json()


async def test_a_refused_order_in_a_batch_creates_none_of_it(harness: Harness) -> None:
    auth = await bearer(harness)
    good = harness.connector.settings
    batch = [order_body(shipping_request("B1"), good), order_body(shipping_request("B2", lines=(("NOPE", 1),)), good)]
    answer = (await harness.http.post(f"{RPC}/InsertShipmentOrder", json=batch, headers=auth)).json()

    assert answer["Success"] is False and "Inventory item 'NOPE' not found" in answer["Errors"][0]
    assert await harness.control("GET", "orders") == []


async def test_cancel_is_refused_once_picking_started(harness: Harness) -> None:
    request = shipping_request("P1")
    receipt = await harness.connector.create_shipping_request(request)
    await harness.control("POST", f"pick/{request.id}")

    with pytest.raises(AlreadyShippedError, match="Picked"):
        await harness.connector.cancel_shipping_request(request, receipt.vendor_id)
    assert harness.calls("POST", f"{RPC_PATH}CancelShipmentOrder") == 0


async def test_a_forged_shipment_webhook_is_not_confirmed(harness: Harness) -> None:
    request = shipping_request("F1")
    receipt = await harness.connector.create_shipping_request(request)
    forged = {
        "LogiwaOrderId": int(receipt.vendor_id),
        "OrderCode": request.id,
        "ShipmentDate": "03.03.2026 16:42:10",
        "Details": [
            {"InventoryItemCode": "TSHIRT-BLK-M", "CuQuantity": 2},
            {"InventoryItemCode": "MUG-11OZ", "CuQuantity": 1},
        ],
    }
    headers = {"X-Orderloop-Token": WEBHOOK_TOKEN, TOPIC_HEADER: LogiwaTopic.ORDER_SHIPMENT_INFO}
    hint = harness.connector.parse_webhook(headers, json.dumps(forged).encode())
    assert hint.kind is InboundKind.SHIPMENT

    confirmed = await harness.connector.confirm_event(hint)

    assert confirmed.kind is InboundKind.IGNORED and confirmed.shipment is None
    assert "not confirmed by WarehouseOrderSearch (the order is Entered)" in (confirmed.detail or "")


async def test_a_changed_shipment_webhook_is_replaced_by_the_order_record(harness: Harness) -> None:
    request = shipping_request("F2")
    await harness.connector.create_shipping_request(request)
    mark = len(harness.receiver.received)
    await harness.control("POST", f"ship/{request.id}")
    await harness.sandbox.sender.drain()
    [delivery] = [w for w in harness.receiver.received[mark:] if w.topic == LogiwaTopic.ORDER_SHIPMENT_INFO]
    claimed = json.loads(delivery.body)
    claimed["Details"][0]["CuQuantity"] = 50

    hint = harness.connector.parse_webhook(delivery.headers, json.dumps(claimed).encode())
    confirmed = await harness.connector.confirm_event(hint)

    assert hint.shipment is not None and hint.shipment.line_items[0].quantity == 50
    assert confirmed.kind is InboundKind.SHIPMENT and confirmed.shipment is not None
    assert [(ln.sku, ln.quantity) for ln in confirmed.shipment.line_items] == [("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)]


async def test_a_cancel_webhook_is_confirmed_against_the_record(harness: Harness) -> None:
    request = shipping_request("K1")
    receipt = await harness.connector.create_shipping_request(request)
    await harness.sandbox.sender.drain()
    mark = len(harness.receiver.received)

    await harness.connector.cancel_shipping_request(request, receipt.vendor_id)
    await harness.sandbox.sender.drain()

    [update] = [w for w in harness.receiver.received[mark:] if w.topic == LogiwaTopic.SO_STATUS_UPDATE]
    confirmed = await harness.connector.confirm_event(harness.connector.parse_webhook(update.headers, update.body))
    assert confirmed.kind is InboundKind.SHIPMENT_CANCELLED and confirmed.shipping_request_id == request.id


async def test_lost_webhooks_are_found_by_polling(make_harness: MakeHarness) -> None:
    harness = await make_harness(deliver_webhooks=False, auto_ship=True, ship_delay=0.05)
    request = shipping_request("L1")
    await harness.connector.create_shipping_request(request)

    for _ in range(100):
        if shipments := await harness.connector.fetch_shipments(request, None):
            break
        await asyncio.sleep(0.02)

    assert [s.id for s in shipments] and shipments[0].tracking_numbers
    assert harness.receiver.received == []
    logged = await harness.control("GET", "webhooks", params={"topic": LogiwaTopic.ORDER_SHIPMENT_INFO})
    assert [w["state"] for w in logged] == ["not_delivered"]


async def test_stock_falls_when_an_order_ships(harness: Harness) -> None:
    await harness.control("POST", "stock", json={"stock": {"WH-EAST": {"TSHIRT-BLK-M": 10, "MUG-11OZ": 4}}})
    request = shipping_request("S1")
    await harness.connector.create_shipping_request(request)
    before = {(r.location_ref, r.sku): (r.on_hand, r.available) for r in await harness.connector.fetch_stock()}
    await harness.control("POST", f"ship/{request.id}")
    after = {(r.location_ref, r.sku): (r.on_hand, r.available) for r in await harness.connector.fetch_stock()}

    assert before[("east", "TSHIRT-BLK-M")] == (10, 8) and after[("east", "TSHIRT-BLK-M")] == (8, 8)
    assert after[("east", "MUG-11OZ")] == (3, 3)


async def test_a_lost_create_answer_is_recognised_by_its_code_on_retry(make_harness: MakeHarness) -> None:
    harness = await make_harness(lose_create_answers=1)
    request = shipping_request("R1")

    with pytest.raises(RetryableError, match="HTTP 504"):
        await harness.connector.create_shipping_request(request)
    retried = await harness.connector.create_shipping_request(request)

    assert retried.duplicate
    assert [o["Code"] for o in await harness.control("GET", "orders")] == [request.id]
    assert harness.calls("POST", f"{RPC_PATH}InsertShipmentOrder") == 2


async def test_duplicated_and_reversed_deliveries_confirm_to_the_same_shipment(make_harness: MakeHarness) -> None:
    harness = await make_harness(duplicate_deliveries=True)
    request = shipping_request("D1")
    await harness.connector.create_shipping_request(request)
    await harness.control("POST", "webhooks/hold")
    await harness.control("POST", f"ship/{request.id}")
    mark = len(harness.receiver.received)

    released = await harness.control("POST", "webhooks/release", params={"order": "reverse"})
    await harness.sandbox.sender.drain()

    assert released["released"][0]["topic"] == LogiwaTopic.ORDER_SHIPMENT_INFO
    deliveries = [w for w in harness.receiver.received[mark:] if w.topic == LogiwaTopic.ORDER_SHIPMENT_INFO]
    events = [
        await harness.connector.confirm_event(harness.connector.parse_webhook(w.headers, w.body)) for w in deliveries
    ]
    assert len(events) == 2 and len({e.event_id for e in events}) == 1
    assert {e.shipment.id for e in events if e.shipment is not None} == {
        "logiwa-" + str(harness.sandbox.orders[request.id].id)
    }
