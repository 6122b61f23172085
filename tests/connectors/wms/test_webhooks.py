"""WMS webhooks: a signed `shipment.created` becomes a shipment routed to our shipping request, a
signed `inventory.updated` the levels the WMS reports; anything forged, damaged or unreadable is
refused with the reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from connectors.base import InboundKind, PayloadError, SignatureError, StockRow
from connectors.signing import ORDERLOOP_SIGNATURE_HEADER, orderloop_webhook_headers
from connectors.wms import WmsConnector
from orderloop.config import ChannelConfig
from orderloop.model import ShipmentLine
from tests.connectors.wms.conftest import REQUEST_ID, WEBHOOK_SECRET, payload, raw_payload


def signed(event: str, body: bytes, secret: str = WEBHOOK_SECRET, delivery_id: str = "dlv_0c41") -> dict[str, str]:
    return orderloop_webhook_headers(secret, event, body, delivery_id=delivery_id)


@pytest.fixture
async def connector(channel: ChannelConfig) -> AsyncIterator[WmsConnector]:
    connector = WmsConnector(channel)
    yield connector
    await connector.aclose()


def test_shipment_created_becomes_a_shipment_of_our_request(connector: WmsConnector) -> None:
    body = raw_payload("shipment_created.json")

    event = connector.parse_webhook(signed("shipment.created", body, delivery_id="dlv_0c41"), body)

    assert event.kind is InboundKind.SHIPMENT
    assert event.event_id == "dlv_0c41"
    assert event.payload == payload("shipment_created.json")
    assert event.shipment is not None
    assert event.shipment.shipping_request_id == REQUEST_ID
    assert event.shipment.fulfillment_channel_id == "wms"
    assert event.shipment.line_items == [ShipmentLine(sku="TSHIRT-BLK-M", quantity=1, line_id="li_1")]
    assert event.shipment.tracking_numbers == ["1Z999AA10123456784"]
    assert event.occurred_at == datetime(2026, 11, 24, 15, 4, 5, 250000, tzinfo=UTC)
    assert event.external_order_id is None and event.stock == ()


def test_inventory_updated_becomes_the_reported_stock_rows(connector: WmsConnector) -> None:
    body = raw_payload("inventory_updated.json")

    event = connector.parse_webhook(signed("inventory.updated", body, delivery_id="dlv_0c42"), body)

    assert event.kind is InboundKind.INVENTORY
    assert event.event_id == "dlv_0c42"
    assert event.stock == (
        StockRow(sku="MUG-11OZ", on_hand=300, available=288, committed=12, inbound=48, location_ref="east"),
        StockRow(sku="POSTER-A2", on_hand=0, available=0, committed=0, inbound=0, location_ref="east"),
        StockRow(sku="TSHIRT-BLK-M", on_hand=500, available=497, committed=3, inbound=0, location_ref=None),
    )
    assert event.shipment is None


def test_shipment_the_mapping_cannot_read_is_a_payload_error(connector: WmsConnector) -> None:
    body = b'{"id": "SHP-000418", "orderId": "order/storefront/SF-1001/sr1", "lineItems": []}'

    with pytest.raises(PayloadError, match="fulfillment lineItems must be a non-empty array"):
        connector.parse_webhook(signed("shipment.created", body), body)


def test_inventory_update_without_levels_is_a_payload_error(connector: WmsConnector) -> None:
    body = b'{"items": []}'

    with pytest.raises(PayloadError, match="items must be a non-empty array of stock levels"):
        connector.parse_webhook(signed("inventory.updated", body), body)


def test_delivery_signed_with_another_secret_is_refused(connector: WmsConnector) -> None:
    body = raw_payload("shipment_created.json")

    with pytest.raises(SignatureError, match="does not match the body"):
        connector.parse_webhook(signed("shipment.created", body, secret="the-storefront-secret"), body)


def test_body_changed_after_signing_is_refused(connector: WmsConnector) -> None:
    body = raw_payload("shipment_created.json")
    headers = signed("shipment.created", body)
    tampered = body.replace(b"order/storefront/SF-1001/sr1", b"order/storefront/SF-9999/sr1")
    assert tampered != body

    with pytest.raises(SignatureError, match="does not match the body"):
        connector.parse_webhook(headers, tampered)


def test_delivery_without_signature_header_is_refused(connector: WmsConnector) -> None:
    body = raw_payload("inventory_updated.json")
    headers = signed("inventory.updated", body)
    del headers[ORDERLOOP_SIGNATURE_HEADER]

    with pytest.raises(SignatureError, match=f"missing {ORDERLOOP_SIGNATURE_HEADER}"):
        connector.parse_webhook(headers, body)


def test_event_the_wms_does_not_send_is_refused(connector: WmsConnector) -> None:
    body = raw_payload("shipment_created.json")

    with pytest.raises(PayloadError) as error:
        connector.parse_webhook(signed("order.created", body), body)

    assert "unknown event 'order.created'" in str(error.value)
    expected = "inventory.updated, request.delivered, request.exception, request.on_hold, request.released, "
    expected += "return.received"
    assert f"{expected}, shipment.created" in str(error.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{'id': 'SHP-1'}", "body is not valid JSON"),
        (b'[{"id": "SHP-1"}]', "body must be a JSON object, not an array"),
    ],
)
def test_body_that_is_not_a_json_object_is_refused(connector: WmsConnector, body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        connector.parse_webhook(signed("shipment.created", body), body)
