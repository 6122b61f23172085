"""ShipHero webhook verification and parsing: the base64 HMAC of the raw body, the message id as
the event id, each type to its event kind, bad input refused with the reason."""

from __future__ import annotations

import json

import pytest

from connectors.base import InboundEvent, InboundKind, PayloadError, SignatureError
from connectors.shiphero.mapping import ShipHeroSettings
from connectors.shiphero.webhooks import MESSAGE_ID_HEADER, SIGNATURE_HEADER, parse_webhook, signature
from tests.connectors.shiphero.conftest import WAREHOUSES, WEBHOOK_SECRET, fixture

SETTINGS = ShipHeroSettings(warehouses=WAREHOUSES)


def delivered(payload: object, secret: str = WEBHOOK_SECRET) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    return {SIGNATURE_HEADER: signature(secret, body), MESSAGE_ID_HEADER: "msg-1"}, body


def parse(headers: dict[str, str], body: bytes) -> InboundEvent:
    return parse_webhook(WEBHOOK_SECRET, headers, body, SETTINGS, "shiphero")


def test_shipment_update_is_a_shipment_event_under_its_message_id() -> None:
    event = parse(*delivered(fixture("shipment_update.json")))

    assert event.kind is InboundKind.SHIPMENT and event.event_id == "msg-1"
    assert event.shipment is not None and event.shipment.shipping_request_id == "order/storefront/1001/sr1"
    assert event.detail == "package 2 of 2"


def test_order_canceled_names_our_request() -> None:
    event = parse(*delivered(fixture("order_canceled.json")))

    assert event.kind is InboundKind.SHIPMENT_CANCELLED
    assert event.shipping_request_id == "order/storefront/1001/sr1"


def test_inventory_update_carries_absolute_levels() -> None:
    event = parse(*delivered(fixture("inventory_update.json")))

    assert event.kind is InboundKind.INVENTORY
    assert [(r.sku, r.on_hand, r.location_ref) for r in event.stock] == [("MUG-11OZ", 290, "east")]


def test_other_types_are_ignored() -> None:
    event = parse(*delivered({"webhook_type": "Tote Complete", "tote_id": "T1"}))

    assert event.kind is InboundKind.IGNORED and event.detail == "type Tote Complete"


@pytest.mark.parametrize("change", ["body", "secret", "missing"])
def test_a_delivery_that_does_not_verify_is_a_signature_error(change: str) -> None:
    headers, body = delivered(fixture("shipment_update.json"), "other-secret" if change == "secret" else WEBHOOK_SECRET)
    if change == "body":
        body = body.replace(b'"quantity": 1', b'"quantity": 9')
    if change == "missing":
        del headers[SIGNATURE_HEADER]

    with pytest.raises(SignatureError) as refused:
        parse(headers, body)
    assert refused.value.status_code == 401


def test_a_signed_body_without_webhook_type_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="webhook_type"):
        parse(*delivered({"fulfillment": {}}))


def test_a_shipment_update_without_line_items_is_a_payload_error() -> None:
    payload = fixture("shipment_update.json")
    payload["fulfillment"]["line_items"] = []

    with pytest.raises(PayloadError, match="no line item"):
        parse(*delivered(payload))
