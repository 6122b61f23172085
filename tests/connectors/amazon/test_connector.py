"""The connector's lifecycle rules against the sandbox: a notification is only a trigger (the
order read back decides), Pending orders are not started, a cancel while Pending ends cleanly, a
buyer's cancel request is a cancel, the poll asks for what can ship or was cancelled, each parcel
is one confirmation (a retry the same package), refusals are the tracking push's, and
availability is merged per SKU."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.amazon import AmazonConnector
from connectors.base import InboundEvent, InboundKind, PermanentError, RejectedError
from orderloop.model import Order
from tests.connectors.amazon.conftest import ORDER, RECEIVED_AT, TENANT, parcel
from tests.connectors.contract.sandbox_session import SandboxSession

SINCE = datetime(2000, 1, 1, tzinfo=UTC)


async def delivered(connector: AmazonConnector, session: SandboxSession, mark: int) -> list[InboundEvent]:
    """The notifications sent since `mark`, parsed and confirmed as the gateway does."""
    found = await session.webhooks_since(mark, "ORDER_CHANGE")
    return [await connector.confirm_event(connector.parse_webhook(w.headers, w.body)) for w in found]


async def order_reads(session: SandboxSession) -> int:
    reads = await session.control("GET", "/_sandbox/requests", params={"path_prefix": "/orders/2026-01-01/orders/"})
    return len(reads)


async def place(session: SandboxSession, **params: str) -> dict[str, Any]:
    """An order placed, once its own ORDER_CHANGE has arrived (so later marks exclude it)."""
    mark = session.mark()
    placed: dict[str, Any] = await session.control("POST", "/_sandbox/orders", params=params, json=ORDER)
    await session.webhooks_since(mark, "ORDER_CHANGE")
    return placed


def mapped(connector: AmazonConnector, raw: dict[str, Any]) -> Order:
    return connector.map_order(
        raw, order_id=f"order/amazon/{raw['orderId']}", tenant_id=TENANT, received_at=RECEIVED_AT
    )


async def test_a_pending_order_is_held_and_starts_only_once_amazon_marks_it_unshipped(
    connector: AmazonConnector, session: SandboxSession
) -> None:
    mark = session.mark()
    placed = await session.control("POST", "/_sandbox/orders", params={"pending": "true"}, json=ORDER)
    [pending] = await delivered(connector, session, mark)
    assert pending.kind is InboundKind.IGNORED and "not started until" in str(pending.detail)
    # Held by Amazon: the event carries the hold the gateway records.
    assert pending.hold is not None and pending.hold.status == "Pending" and pending.hold.reason == pending.detail
    # The hint alone decided: no order read spent on a Pending order.
    assert await order_reads(session) == 0
    [held] = await connector.poll_orders(SINCE)
    assert (held.external_id, held.cancelled) == (placed["id"], False)
    assert held.hold is not None and held.hold.status == "PENDING" and "payment authorised" in held.hold.reason

    mark = session.mark()
    await session.control("POST", f"/_sandbox/orders/{placed['id']}/authorize")
    [ready] = await delivered(connector, session, mark)

    assert ready.kind is InboundKind.ORDER_CREATED and ready.external_order_id == placed["id"]
    assert ready.payload["orderId"] == placed["id"] and ready.payload["recipient"]["deliveryAddress"]
    assert mapped(connector, ready.payload).shipping_address is not None
    [polled] = await connector.poll_orders(SINCE)
    assert (polled.external_id, polled.cancelled, polled.updated_at, polled.hold) == (placed["id"], False, None, None)


async def test_an_order_cancelled_while_pending_is_a_cancel_never_a_start(
    connector: AmazonConnector, session: SandboxSession
) -> None:
    placed = await place(session, pending="true")
    mark = session.mark()
    await session.control("POST", f"/_sandbox/orders/{placed['id']}/cancel", json={"reason": "Payment failed"})

    [cancelled] = await delivered(connector, session, mark)
    [polled] = await connector.poll_orders(SINCE)

    assert cancelled.kind is InboundKind.ORDER_CANCELLED and cancelled.detail == "cancelled at Amazon"
    assert polled.cancelled and polled.external_id == placed["id"] and polled.hold is None


async def test_a_buyer_cancel_request_is_the_channels_cancel_with_the_reason(
    connector: AmazonConnector, session: SandboxSession
) -> None:
    placed = await place(session)
    mark = session.mark()
    await session.control("POST", f"/_sandbox/orders/{placed['id']}/buyer-cancel", json={"reason": "Found it cheaper"})

    [event] = await delivered(connector, session, mark)
    [polled] = await connector.poll_orders(SINCE)

    assert event.kind is InboundKind.ORDER_CANCELLED
    assert event.detail == "buyer requested cancel at Amazon: Found it cheaper"
    assert polled.cancelled


async def test_a_notification_the_order_does_not_bear_out_is_ignored(
    connector: AmazonConnector, session: SandboxSession
) -> None:
    placed = await session.control("POST", "/_sandbox/orders", json=ORDER)
    [webhook] = await session.webhooks_since(0, "ORDER_CHANGE")
    document = json.loads(webhook.body)
    document["Payload"]["OrderChangeNotification"]["AmazonOrderId"] = "999-0000000-0000000"
    forged = connector.parse_webhook(webhook.headers, json.dumps(document).encode())
    # A forged "Canceled" for a real order: the order read back is Unshipped, so it is no cancel.
    document["Payload"]["OrderChangeNotification"]["AmazonOrderId"] = placed["id"]
    document["Payload"]["OrderChangeNotification"]["Summary"]["OrderStatus"] = "Canceled"
    stale = connector.parse_webhook(webhook.headers, json.dumps(document).encode())

    unknown, real = await connector.confirm_event(forged), await connector.confirm_event(stale)

    assert unknown.kind is InboundKind.IGNORED and "no such order" in str(unknown.detail)
    assert stale.kind is InboundKind.ORDER_CANCELLED and real.kind is InboundKind.ORDER_CREATED


async def test_each_parcel_is_one_confirmation_and_a_retry_confirms_the_same_package(
    connector: AmazonConnector, session: SandboxSession
) -> None:
    placed = await session.control("POST", "/_sandbox/orders", json=ORDER)
    order = mapped(connector, placed["order"])
    first, second = parcel(order, "SHP-1", slice(0, 1)), parcel(order, "SHP-2", slice(1, None), carrier="Acme Freight")

    one = await connector.push_shipment(order, first)
    again = await connector.push_shipment(order, first)
    # Partly shipped, it is still polled (a buyer's cancel of the rest would be seen); shipped, no more.
    assert [(p.external_id, p.cancelled) for p in await connector.poll_orders(SINCE)] == [(placed["id"], False)]
    two = await connector.push_shipment(order, second)
    assert await connector.poll_orders(SINCE) == []

    packages = await session.control("GET", "/_sandbox/packages", params={"order": placed["id"]})
    assert one == again != two
    assert [(p["packageReferenceId"], p["carrierCode"], p.get("carrierName")) for p in packages] == [
        (one, "UPS", None),
        (two, "Other", "Acme Freight"),
    ]
    assert (await session.control("GET", f"/_sandbox/orders/{placed['id']}"))["fulfillment"][
        "fulfillmentStatus"
    ] == "SHIPPED"


async def test_a_refused_confirmation_is_a_rejection_not_a_retry(
    connector: AmazonConnector, session: SandboxSession
) -> None:
    placed = await session.control("POST", "/_sandbox/orders", json=ORDER)
    order = mapped(connector, placed["order"])
    bad = parcel(order, "SHP-3").model_copy(update={"tracking_numbers": ["??"]})

    with pytest.raises(RejectedError) as refused:
        await connector.push_shipment(order, bad)

    assert refused.value.status_code == 400 and "InvalidInput: Invalid trackingNumber" in str(refused.value)
    assert await session.control("GET", "/_sandbox/packages", params={"order": placed["id"]}) == []


async def test_availability_is_merged_per_sku_and_an_unlisted_sku_skipped(
    connector: AmazonConnector, session: SandboxSession
) -> None:
    await session.control(
        "POST", "/_sandbox/listings", json={"sku": "LAMP-1", "quantity": 1, "restock_date": "2026-12-20"}
    )

    await connector.push_inventory({"LAMP-1": 6, "NOT-LISTED": 3, "MUG-11OZ": 0})

    listings = await session.control("GET", "/_sandbox/listings")
    assert listings["quantities"]["LAMP-1"] == 6 and listings["quantities"]["MUG-11OZ"] == 0
    lamp = next(item for item in listings["listings"] if item["sku"] == "LAMP-1")
    assert lamp["attributes"]["fulfillment_availability"][0]["restock_date"] == "2026-12-20"
    assert "NOT-LISTED" not in listings["quantities"]
    patches = await session.control("GET", "/_sandbox/requests", params={"method": "PATCH"})
    assert sorted((p["path"].rsplit("/", 1)[1], p["status"]) for p in patches) == [
        ("LAMP-1", 200),
        ("MUG-11OZ", 200),
        ("NOT-LISTED", 404),
    ]


async def test_an_outage_of_the_listing_api_is_not_swallowed(
    connector: AmazonConnector, session: SandboxSession
) -> None:
    await session.control("POST", "/_sandbox/faults", json={"status": 500, "count": 5})

    with pytest.raises(Exception) as failed:
        await connector.push_inventory({"MUG-11OZ": 2})

    assert not isinstance(failed.value, PermanentError)
