"""WMS webhooks: Orderloop's signature scheme; `shipment.created` carries an onX fulfillment
whose `orderId` is Orderloop's shipping request id, `inventory.updated` the new levels of the SKUs
whose stock moved (`{"items": [<stock level>, ...]}`, the shape of `GET /stock-levels`)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from connectors.base import InboundEvent, InboundKind, MappingError, PayloadError
from connectors.signing import read_orderloop_delivery
from connectors.wms.mapping import shipment_from_fulfillment, stock_rows


class WmsEvent(StrEnum):
    SHIPMENT_CREATED = "shipment.created"
    INVENTORY_UPDATED = "inventory.updated"


def parse_webhook(secret: str, headers: Mapping[str, str], body: bytes, channel_id: str) -> InboundEvent:
    delivery = read_orderloop_delivery(secret, headers, body, set(WmsEvent))
    try:
        if delivery.event == WmsEvent.INVENTORY_UPDATED:
            return InboundEvent(
                kind=InboundKind.INVENTORY,
                event_id=delivery.delivery_id,
                payload=delivery.payload,
                stock=stock_rows(delivery.payload.get("items")),
            )
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
