"""TikTok notifications: the `Authorization` signature (hex HMAC-SHA256 of app key + raw body,
keyed by the app secret) verified first, then the `type` and order status deciding the event;
`confirm_event`'s reading of the order deciding what the gateway does with it."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base import InboundEvent, InboundKind, PayloadError, SignatureError
from connectors.tiktok.webhooks import SIGNATURE_HEADER, confirmed, parse_webhook
from tests.connectors.tiktok.conftest import APP_KEY, APP_SECRET, SHOP_ID, payload, raw_payload


def signed(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    # The scheme written out independently of the connector's helper.
    digest = hmac.new(secret.encode(), APP_KEY.encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", SIGNATURE_HEADER: digest}


def parsed(body: bytes, headers: dict[str, str] | None = None) -> InboundEvent:
    return parse_webhook(APP_KEY, APP_SECRET, headers or signed(body), body, SHOP_ID)


def status_change(status: str) -> bytes:
    document = payload("order_status_change.json")
    document["data"]["order_status"] = status
    return json.dumps(document).encode()


def test_awaiting_shipment_notification_is_an_order_created_event_keyed_by_its_notification_id() -> None:
    event = parsed(raw_payload("order_status_change.json"))

    assert event.kind is InboundKind.ORDER_CREATED
    assert event.event_id == "7327112000000000001"
    assert event.external_order_id == "576461413038785752"
    assert event.occurred_at is not None and int(event.occurred_at.timestamp()) == 1764156000


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("ON_HOLD", InboundKind.IGNORED),
        ("UNPAID", InboundKind.IGNORED),
        ("CANCELLED", InboundKind.ORDER_CANCELLED),
        ("IN_TRANSIT", InboundKind.IGNORED),
    ],
)
def test_status_changes_map_to_their_events(status: str, kind: InboundKind) -> None:
    assert parsed(status_change(status)).kind is kind


def test_on_hold_notification_says_the_order_starts_once_awaiting_shipment() -> None:
    event = parsed(status_change("ON_HOLD"))

    assert event.detail is not None and "remorse window" in event.detail and "AWAITING_SHIPMENT" in event.detail


def test_address_update_is_an_order_update() -> None:
    event = parsed(raw_payload("recipient_address_update.json"))

    assert (event.kind, event.external_order_id) == (InboundKind.ORDER_UPDATED, "576461413038785752")


def test_a_pending_cancellation_request_is_the_orders_case_with_tiktoks_deadline() -> None:
    event = parsed(raw_payload("cancellation_status_change.json"))

    assert event.kind is InboundKind.ORDER_EXCEPTION
    case = event.channel_exception
    assert case is not None
    assert (case.kind, case.reference) == ("cancellation_requested", "4035318000000000001")
    assert case.deadline == datetime(2025, 11, 28, 11, 53, 20, tzinfo=UTC)
    assert "CANCELLATION_REQUEST_PENDING" in case.message and "2025-11-28T11:53:20+00:00" in case.message


def test_a_decided_cancellation_is_ignored_with_its_status() -> None:
    payload = json.loads(raw_payload("cancellation_status_change.json"))
    payload["data"]["cancel_status"] = "CANCELLATION_REQUEST_SUCCESS"
    event = parsed(json.dumps(payload).encode())

    assert event.kind is InboundKind.IGNORED and event.channel_exception is None
    assert event.detail is not None and "CANCELLATION_REQUEST_SUCCESS" in event.detail


BODY = raw_payload("order_status_change.json")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        signed(b"{}"),
        signed(BODY, secret="not-the-app-secret"),
        {SIGNATURE_HEADER: f"Bearer {signed(BODY)[SIGNATURE_HEADER]}"},
    ],
    ids=["missing", "other body", "other secret", "with a scheme word"],
)
def test_unsigned_or_wrongly_signed_notification_is_refused_401(headers: dict[str, str]) -> None:
    with pytest.raises(SignatureError) as refused:
        parse_webhook(APP_KEY, APP_SECRET, headers, BODY, SHOP_ID)
    assert refused.value.status_code == 401


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.pop("tts_notification_id"), "tts_notification_id"),
        (lambda d: d["data"].pop("order_id"), "order_id"),
        (lambda d: d.update(shop_id="1"), "this channel is the shop"),
        (lambda d: d.update(type="x"), "type"),
    ],
)
def test_malformed_notification_is_refused_400_with_the_reason(change: Any, reason: str) -> None:
    document = payload("order_status_change.json")
    change(document)
    body = json.dumps(document).encode()

    with pytest.raises(PayloadError, match=reason) as refused:
        parsed(body)
    assert refused.value.status_code == 400


def order(**changes: Any) -> dict[str, Any]:
    return {**payload("order.json"), **changes}


def test_confirmed_event_carries_the_order_read_back_and_its_update_time() -> None:
    event = confirmed(parsed(raw_payload("order_status_change.json")), order(update_time=1764159999))

    assert event.kind is InboundKind.ORDER_CREATED
    assert event.payload["id"] == "576461413038785752" and "line_items" in event.payload
    assert event.occurred_at is not None and int(event.occurred_at.timestamp()) == 1764159999


def test_a_late_awaiting_shipment_notification_of_an_order_cancelled_since_is_its_cancel() -> None:
    event = confirmed(parsed(raw_payload("order_status_change.json")), order(status="CANCELLED", cancel_reason="Buyer"))

    assert event.kind is InboundKind.ORDER_CANCELLED
    assert event.detail == "cancelled in TikTok Shop (Buyer)"


def test_an_address_update_of_an_order_still_on_hold_starts_nothing() -> None:
    event = confirmed(parsed(raw_payload("recipient_address_update.json")), order(status="ON_HOLD"))

    assert event.kind is InboundKind.IGNORED


def test_an_address_update_after_shipping_started_still_reaches_the_order_as_an_edit() -> None:
    event = confirmed(parsed(raw_payload("recipient_address_update.json")), order(status="PARTIALLY_SHIPPING"))

    assert event.kind is InboundKind.ORDER_UPDATED


def test_an_order_tiktok_fulfils_itself_starts_nothing() -> None:
    fbt = order(fulfillment_type="FULFILLMENT_BY_TIKTOK")

    assert confirmed(parsed(raw_payload("order_status_change.json")), fbt).kind is InboundKind.IGNORED
