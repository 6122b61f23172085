"""ORDER_CHANGE as the relay forwards it: the SQS body or the EventBridge event, accepted only
with the channel's key, read as a hint of what happened to which order, deduplicated by its
NotificationId."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from connectors.amazon.notifications import parse_notification
from connectors.base import InboundKind, PayloadError, SignatureError
from tests.connectors.amazon.conftest import KEY_HEADER, NOTIFICATION_KEY, payload

NOTIFICATION_ID = "6c2a61c4-2a8f-4b1e-9f33-1d2e5a7b9c10"


def parse(document: dict[str, Any], key: str | None = NOTIFICATION_KEY) -> Any:
    headers = httpx.Headers({KEY_HEADER: key} if key is not None else {})
    return parse_notification(NOTIFICATION_KEY, KEY_HEADER, headers, json.dumps(document).encode())


def with_status(status: str, change_type: str = "OrderStatusChange") -> dict[str, Any]:
    document = payload("order_change_buyer_cancel.json")
    change = document["Payload"]["OrderChangeNotification"]
    change["OrderChangeType"] = change_type
    change["Summary"]["OrderStatus"] = status
    for item in change["Summary"]["OrderItems"]:
        item["IsBuyerRequestedCancel"] = False
    return document


def test_a_buyer_requested_cancel_is_a_cancel_hint_for_its_order() -> None:
    event = parse(payload("order_change_buyer_cancel.json"))

    assert event.kind is InboundKind.ORDER_CANCELLED
    assert event.external_order_id == "113-7012345-6789012"
    assert event.event_id == NOTIFICATION_ID
    assert event.occurred_at is not None and event.occurred_at.isoformat() == "2026-11-23T15:42:01+00:00"
    assert event.payload == payload("order_change_buyer_cancel.json")


def test_an_eventbridge_event_carries_the_same_notification_in_detail() -> None:
    notification = payload("order_change_buyer_cancel.json")
    envelope = {
        "version": "0",
        "id": "b1c2",
        "detail-type": "ORDER_CHANGE",
        "source": "aws.partner/sellingpartnerapi.amazon.com/amzn1.sp.solution.x",
        "detail": notification,
    }

    event = parse(envelope)

    assert (event.kind, event.event_id, event.external_order_id) == (
        InboundKind.ORDER_CANCELLED,
        NOTIFICATION_ID,
        "113-7012345-6789012",
    )


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("Pending", InboundKind.IGNORED),
        ("PendingAvailability", InboundKind.IGNORED),
        ("Unshipped", InboundKind.ORDER_CREATED),
        ("Canceled", InboundKind.ORDER_CANCELLED),
        ("Shipped", InboundKind.IGNORED),
    ],
)
def test_the_summary_status_is_the_hint(status: str, kind: InboundKind) -> None:
    event = parse(with_status(status))

    assert event.kind is kind
    assert event.external_order_id == "113-7012345-6789012"


def test_another_notification_type_is_ignored_but_kept() -> None:
    document = {"NotificationType": "ANY_OFFER_CHANGED", "NotificationMetadata": {"NotificationId": "n-2"}}

    event = parse(document)

    assert (event.kind, event.event_id, event.detail) == (
        InboundKind.IGNORED,
        "n-2",
        "ANY_OFFER_CHANGED needs no action",
    )


@pytest.mark.parametrize(("key", "reason"), [(None, "missing x-api-key"), ("guess", "wrong x-api-key")])
def test_without_the_channel_key_the_delivery_is_refused_as_401(key: str | None, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason) as refused:
        parse(payload("order_change_buyer_cancel.json"), key=key)
    assert refused.value.status_code == 401


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.pop("NotificationMetadata"), "NotificationId is missing"),
        (lambda d: d["Payload"]["OrderChangeNotification"].pop("AmazonOrderId"), "without AmazonOrderId"),
        (lambda d: d.pop("NotificationType"), "no SP-API notification"),
    ],
)
def test_a_malformed_notification_is_a_400_with_the_reason(change: Any, reason: str) -> None:
    document = payload("order_change_buyer_cancel.json")
    change(document)

    with pytest.raises(PayloadError, match=reason) as refused:
        parse(document)
    assert refused.value.status_code == 400
