"""Logiwa's unsigned webhooks: refused without the brand's token or with another, read by their
topic header or by their fields, each a hint (an "Order Shipment Info" a SHIPMENT to confirm, a
cancelled "SO Status Update" a SHIPMENT_CANCELLED, the rest IGNORED), and a repeated body the
same event id."""

from __future__ import annotations

import json

import pytest

from connectors.base import InboundKind, PayloadError, SignatureError
from connectors.logiwa import LogiwaConnector
from connectors.logiwa.webhooks import TOPIC_HEADER, LogiwaTopic
from orderloop.config import ChannelConfig
from tests.connectors.logiwa.conftest import WEBHOOK_TOKEN, fixture_bytes

TOKEN = {"X-Orderloop-Token": WEBHOOK_TOKEN}


def headers(topic: str | None = None, **extra: str) -> dict[str, str]:
    return TOKEN | ({TOPIC_HEADER: topic} if topic else {}) | extra


def test_order_shipment_info_is_a_shipment_event_for_our_request(channel: ChannelConfig) -> None:
    body = fixture_bytes("order_shipment_info.json")

    event = LogiwaConnector(channel).parse_webhook(headers(LogiwaTopic.ORDER_SHIPMENT_INFO), body)

    assert event.kind is InboundKind.SHIPMENT
    assert event.shipment is not None and event.shipment.shipping_request_id == "order/storefront/1001/sr1"
    assert event.event_id and event.event_id.startswith("logiwa-")
    assert "unconfirmed" in (event.detail or "")


def test_missing_or_wrong_token_is_a_signature_error(channel: ChannelConfig) -> None:
    connector = LogiwaConnector(channel)
    body = fixture_bytes("order_shipment_info.json")

    with pytest.raises(SignatureError, match="missing X-Orderloop-Token"):
        connector.parse_webhook({}, body)
    with pytest.raises(SignatureError, match="wrong X-Orderloop-Token") as wrong:
        connector.parse_webhook({"X-Orderloop-Token": "guess"}, body)
    assert wrong.value.status_code == 401


def test_topic_is_read_from_the_fields_when_the_header_is_absent(channel: ChannelConfig) -> None:
    connector = LogiwaConnector(channel)

    shipped = connector.parse_webhook(headers(), fixture_bytes("order_shipment_info.json"))
    cancelled = connector.parse_webhook(headers(), fixture_bytes("so_status_update_cancelled.json"))
    tracking = connector.parse_webhook(headers(), fixture_bytes("shipment_tracking_info.json"))

    assert shipped.kind is InboundKind.SHIPMENT
    assert cancelled.kind is InboundKind.SHIPMENT_CANCELLED
    assert cancelled.shipping_request_id == "order/storefront/1002/sr1"
    assert tracking.kind is InboundKind.IGNORED


def test_status_updates_other_than_cancelled_and_inventory_changes_are_ignored(channel: ChannelConfig) -> None:
    connector = LogiwaConnector(channel)
    picked = json.loads(fixture_bytes("so_status_update_cancelled.json")) | {"CurrentShipmentOrderStatus": "Picked"}
    inventory = {"LogiwaInventoryItemCode": "MUG-11OZ", "TotalInventoryQuantity": 5, "AvailableQuantity": 4}

    assert connector.parse_webhook(headers(), json.dumps(picked).encode()).kind is InboundKind.IGNORED
    assert connector.parse_webhook(headers(), json.dumps(inventory).encode()).kind is InboundKind.IGNORED


def test_a_repeated_body_is_the_same_event_and_another_body_another(channel: ChannelConfig) -> None:
    connector = LogiwaConnector(channel)
    body = fixture_bytes("order_shipment_info.json")
    other = json.dumps(json.loads(body) | {"ShipmentDate": "03.04.2026 08:00:00"}).encode()

    assert connector.parse_webhook(headers(), body).event_id == connector.parse_webhook(headers(), body).event_id
    assert connector.parse_webhook(headers(), other).event_id != connector.parse_webhook(headers(), body).event_id


def test_unknown_or_broken_bodies_are_payload_errors(channel: ChannelConfig) -> None:
    connector = LogiwaConnector(channel)

    with pytest.raises(PayloadError):
        connector.parse_webhook(headers(), b"not json")
    with pytest.raises(PayloadError, match="no Logiwa topic"):
        connector.parse_webhook(headers(), b'{"Something": 1}')
    with pytest.raises(PayloadError, match="without LogiwaOrderId or OrderCode"):
        connector.parse_webhook(headers(LogiwaTopic.ORDER_SHIPMENT_INFO), b'{"ShipmentDate": "x"}')
