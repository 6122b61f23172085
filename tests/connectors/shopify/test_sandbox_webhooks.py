"""What the Shopify sandbox delivers over HTTP verifies with the connector's `parse_webhook`, carries
Shopify's headers, and can arrive twice or out of order, as Shopify's deliveries do; the order
control endpoints answer with Shopify's order JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectors.base import InboundKind, MappingError, SignatureError
from tests.connectors.shopify.conftest import ADDRESS, API_VERSION, Shop, WebhookReceiver, shipment_for


async def deliveries(shop: Shop, receiver: WebhookReceiver, count: int) -> list[Any]:
    await shop.webhooks_sent()
    assert len(receiver.received) == count, receiver.topics()
    return receiver.received


async def test_orders_create_verifies_with_the_connector_and_maps(shop: Shop, receiver: WebhookReceiver) -> None:
    raw = await shop.place()
    (delivery,) = await deliveries(shop, receiver, 1)

    event = shop.connector.parse_webhook(delivery.headers, delivery.body)

    assert event.kind is InboundKind.ORDER_CREATED
    assert event.external_order_id == str(raw["id"])
    assert event.payload == raw
    assert event.event_id == delivery.headers["x-shopify-event-id"]
    assert delivery.headers["x-shopify-webhook-id"] and delivery.headers["x-shopify-triggered-at"]
    assert delivery.headers["x-shopify-shop-domain"] == "orderloop-sandbox.myshopify.com"
    assert delivery.headers["x-shopify-api-version"] == API_VERSION
    order = shop.map(event.payload)
    assert [(line.sku, line.quantity) for line in order.line_items] == [("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)]
    assert order.shipping_address is not None and order.shipping_address.missing_fields() == []


async def test_a_duplicate_delivery_carries_the_same_event_id(shop: Shop, receiver: WebhookReceiver) -> None:
    await shop.place(duplicate=True)
    first, second = await deliveries(shop, receiver, 2)

    events = [shop.connector.parse_webhook(d.headers, d.body) for d in (first, second)]

    assert events[0].event_id == events[1].event_id is not None
    assert first.headers["x-shopify-webhook-id"] == second.headers["x-shopify-webhook-id"]
    assert first.body == second.body
    assert {e.kind for e in events} == {InboundKind.ORDER_CREATED}


async def test_out_of_order_delivery_lets_the_paid_update_arrive_first(shop: Shop, receiver: WebhookReceiver) -> None:
    await shop.http.post("/_sandbox/webhooks/hold")
    raw = await shop.place(
        {"line_items": [{"sku": "MUG-11OZ", "quantity": 1}], "shipping_address": ADDRESS, "financial_status": "pending"}
    )
    paid = (await shop.http.post(f"/_sandbox/orders/{raw['id']}/pay")).json()
    assert receiver.received == []
    held = (await shop.http.get("/_sandbox/webhooks/held")).json()
    assert [w["topic"] for w in held] == ["orders/create", "orders/paid", "orders/updated"]
    released = (await shop.http.post("/_sandbox/webhooks/release", params={"order": "reverse"})).json()
    assert [w["topic"] for w in released["released"]] == ["orders/updated", "orders/paid", "orders/create"]
    await deliveries(shop, receiver, 3)
    assert receiver.topics() == ["orders/updated", "orders/paid", "orders/create"]

    updated, paid_event, created = (shop.connector.parse_webhook(d.headers, d.body) for d in receiver.received)

    assert updated.kind is InboundKind.ORDER_UPDATED and paid_event.kind is InboundKind.IGNORED
    assert created.kind is InboundKind.ORDER_CREATED
    assert len({updated.event_id, paid_event.event_id, created.event_id}) == 3
    assert updated.external_order_id == created.external_order_id == str(raw["id"])
    # The late orders/create still shows the unpaid order; the update that overtook it is paid.
    assert created.occurred_at is not None and updated.occurred_at is not None
    assert created.occurred_at <= updated.occurred_at
    with pytest.raises(MappingError, match="financial_status is 'pending'"):
        shop.map(created.payload)
    assert shop.map(updated.payload).payment_status == "paid" == paid["financial_status"]


async def test_an_edit_sends_orders_edited_then_the_edited_order(shop: Shop, receiver: WebhookReceiver) -> None:
    raw = await shop.place()
    shirt = raw["line_items"][0]["id"]
    edited = (
        await shop.http.post(
            f"/_sandbox/orders/{raw['id']}/edit",
            json={"line_items": [{"id": shirt, "quantity": 1}, {"sku": "POSTER-A2", "quantity": 1}]},
        )
    ).json()
    await deliveries(shop, receiver, 3)
    assert receiver.topics() == ["orders/create", "orders/edited", "orders/updated"]

    edit = shop.connector.parse_webhook(receiver.received[1].headers, receiver.received[1].body)
    update = shop.connector.parse_webhook(receiver.received[2].headers, receiver.received[2].body)

    assert edit.kind is InboundKind.IGNORED and edit.external_order_id == str(raw["id"])
    summary = edit.payload["order_edit"]["line_items"]
    assert summary["removals"] == [{"id": shirt, "delta": 1}]
    assert [a["delta"] for a in summary["additions"]] == [1]
    assert update.kind is InboundKind.ORDER_UPDATED and update.payload == edited
    order = shop.map(update.payload)
    assert [(line.sku, line.quantity) for line in order.line_items] == [
        ("TSHIRT-BLK-M", 1),
        ("MUG-11OZ", 1),
        ("POSTER-A2", 1),
    ]
    fos = shop.sandbox.order_fulfillment_orders(raw["id"])
    assert sum(i["fulfillable_quantity"] for fo in fos for i in fo["line_items"]) == 3


async def test_a_cancel_sends_two_cancels_the_gateway_can_take(shop: Shop, receiver: WebhookReceiver) -> None:
    raw = await shop.place()
    await shop.http.post(f"/_sandbox/orders/{raw['id']}/cancel", json={"reason": "inventory"})
    await deliveries(shop, receiver, 3)
    assert receiver.topics() == ["orders/create", "orders/cancelled", "orders/updated"]

    events = [shop.connector.parse_webhook(d.headers, d.body) for d in receiver.received[1:]]

    assert [e.kind for e in events] == [InboundKind.ORDER_CANCELLED, InboundKind.ORDER_CANCELLED]
    assert {e.detail for e in events} == {"cancelled in Shopify (reason: inventory)"}
    assert [fo["status"] for fo in shop.sandbox.order_fulfillment_orders(raw["id"])] == ["cancelled"]


async def test_a_fulfillment_is_followed_by_shopifys_webhooks(shop: Shop, receiver: WebhookReceiver) -> None:
    raw = await shop.place()
    order = shop.map(raw)
    await shop.connector.push_shipment(order, shipment_for(order, ("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)))
    await deliveries(shop, receiver, 4)

    assert receiver.topics() == ["orders/create", "fulfillments/create", "orders/fulfilled", "orders/updated"]
    kinds = [shop.connector.parse_webhook(d.headers, d.body).kind for d in receiver.received[1:]]
    assert kinds == [InboundKind.IGNORED, InboundKind.IGNORED, InboundKind.ORDER_UPDATED]


async def test_a_badly_signed_delivery_is_refused(shop: Shop, receiver: WebhookReceiver) -> None:
    await shop.place(bad_signature=True)
    (delivery,) = await deliveries(shop, receiver, 1)
    with pytest.raises(SignatureError):
        shop.connector.parse_webhook(delivery.headers, delivery.body)


async def test_a_redelivery_is_the_same_event_with_the_original_body(shop: Shop, receiver: WebhookReceiver) -> None:
    raw = await shop.place()
    await shop.http.post(f"/_sandbox/orders/{raw['id']}/pay")
    logged = (await shop.http.get("/_sandbox/webhooks", params={"topic": "orders/create"})).json()
    assert len(logged) == 1
    response = await shop.http.post(f"/_sandbox/webhooks/{logged[0]['webhook_id']}/redeliver")
    assert response.status_code == 200
    await deliveries(shop, receiver, 4)

    original, retry = receiver.received[0], receiver.received[3]
    assert retry.body == original.body
    assert retry.headers["x-shopify-webhook-id"] == logged[0]["webhook_id"]
    assert shop.connector.parse_webhook(retry.headers, retry.body).event_id == logged[0]["event_id"]
    (resent,) = (await shop.http.get("/_sandbox/webhooks", params={"topic": "orders/create"})).json()
    assert (resent["sends"], resent["state"]) == (2, "delivered")


async def test_the_webhook_log_keeps_the_signed_bytes(open_shop: Any, receiver: WebhookReceiver) -> None:
    shop = await open_shop({"deliver_webhooks": False})
    raw = await shop.place()
    await shop.webhooks_sent()
    assert receiver.received == []
    (logged,) = (await shop.http.get("/_sandbox/webhooks")).json()
    assert logged["state"] == "not_delivered" and logged["topic"] == "orders/create"

    event = shop.connector.parse_webhook(logged["headers"], logged["body"].encode())

    assert event.kind is InboundKind.ORDER_CREATED and event.payload == raw


async def test_the_storefront_demo_body_places_a_shopify_order(shop: Shop) -> None:
    demo = {
        "externalId": "demo-abc123-0001",
        "name": "#demo-abc123-0001",
        "currency": "USD",
        "customer": {"firstName": "Grace", "lastName": "Hopper", "email": "grace@example.com"},
        "shippingAddress": {
            "firstName": "Grace",
            "lastName": "Hopper",
            "address1": "1 Navy Way",
            "city": "Arlington",
            "stateOrProvince": "VA",
            "zipCodeOrPostalCode": "22202",
            "country": "US",
        },
        "shippingCode": "express",
        "lineItems": [{"id": "1", "sku": "HOODIE-GRY-L", "quantity": 2, "unitPrice": 19.0}],
    }
    raw = await shop.place(demo)

    assert raw["name"].startswith("#10") and raw["financial_status"] == "paid"
    assert raw["shipping_address"]["province_code"] == "VA" and raw["shipping_address"]["country_code"] == "US"
    assert raw["shipping_lines"][0]["code"] == "express"
    order = shop.map(raw)
    assert [(line.sku, line.quantity, str(line.unit_price)) for line in order.line_items] == [
        ("HOODIE-GRY-L", 2, "19.00")
    ]
    assert order.customer is not None and order.customer.email == "grace@example.com"
    assert order.shipping_address is not None and order.shipping_address.missing_fields() == []


async def test_control_errors_say_what_is_wrong(shop: Shop) -> None:
    missing = await shop.http.post("/_sandbox/orders", json={"line_items": [{"quantity": 1}]})
    assert missing.status_code == 422 and "line_items[0].sku is missing" in missing.json()["error"]
    unknown = await shop.http.post("/_sandbox/orders/42/pay")
    assert unknown.status_code == 404
    bad_json = await shop.http.post("/_sandbox/orders", content=b"{", headers={"content-type": "application/json"})
    assert bad_json.status_code == 400 and "not valid JSON" in json.dumps(bad_json.json())
