"""WMS webhooks: Orderloop's signature scheme; `shipment.created` carries an onX fulfillment
whose `orderId` is Orderloop's shipping request id, `inventory.updated` the new levels of the SKUs
whose stock moved (`{"items": [<stock level>, ...]}`, the shape of `GET /stock-levels`).

The in-house WMS's request events carry the request (`GET /shipping-requests/{id}`'s shape, our
request id in `externalId`) with `reason` and `at`: `request.on_hold` (held, e.g. an address to
check), `request.exception` (it cannot go on, e.g. short at the location), `request.released`
(the hold is lifted) and `request.delivered` (the carrier delivered it); each becomes a
FULFILLMENT_UPDATE event. `return.received` carries an expected return as received (an onX
return, our return id in `externalId`, each line's `inspection.conditionCategory`): a
RETURN_RECEIVED event."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from connectors.base import InboundEvent, InboundKind, MappingError, PayloadError
from connectors.onx_returns import receipt_from_onx
from connectors.signing import read_orderloop_delivery
from connectors.wms.mapping import request_update, shipment_from_fulfillment, stock_rows
from orderloop.contracts import FulfillmentStatus


class WmsEvent(StrEnum):
    SHIPMENT_CREATED = "shipment.created"
    INVENTORY_UPDATED = "inventory.updated"
    REQUEST_ON_HOLD = "request.on_hold"
    REQUEST_EXCEPTION = "request.exception"
    REQUEST_RELEASED = "request.released"
    REQUEST_DELIVERED = "request.delivered"
    RETURN_RECEIVED = "return.received"


REQUEST_STATUSES = {
    WmsEvent.REQUEST_ON_HOLD: FulfillmentStatus.ON_HOLD,
    WmsEvent.REQUEST_EXCEPTION: FulfillmentStatus.EXCEPTION,
    WmsEvent.REQUEST_RELEASED: FulfillmentStatus.RELEASED,
    WmsEvent.REQUEST_DELIVERED: FulfillmentStatus.DELIVERED,
}


def parse_webhook(secret: str, headers: Mapping[str, str], body: bytes, channel_id: str) -> InboundEvent:
    delivery = read_orderloop_delivery(secret, headers, body, set(WmsEvent))
    status = REQUEST_STATUSES.get(WmsEvent(delivery.event))
    if status is not None:
        return InboundEvent(
            kind=InboundKind.FULFILLMENT_UPDATE,
            event_id=delivery.delivery_id,
            payload=delivery.payload,
            fulfillment=request_update(delivery.payload, status, delivery.delivery_id),
        )
    try:
        if delivery.event == WmsEvent.RETURN_RECEIVED:
            receipt = receipt_from_onx(delivery.payload, delivery.delivery_id)
            return InboundEvent(
                kind=InboundKind.RETURN_RECEIVED,
                event_id=delivery.delivery_id,
                payload=delivery.payload,
                return_receipt=receipt,
                occurred_at=receipt.received_at,
            )
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
