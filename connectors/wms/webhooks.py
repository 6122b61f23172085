"""WMS webhooks: Orderloop's signature scheme; `shipment.created` carries an onX fulfillment
whose `orderId` is Orderloop's shipping request id."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from connectors.base import InboundEvent, InboundKind, MappingError, PayloadError
from connectors.signing import read_orderloop_delivery
from connectors.wms.mapping import shipment_from_fulfillment


class WmsEvent(StrEnum):
    SHIPMENT_CREATED = "shipment.created"


def parse_webhook(secret: str, headers: Mapping[str, str], body: bytes, channel_id: str) -> InboundEvent:
    delivery = read_orderloop_delivery(secret, headers, body, set(WmsEvent))
    try:
        shipment = shipment_from_fulfillment(delivery.payload, channel_id)
    except MappingError as exc:
        raise PayloadError(str(exc)) from None
    return InboundEvent(
        kind=InboundKind.SHIPMENT,
        event_id=delivery.delivery_id,
        payload=delivery.payload,
        shipment=shipment,
        occurred_at=shipment.shipped_at,
    )
