"""RyderShip webhooks: `X-WHIPLASH-SIGNATURE` verification and what each event becomes."""

from __future__ import annotations

import json

import pytest

from connectors.base import InboundEvent, InboundKind, PayloadError, SignatureError
from connectors.rydership import mapping
from connectors.rydership.webhooks import SIGNATURE_HEADER, parse_webhook, signature
from orderloop.config import ChannelConfig
from orderloop.contracts import FulfillmentStatus
from tests.connectors.rydership.conftest import CLIENT_SECRET, fixture_bytes


def parse(channel: ChannelConfig, body: bytes, secret: str = CLIENT_SECRET, sign: str | None = None) -> InboundEvent:
    headers = {SIGNATURE_HEADER: sign if sign is not None else signature(secret, body)}
    return parse_webhook(CLIENT_SECRET, headers, body, mapping.settings_of(channel), "rydership")


def test_order_shipped_is_a_shipment_with_a_stable_event_id(channel: ChannelConfig) -> None:
    body = fixture_bytes("order_shipped.json")
    event = parse(channel, body)
    assert event.kind is InboundKind.SHIPMENT
    assert event.shipment is not None and event.shipment.id == "rydership-4100123"
    assert event.event_id == parse(channel, body).event_id


def test_order_attention_is_an_exception_with_the_warehouse_message(channel: ChannelConfig) -> None:
    event = parse(channel, fixture_bytes("order_attention.json"))
    assert event.kind is InboundKind.FULFILLMENT_UPDATE
    assert event.fulfillment is not None
    assert event.fulfillment.status is FulfillmentStatus.EXCEPTION
    assert event.fulfillment.request_id == "order/storefront/1002/sr1"
    assert event.fulfillment.reason == "Address could not be verified by the carrier"


def test_order_cancelled_and_other_events(channel: ChannelConfig) -> None:
    order = json.loads(fixture_bytes("order_attention.json"))
    cancelled = parse(channel, json.dumps({**order, "event_name": "order.cancelled", "status": 35}).encode())
    assert cancelled.kind is InboundKind.SHIPMENT_CANCELLED
    assert cancelled.shipping_request_id == "order/storefront/1002/sr1"
    item = parse(channel, json.dumps({"id": 7, "sku": "MUG-11OZ", "event_name": "item.inventory_changed"}).encode())
    assert item.kind is InboundKind.IGNORED


def test_a_wrong_or_missing_signature_is_refused(channel: ChannelConfig) -> None:
    body = fixture_bytes("order_shipped.json")
    with pytest.raises(SignatureError, match="does not match"):
        parse(channel, body, secret="another-secret")
    with pytest.raises(SignatureError, match="missing"):
        parse(channel, body, sign="")
    with pytest.raises(SignatureError):
        parse(channel, body.replace(b"2026-03-03", b"2026-03-04"), sign=signature(CLIENT_SECRET, body))


def test_a_signed_body_without_an_event_name_is_a_payload_error(channel: ChannelConfig) -> None:
    with pytest.raises(PayloadError, match="event_name"):
        parse(channel, b'{"id": 1}')
