"""Logiwa webhooks: unsigned, so accepted only with the per-channel token the brand configures
as a custom header of its subscriptions (`webhook_token_header`, compared in constant time), and
only ever hints that the connector confirms by `WarehouseOrderSearch` before anything acts.

Logiwa's webhook topics carry no topic header; the brand sets `X-Orderloop-Event` beside the
token on each subscription (one subscription per topic), and a delivery without it is read by
its fields. "Order Shipment Info" becomes a SHIPMENT event (the shipment it claims, for
`confirm_event` to check), "SO Status Update" to Cancelled a SHIPMENT_CANCELLED one; every other
topic (inventory included: stock comes from `InventoryItemSearch`, not from a forgeable body) is
IGNORED. Logiwa sends no delivery id: the event id is a digest of the body, the same for a
repeated delivery of the same body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from enum import StrEnum

from connectors.base import InboundEvent, InboundKind, MappingError, PayloadError
from connectors.json_values import text
from connectors.logiwa.mapping import LogiwaSettings, OrderStatus, shipment_from_webhook
from connectors.signing import json_object, verify_header_token

TOPIC_HEADER = "x-orderloop-event"


class LogiwaTopic(StrEnum):
    """The webhook topics of Logiwa's Webhook Setup that Orderloop reads."""

    ORDER_SHIPMENT_INFO = "Order Shipment Info"
    SHIPMENT_TRACKING_INFO = "Shipment Tracking Info"
    SO_STATUS_UPDATE = "SO Status Update"
    INVENTORY_CHANGE = "Inventory Change"


def verify_token(expected: str, header: str, headers: Mapping[str, str]) -> None:
    verify_header_token(
        expected, header, headers, missing_hint="Logiwa signs nothing: set it on the webhook subscription"
    )


def topic_of(headers: Mapping[str, str], payload: Mapping[str, object]) -> str:
    declared = (headers.get(TOPIC_HEADER) or "").strip()
    if declared:
        return declared
    if "CurrentShipmentOrderStatus" in payload:
        return LogiwaTopic.SO_STATUS_UPDATE
    if "CanceledTrackingNumber" in payload or "CarrierRate" in payload:
        return LogiwaTopic.SHIPMENT_TRACKING_INFO
    if "ShipmentDate" in payload and "OrderCode" in payload:
        return LogiwaTopic.ORDER_SHIPMENT_INFO
    if "TotalInventoryQuantity" in payload:
        return LogiwaTopic.INVENTORY_CHANGE
    raise PayloadError(f"no {TOPIC_HEADER} header and the body is no Logiwa topic Orderloop knows")


def parse_webhook(
    token: str, headers: Mapping[str, str], body: bytes, settings: LogiwaSettings, channel_id: str
) -> InboundEvent:
    """Check the token first (`SignatureError`), then read the topic and its order (`PayloadError`)."""
    verify_token(token, settings.webhook_token_header, headers)
    payload = json_object(body)
    event_id = "logiwa-" + hashlib.sha256(body).hexdigest()[:32]
    topic = topic_of(headers, payload)
    if topic == LogiwaTopic.ORDER_SHIPMENT_INFO:
        try:
            shipment = shipment_from_webhook(payload, settings, channel_id)
        except MappingError as exc:
            raise PayloadError(f"{topic}: {exc}") from None
        return InboundEvent(
            kind=InboundKind.SHIPMENT,
            event_id=event_id,
            payload=payload,
            shipment=shipment,
            occurred_at=shipment.shipped_at,
            detail=f"topic {topic} (unconfirmed)",
        )
    if topic == LogiwaTopic.SO_STATUS_UPDATE and payload.get("CurrentShipmentOrderStatus") == OrderStatus.CANCELLED:
        code = text(payload.get("LogiwaOrderNumber")) or text(payload.get("OrderCode"))
        if code is None:
            raise PayloadError(f"{topic}: LogiwaOrderNumber (Orderloop's shipping request id) is missing")
        return InboundEvent(
            kind=InboundKind.SHIPMENT_CANCELLED,
            event_id=event_id,
            payload=payload,
            shipping_request_id=code,
            detail=f"order {code} cancelled at Logiwa (unconfirmed)",
        )
    return InboundEvent(kind=InboundKind.IGNORED, event_id=event_id, payload=payload, detail=f"topic {topic}")
