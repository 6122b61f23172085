"""The connector against the TikTok sandbox: the buyer's remorse window (nothing starts while
ON_HOLD; a cancel in it means the order never starts), buyer cancellation requests approved,
rejected or lapsing at TikTok's deadline, address updates reaching the order as an edit, packages
per parcel with the provider found by name, and per-SKU inventory errors reported."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from structlog.testing import capture_logs

from connectors.base import InboundEvent, InboundKind, RejectedError
from connectors.tiktok import TikTokConnector
from connectors.tiktok.webhooks import NotificationType
from orderloop.model import Order
from tests.connectors.contract.sandbox_session import SandboxSession
from tests.connectors.contract.steps import shipment_of
from tests.connectors.tiktok.conftest import ADDRESS, RECEIVED_AT, TENANT
from tests.connectors.tiktok.contract_harness import wait_for

Pair = tuple[SandboxSession, TikTokConnector]
ORDER = {"line_items": [{"sku": "TSHIRT-BLK-M", "quantity": 2}, {"sku": "MUG-11OZ"}], "shipping_address": ADDRESS}
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


async def place(session: SandboxSession, **body: Any) -> dict[str, Any]:
    """Place an order and wait for its first notification (so later marks miss it)."""
    mark = session.mark()
    result: dict[str, Any] = await session.control("POST", "/_sandbox/orders", json={**ORDER, **body})
    await wait_for(session, mark, NotificationType.ORDER_STATUS_CHANGE)
    return result


async def delivered(pair: Pair, mark: int, kind: NotificationType, count: int = 1) -> list[InboundEvent]:
    """The notifications of `kind` since `mark`, verified, parsed and confirmed as the gateway does."""
    session, connector = pair
    found = await wait_for(session, mark, kind, count)
    return [await connector.confirm_event(connector.parse_webhook(w.headers, w.body)) for w in found]


def mapped(connector: TikTokConnector, event: InboundEvent) -> Order:
    return connector.map_order(event.payload, order_id="order/tiktok/x", tenant_id=TENANT, received_at=RECEIVED_AT)


async def test_an_order_on_hold_is_held_and_starts_only_once_tiktok_moves_it_to_awaiting_shipment(tiktok: Pair) -> None:
    session, connector = tiktok
    await session.configure(on_hold_seconds=3600)
    mark = session.mark()
    order = await place(session)

    [on_hold] = await delivered(tiktok, mark, NotificationType.ORDER_STATUS_CHANGE)
    assert on_hold.kind is InboundKind.IGNORED
    assert on_hold.hold is not None and on_hold.hold.status == "ON_HOLD"
    assert "buyer's remorse window" in on_hold.hold.reason
    [held] = await connector.poll_orders(LONG_AGO)
    assert held.external_id == order["id"] and held.hold == on_hold.hold and not held.cancelled

    await session.control("POST", f"/_sandbox/orders/{order['id']}/release")

    _, released = await delivered(tiktok, mark, NotificationType.ORDER_STATUS_CHANGE, 2)
    assert (released.kind, released.external_order_id) == (InboundKind.ORDER_CREATED, order["id"])
    assert mapped(connector, released).ship_by_date is not None
    [polled] = await connector.poll_orders(LONG_AGO)
    assert (polled.external_id, polled.cancelled, polled.hold) == (order["id"], False, None)


async def test_a_buyer_cancel_while_on_hold_applies_at_once_and_the_order_never_starts(tiktok: Pair) -> None:
    session, connector = tiktok
    await session.configure(on_hold_seconds=3600)
    mark = session.mark()
    order = await place(session)

    answer = await session.control("POST", f"/_sandbox/orders/{order['id']}/buyer_cancel", json={"reason": "Oops"})

    assert answer["cancellation"] is None
    _, cancelled = await delivered(tiktok, mark, NotificationType.ORDER_STATUS_CHANGE, 2)
    assert cancelled.kind is InboundKind.ORDER_CANCELLED
    [polled] = await connector.poll_orders(LONG_AGO)
    assert polled.cancelled


async def test_an_address_change_after_start_reaches_the_order_as_an_edit_with_the_new_address(tiktok: Pair) -> None:
    session, connector = tiktok
    order = await place(session)
    mark = session.mark()
    moved = {**ADDRESS, "address1": "1 Infinite Loop", "city": "Cupertino", "stateOrProvince": "CA"}

    await session.control("POST", f"/_sandbox/orders/{order['id']}/address", json=moved)

    [edit] = await delivered(tiktok, mark, NotificationType.RECIPIENT_ADDRESS_UPDATE)
    assert edit.kind is InboundKind.ORDER_UPDATED
    address = mapped(connector, edit).shipping_address
    assert address is not None and (address.address1, address.city) == ("1 Infinite Loop", "Cupertino")
    [polled] = await connector.poll_orders(LONG_AGO)
    assert polled.updated_at is not None and polled.created_at is not None and polled.updated_at > polled.created_at


async def buyer_request(pair: Pair) -> tuple[dict[str, Any], dict[str, Any]]:
    session, connector = pair
    order = await place(session)
    await session.control("POST", f"/_sandbox/orders/{order['id']}/buyer_cancel", json={"reason": "Changed my mind"})
    [cancellation] = await connector.cancellation_requests(order["id"])
    return order, cancellation


async def test_a_buyer_request_after_start_awaits_the_seller_and_approval_cancels_the_order(tiktok: Pair) -> None:
    session, connector = tiktok
    order, cancellation = await buyer_request(tiktok)
    assert cancellation["cancel_status"] == "CANCELLATION_REQUEST_PENDING"
    assert cancellation["cancel_order_sla_time"] > cancellation["create_time"]
    mark = session.mark()

    await connector.approve_cancellation(cancellation["cancel_id"], "key-1")
    await connector.approve_cancellation(cancellation["cancel_id"], "key-1")  # a retried call

    [cancelled] = await delivered(tiktok, mark, NotificationType.ORDER_STATUS_CHANGE)
    assert cancelled.kind is InboundKind.ORDER_CANCELLED
    with pytest.raises(RejectedError, match="CANCELLATION_REQUEST_SUCCESS"):
        await connector.approve_cancellation(cancellation["cancel_id"], "key-2")
    assert (await session.control("GET", f"/_sandbox/orders/{order['id']}"))["status"] == "CANCELLED"


async def test_a_rejected_buyer_request_leaves_the_order_to_ship(tiktok: Pair) -> None:
    session, connector = tiktok
    order, cancellation = await buyer_request(tiktok)

    await connector.reject_cancellation(cancellation["cancel_id"], "Package already shipped", "sent", "key-1")

    state = await session.control("GET", f"/_sandbox/orders/{order['id']}")
    assert (state["status"], state["is_buyer_request_cancel"]) == ("AWAITING_SHIPMENT", False)
    [after] = await connector.cancellation_requests(order["id"])
    assert after["cancel_status"] == "CANCELLATION_REQUEST_CANCEL"


async def test_a_buyer_request_the_seller_lets_lapse_is_approved_by_tiktok_at_the_deadline(tiktok: Pair) -> None:
    session, _ = tiktok
    await session.configure(cancel_sla_hours=0.0001)  # 0.36 s
    mark = session.mark()
    order, _ = await buyer_request(tiktok)

    # The order's AWAITING_SHIPMENT notification, then its CANCELLED one at the deadline.
    _, cancelled = await delivered(tiktok, mark, NotificationType.ORDER_STATUS_CHANGE, 2)

    assert (cancelled.kind, cancelled.external_order_id) == (InboundKind.ORDER_CANCELLED, order["id"])


async def test_each_parcel_becomes_one_package_with_the_provider_found_by_name(tiktok: Pair) -> None:
    session, connector = tiktok
    mark = session.mark()
    await place(session)
    [event] = await delivered(tiktok, mark, NotificationType.ORDER_STATUS_CHANGE)
    order = mapped(connector, event)

    first = await connector.push_shipment(order, shipment_of(order, "S1", slice(0, 1)))
    second = await connector.push_shipment(order, shipment_of(order, "S2", slice(1, None)))

    packages = await session.control("GET", "/_sandbox/packages", params={"order": order.external_id})
    assert [p["id"] for p in packages] == [first, second]
    assert [len(p["order_line_item_ids"]) for p in packages] == [2, 1]
    assert {p["shipping_provider_id"] for p in packages} == {"6617675021119438849"}  # UPS
    assert (await session.control("GET", f"/_sandbox/orders/{order.external_id}"))["status"] == "IN_TRANSIT"


async def test_a_carrier_tiktok_does_not_offer_is_refused_naming_the_providers(tiktok: Pair) -> None:
    session, connector = tiktok
    mark = session.mark()
    await place(session)
    [event] = await delivered(tiktok, mark, NotificationType.ORDER_STATUS_CHANGE)
    order = mapped(connector, event)
    parcel = shipment_of(order, "S1", slice(None)).model_copy(update={"shipping_carrier": "Pigeon Post"})

    with pytest.raises(RejectedError, match="UPS, USPS, FedEx"):
        await connector.push_shipment(order, parcel)
    assert await session.control("GET", "/_sandbox/packages") == []


async def test_per_sku_inventory_errors_are_reported_and_the_other_skus_set(tiktok: Pair) -> None:
    session, connector = tiktok
    await connector.push_inventory({"MUG-11OZ": 1})  # the catalogue is read now
    shop = session.app.state.sandbox
    product, _ = shop.sku_by_seller_sku("POSTER-A2")
    product["status"] = "SELLER_DEACTIVATED"  # taken off sale in TikTok since

    with capture_logs() as logs:
        await connector.push_inventory({"POSTER-A2": 4, "MUG-11OZ": 9, "NOT-SOLD-HERE": 2})

    levels = (await session.control("GET", "/_sandbox/inventory"))["levels"]
    assert (levels["MUG-11OZ"], levels["POSTER-A2"]) == (9, 0)
    [refused] = [e for e in logs if e["event"] == "tiktok.inventory_refused"]
    assert refused["code"] == 12052001 and refused["detail"]["sku_id"] == product["skus"][0]["id"]
    [unknown] = [e for e in logs if e["event"] == "tiktok.inventory_sku_unknown"]
    assert unknown["skus"] == ["NOT-SOLD-HERE"]


async def test_notifications_are_signed_over_app_key_and_body_and_redelivered_with_the_same_id(tiktok: Pair) -> None:
    session, connector = tiktok
    mark = session.mark()
    await place(session, email="ada@example.com")
    [first] = await wait_for(session, mark, NotificationType.ORDER_STATUS_CHANGE)
    notification_id = json.loads(first.body)["tts_notification_id"]

    await session.control("POST", f"/_sandbox/webhooks/{notification_id}/redeliver")

    _, again = await wait_for(session, mark, NotificationType.ORDER_STATUS_CHANGE, 2)
    assert again.body == first.body
    assert connector.parse_webhook(again.headers, again.body).event_id == notification_id
