"""The storefront connector against the storefront sandbox: what it sends is what the storefront
records, retries never record twice, lists are read to their last page, and every failure the
storefront can answer becomes the connector error Temporal acts on."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from connectors.base import (
    InboundKind,
    PermanentError,
    RateLimitedError,
    RejectedError,
    RetryableError,
    SignatureError,
)
from connectors.storefront import StorefrontConnector
from connectors.storefront.mapping import fulfillment_body
from orderloop.config import ChannelConfig
from orderloop.model import Order, Shipment, ShipmentLine
from tests.connectors.storefront.conftest import (
    API_TOKEN_VAR,
    RECEIVED_AT,
    TENANT,
    Storefront,
    WebhookReceiver,
    payload,
)


def shipment(shipment_id: str = "SHP-000001", sku: str = "TSHIRT-BLK-M", line_id: str = "li_1") -> Shipment:
    return Shipment(
        id=shipment_id,
        shipping_request_id="order/storefront/SF-1001/sr1",
        fulfillment_channel_id="wms",
        location_id="east",
        line_items=[ShipmentLine(sku=sku, quantity=1, line_id=line_id)],
        tracking_numbers=[f"1Z{shipment_id[-6:]}"],
        shipping_carrier="UPS",
        shipped_at=datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC),
    )


def storefront_order(external_id: str, updated_at: str) -> dict[str, Any]:
    raw = copy.deepcopy(payload("order.json"))
    raw.update(externalId=external_id, createdAt=updated_at, updatedAt=updated_at)
    return raw


async def fulfillments(storefront: Storefront, external_id: str) -> list[dict[str, Any]]:
    response = await storefront.http.get("/_sandbox/fulfillments", params={"order": external_id})
    records: list[dict[str, Any]] = response.json()
    return records


async def arm_fault(storefront: Storefront, **spec: Any) -> None:
    response = await storefront.http.post("/_sandbox/faults", json=spec)
    assert response.status_code == 200, response.text


# --- fulfillments -------------------------------------------------------------------------------


async def test_retried_push_shipment_records_one_fulfillment(storefront: Storefront, order: Order) -> None:
    first = await storefront.connector.push_shipment(order, shipment())
    again = await storefront.connector.push_shipment(order, shipment())

    assert first is not None and again == first
    records = await fulfillments(storefront, "SF-1001")
    assert [r["id"] for r in records] == [first]
    assert records[0]["idempotencyKey"] == "SHP-000001"
    assert records[0]["body"] == fulfillment_body(order, shipment())
    sent = await storefront.recorded("POST", "/orders/SF-1001/fulfillments")
    assert [r["headers"]["idempotency-key"] for r in sent] == ["SHP-000001", "SHP-000001"]
    assert [r["status"] for r in sent] == [201, 200]


async def test_each_shipment_of_an_order_is_its_own_fulfillment(storefront: Storefront, order: Order) -> None:
    first = await storefront.connector.push_shipment(order, shipment("SHP-000001"))
    second = await storefront.connector.push_shipment(order, shipment("SHP-000002", sku="MUG-11OZ", line_id="li_2"))

    assert first != second
    records = await fulfillments(storefront, "SF-1001")
    assert [r["body"]["lineItems"] for r in records] == [
        [{"id": "li_1", "sku": "TSHIRT-BLK-M", "quantity": 1}],
        [{"id": "li_2", "sku": "MUG-11OZ", "quantity": 1}],
    ]


async def test_sandbox_lists_the_fulfillments_recorded_after_an_offset(storefront: Storefront, order: Order) -> None:
    first = await storefront.connector.push_shipment(order, shipment("SHP-000001"))
    second = await storefront.connector.push_shipment(order, shipment("SHP-000002", sku="MUG-11OZ", line_id="li_2"))

    listed = [(await storefront.http.get("/_sandbox/fulfillments", params={"after": n})).json() for n in (0, 1, 2)]
    assert [[r["id"] for r in page] for page in listed] == [[first, second], [second], []]
    refused = await storefront.http.get("/_sandbox/fulfillments", params={"after": -1})
    assert refused.status_code == 422


async def test_order_id_with_a_slash_reaches_its_own_order(storefront: Storefront, order: Order) -> None:
    slashed = order.model_copy(update={"external_id": "B2B/1001"})

    await storefront.connector.push_shipment(slashed, shipment())

    records = await fulfillments(storefront, "B2B/1001")
    assert [r["body"]["orderId"] for r in records] == ["B2B/1001"]


async def test_refused_fulfillment_is_a_rejected_error_with_the_storefront_reason(
    storefront: Storefront, order: Order
) -> None:
    await storefront.http.post("/_sandbox/config", json={"reject_fulfillments": True})

    with pytest.raises(RejectedError) as error:
        await storefront.connector.push_shipment(order, shipment())

    assert error.value.status_code == 422
    assert "fulfillment refused (sandbox knob reject_fulfillments)" in str(error.value)
    assert await fulfillments(storefront, "SF-1001") == []


# --- inventory ----------------------------------------------------------------------------------


async def test_push_inventory_sets_available_quantities_at_the_storefront(storefront: Storefront) -> None:
    await storefront.connector.push_inventory({"TSHIRT-BLK-M": 12, "MUG-11OZ": 0})

    levels = (await storefront.http.get("/_sandbox/inventory")).json()["levels"]
    assert {sku: level["available"] for sku, level in levels.items()} == {"TSHIRT-BLK-M": 12, "MUG-11OZ": 0}


async def test_push_inventory_with_no_quantities_sends_nothing(storefront: Storefront) -> None:
    await storefront.connector.push_inventory({})

    assert await storefront.recorded("POST", "/inventory") == []


# --- polling ------------------------------------------------------------------------------------


async def test_poll_orders_follows_the_cursor_across_pages(storefront: Storefront) -> None:
    # More orders than the connector's page of 100, so the last ones are on a second page.
    external_ids = [f"SF-{2000 + n}" for n in range(105)]
    for n, external_id in enumerate(external_ids):
        at = f"2026-11-23T10:{n // 60:02d}:{n % 60:02d}Z"
        response = await storefront.http.post("/_sandbox/orders", json=storefront_order(external_id, at))
        assert response.status_code == 202, response.text

    orders = await storefront.connector.poll_orders(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))

    assert [o.external_id for o in orders] == external_ids
    assert orders[-1].payload["lineItems"] == payload("order.json")["lineItems"]
    pages = await storefront.recorded("GET", "/orders")
    assert len(pages) == 2
    assert "cursor" not in pages[0]["query"] and "cursor=100" in pages[1]["query"]


async def test_poll_orders_returns_only_orders_updated_since(storefront: Storefront) -> None:
    for external_id, at in [
        ("SF-1", "2026-11-22T23:59:59Z"),
        ("SF-2", "2026-11-23T00:00:00Z"),
        ("SF-3", "2026-11-24T08:00:00Z"),
    ]:
        await storefront.http.post("/_sandbox/orders", json=storefront_order(external_id, at))

    orders = await storefront.connector.poll_orders(datetime(2026, 11, 23, tzinfo=UTC))

    assert [o.external_id for o in orders] == ["SF-2", "SF-3"]


async def test_polled_order_cancelled_at_the_storefront_is_marked_cancelled(storefront: Storefront) -> None:
    await storefront.http.post("/_sandbox/orders", json=storefront_order("SF-1", "2026-11-23T08:00:00Z"))
    await storefront.http.post("/_sandbox/orders", json=storefront_order("SF-2", "2026-11-23T08:00:00Z"))
    # The storefront stamps the cancel with its own clock: poll from long before it.
    await storefront.http.post("/_sandbox/orders/SF-2/cancel", json={"reason": "out of stock"})

    orders = await storefront.connector.poll_orders(datetime(2000, 1, 1, tzinfo=UTC))

    assert {o.external_id: o.cancelled for o in orders} == {"SF-1": False, "SF-2": True}
    assert {o.external_id: o.payload["status"] for o in orders} == {"SF-1": "open", "SF-2": "cancelled"}


async def test_small_pages_are_read_to_the_last_one(storefront: Storefront) -> None:
    for n in range(5):
        await storefront.http.post("/_sandbox/orders", json=storefront_order(f"SF-{n}", f"2026-11-23T10:00:0{n}Z"))

    orders = await storefront.connector.client.orders_since(datetime(2026, 11, 23, tzinfo=UTC), page_size=2)

    assert [o["externalId"] for o in orders] == [f"SF-{n}" for n in range(5)]
    assert len(await storefront.recorded("GET", "/orders")) == 3


# --- failures -----------------------------------------------------------------------------------


async def test_unavailable_storefront_is_retryable_with_its_retry_after(storefront: Storefront, order: Order) -> None:
    await arm_fault(storefront, status=503, count=1, retry_after=30)

    with pytest.raises(RetryableError) as error:
        await storefront.connector.push_shipment(order, shipment())

    assert not isinstance(error.value, RateLimitedError)
    assert error.value.retry_after == 30.0
    assert "HTTP 503" in str(error.value)
    assert await fulfillments(storefront, "SF-1001") == []
    # The fault is spent: Temporal's retry of the same call records the fulfillment once.
    assert await storefront.connector.push_shipment(order, shipment()) is not None
    assert len(await fulfillments(storefront, "SF-1001")) == 1


async def test_rate_limited_storefront_gives_its_retry_after(storefront: Storefront) -> None:
    await arm_fault(storefront, status=429, count=1, retry_after=7)

    with pytest.raises(RateLimitedError) as error:
        await storefront.connector.push_inventory({"MUG-11OZ": 4})

    assert error.value.retry_after == 7.0
    assert "rate limited" in str(error.value)


async def test_rate_limit_while_polling_stops_the_poll(storefront: Storefront) -> None:
    await arm_fault(storefront, status=429, count=1, retry_after=2, path_prefix="/orders")

    with pytest.raises(RateLimitedError) as error:
        await storefront.connector.poll_orders(datetime(2026, 11, 23, tzinfo=UTC))

    assert error.value.retry_after == 2.0


async def test_wrong_api_token_is_a_permanent_error(
    storefront: Storefront, order: Order, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The token is read per call, so the rotated (here: wrong) value is the one sent.
    monkeypatch.setenv(API_TOKEN_VAR, "revoked-token")

    with pytest.raises(PermanentError) as error:
        await storefront.connector.push_shipment(order, shipment())

    assert not isinstance(error.value, RetryableError)
    assert error.value.status_code == 401
    assert "missing or wrong bearer token" in str(error.value)


async def test_unreachable_storefront_is_retryable(channel: ChannelConfig, order: Order) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        connector = StorefrontConnector(channel, http=http)
        with pytest.raises(RetryableError, match="push fulfillment for order SF-1001: ConnectError"):
            await connector.push_shipment(order, shipment())


# --- webhooks the storefront sends --------------------------------------------------------------


async def test_order_created_webhook_from_the_storefront_is_accepted_and_maps(
    storefront: Storefront, receiver: WebhookReceiver
) -> None:
    placed = (await storefront.http.post("/_sandbox/orders", json=payload("order.json"))).json()
    await storefront.webhooks_sent()

    [delivery] = receiver.received
    event = storefront.connector.parse_webhook(delivery.headers, delivery.body)

    assert event.kind is InboundKind.ORDER_CREATED
    assert (event.external_order_id, event.event_id) == ("SF-1001", placed["deliveryIds"][0])
    order = storefront.connector.map_order(
        event.payload, order_id="order/storefront/SF-1001", tenant_id=TENANT, received_at=RECEIVED_AT
    )
    assert (order.channel_id, [line.sku for line in order.line_items]) == ("storefront", ["TSHIRT-BLK-M", "MUG-11OZ"])


async def test_cancel_webhook_from_the_storefront_carries_the_reason(
    storefront: Storefront, receiver: WebhookReceiver
) -> None:
    await storefront.http.post("/_sandbox/orders", json=payload("order.json"))
    await storefront.http.post("/_sandbox/orders/SF-1001/cancel", json={"reason": "fraud suspected"})
    await storefront.webhooks_sent()

    events = [storefront.connector.parse_webhook(d.headers, d.body) for d in receiver.received]

    assert [e.kind for e in events] == [InboundKind.ORDER_CREATED, InboundKind.ORDER_CANCELLED]
    assert events[1].detail == "fraud suspected"


async def test_webhook_signed_with_another_secret_by_the_storefront_is_refused(
    storefront: Storefront, receiver: WebhookReceiver
) -> None:
    await storefront.http.post("/_sandbox/orders", params={"bad_signature": "true"}, json=payload("order.json"))
    await storefront.webhooks_sent()

    [delivery] = receiver.received
    with pytest.raises(SignatureError):
        storefront.connector.parse_webhook(delivery.headers, delivery.body)


async def test_an_order_webhook_lost_on_the_way_arrives_when_redelivered(
    storefront: Storefront, receiver: WebhookReceiver
) -> None:
    placed = await storefront.http.post("/_sandbox/orders", params={"deliver": "false"}, json=payload("order.json"))
    await storefront.webhooks_sent()
    assert receiver.received == []
    [lost] = (await storefront.http.get("/_sandbox/webhooks", params={"state": "not_delivered"})).json()
    assert (lost["webhook_id"], lost["topic"]) == (placed.json()["deliveryIds"][0], "order.created")

    response = await storefront.http.post(f"/_sandbox/webhooks/{lost['webhook_id']}/redeliver")
    await storefront.webhooks_sent()

    assert response.status_code == 200
    [delivery] = receiver.received
    event = storefront.connector.parse_webhook(delivery.headers, delivery.body)
    assert (event.kind, event.event_id, event.external_order_id) == (
        InboundKind.ORDER_CREATED,
        lost["webhook_id"],
        "SF-1001",
    )
