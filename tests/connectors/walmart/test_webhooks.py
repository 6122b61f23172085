"""ORDER_UPDATES notifications: the HMAC of an HMAC subscription is verified before anything is
read, and the sub-event decides what the gateway does."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base import InboundKind, PayloadError, SignatureError
from connectors.walmart.webhooks import parse_webhook, signature
from tests.connectors.walmart.conftest import CLIENT_SECRET, payload

HEADER = "Authorization"


def delivered(document: Any, sign: str | None = None) -> tuple[dict[str, str], bytes]:
    body = json.dumps(document).encode()
    return {HEADER: sign if sign is not None else signature(CLIENT_SECRET, body)}, body


def test_intent_to_cancel_is_an_order_cancel_with_the_customers_reason() -> None:
    headers, body = delivered(payload("intent_to_cancel.json"))

    event = parse_webhook(CLIENT_SECRET, HEADER, headers, body)

    assert event.kind is InboundKind.ORDER_CANCELLED
    assert event.external_order_id == "1796277083022"
    assert event.event_id == "8f3c5a6e-2b1d-4c7a-9e10-5d2f8b7a6c41"
    assert event.occurred_at == datetime(2026, 11, 23, 15, 2, 11, 204000, tzinfo=UTC)
    assert event.detail == "the customer asked Walmart to cancel (CUSTOMER_CHANGED_MIND)"


def test_a_hex_digest_is_accepted_too() -> None:
    body = json.dumps(payload("intent_to_cancel.json")).encode()
    hex_digest = hmac.new(CLIENT_SECRET.encode(), body, hashlib.sha256).hexdigest()

    assert parse_webhook(CLIENT_SECRET, HEADER, {HEADER: hex_digest}, body).kind is InboundKind.ORDER_CANCELLED


@pytest.mark.parametrize(
    ("headers", "reason"),
    [({}, "missing Authorization header"), ({HEADER: "bm90IGl0"}, "does not match the body")],
)
def test_a_missing_or_wrong_signature_is_refused(headers: dict[str, str], reason: str) -> None:
    _, body = delivered(payload("intent_to_cancel.json"))

    with pytest.raises(SignatureError, match=reason):
        parse_webhook(CLIENT_SECRET, HEADER, headers, body)


def with_sub_event(sub_event: str, statuses: list[str]) -> dict[str, Any]:
    document = copy.deepcopy(payload("intent_to_cancel.json"))
    document["payload"]["meta"]["subEventType"] = sub_event
    line = document["payload"]["order"]["orderLines"][0]
    document["payload"]["order"]["orderLines"] = [
        {**line, "lineNumber": str(n), "status": s} for n, s in enumerate(statuses, 1)
    ]
    return document


@pytest.mark.parametrize(
    ("sub_event", "statuses", "kind"),
    [
        ("PO_CREATED", ["CREATED"], InboundKind.ORDER_CREATED),
        ("PO_LINE_AUTOCANCELLED", ["CANCELLED", "CREATED"], InboundKind.ORDER_UPDATED),
        ("PO_LINE_AUTOCANCELLED", ["CANCELLED", "CANCELLED"], InboundKind.ORDER_CANCELLED),
        ("FRAUD_CANCEL", ["CANCELLED"], InboundKind.ORDER_CANCELLED),
        ("PO_SHIPPED_SOMEDAY", ["CREATED"], InboundKind.IGNORED),
    ],
)
def test_the_sub_event_decides_the_kind(sub_event: str, statuses: list[str], kind: InboundKind) -> None:
    headers, body = delivered(with_sub_event(sub_event, statuses))

    event = parse_webhook(CLIENT_SECRET, HEADER, headers, body)

    assert event.kind is kind
    assert event.external_order_id == "1796277083022"


def test_a_signed_body_that_is_not_a_notification_is_a_payload_error() -> None:
    headers, body = delivered({"purchaseOrderId": "1"})

    with pytest.raises(PayloadError, match="source and a payload"):
        parse_webhook(CLIENT_SECRET, HEADER, headers, body)


def test_a_notification_without_purchase_order_id_is_a_payload_error() -> None:
    document = with_sub_event("PO_CREATED", ["CREATED"])
    del document["payload"]["order"]["purchaseOrderId"]
    headers, body = delivered(document)

    with pytest.raises(PayloadError, match="purchaseOrderId is missing"):
        parse_webhook(CLIENT_SECRET, HEADER, headers, body)
