"""RyderShip (Whiplash) webhooks: a JSON POST of the API object plus `event_name`, signed with
`X-WHIPLASH-SIGNATURE` = hex HMAC-SHA256 of the raw body keyed with the OAuth application's
client secret (docs.getwhiplash.com/webhooks; the help centre says "your API key": the channel's
`webhook_secret` credential holds whichever the account uses).

`order.shipped` becomes a SHIPMENT (the order's one parcel, id `rydership-{order id}`, as the
poll names it), `order.cancelled` SHIPMENT_CANCELLED, `order.attention` a FULFILLMENT_UPDATE
with status EXCEPTION and the warehouse's message (the order workflow opens `fulfillment_hold`),
`order.delivered` a FULFILLMENT_UPDATE DELIVERED; `item.inventory_changed` and every other event
are IGNORED (stock is read by the inventory sync). Whiplash sends no delivery id: the event id
is the event name, the order id and a digest of the body, identical across its up to 10
retries of one event, so the gateway drops repeated deliveries."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from connectors.base import InboundEvent, InboundKind, MappingError, PayloadError, SignatureError
from connectors.json_values import text, utc_time
from connectors.rydership.mapping import RyderShipSettings, request_id_of, shipment_from_order
from connectors.signing import hex_hmac_sha256, json_object
from orderloop.contracts import FulfillmentStatus, FulfillmentUpdate

SIGNATURE_HEADER = "X-WHIPLASH-SIGNATURE"


class RyderShipEvent(StrEnum):
    ORDER_SHIPPED = "order.shipped"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_ATTENTION = "order.attention"
    ORDER_DELIVERED = "order.delivered"
    ITEM_INVENTORY_CHANGED = "item.inventory_changed"


def signature(secret: str, body: bytes) -> str:
    return hex_hmac_sha256(secret, body)


def parse_webhook(
    secret: str, headers: Mapping[str, str], body: bytes, settings: RyderShipSettings, channel_id: str
) -> InboundEvent:
    """Verify first (`SignatureError`), then read the event and the order (`PayloadError`)."""
    given = (headers.get(SIGNATURE_HEADER) or headers.get(SIGNATURE_HEADER.lower()) or "").strip().lower()
    if not given:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    if not hmac.compare_digest(given, signature(secret, body)):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")
    payload = json_object(body)
    event = text(payload.get("event_name"))
    if not event:
        raise PayloadError("event_name is missing")
    event_id = f"{event}:{payload.get('id')}:{hashlib.sha256(body).hexdigest()[:24]}"
    if event not in (RyderShipEvent.ORDER_SHIPPED, RyderShipEvent.ORDER_CANCELLED) and event not in _STATUSES:
        return InboundEvent(kind=InboundKind.IGNORED, event_id=event_id, payload=payload, detail=f"event {event}")
    if event == RyderShipEvent.ORDER_SHIPPED:
        try:
            shipment = shipment_from_order(payload, settings, channel_id)
        except MappingError as exc:
            raise PayloadError(f"{event}: {exc}") from None
        return InboundEvent(
            kind=InboundKind.SHIPMENT,
            event_id=event_id,
            payload=payload,
            shipment=shipment,
            occurred_at=shipment.shipped_at,
            detail=f"event {event}, order {payload.get('id')}",
        )
    request_id = request_id_of(payload)
    if not request_id:
        raise PayloadError(f"{event}: order_orig (Orderloop's shipping request id) is missing")
    if event == RyderShipEvent.ORDER_CANCELLED:
        return InboundEvent(
            kind=InboundKind.SHIPMENT_CANCELLED,
            event_id=event_id,
            payload=payload,
            shipping_request_id=request_id,
            detail=f"order {payload.get('id')} cancelled at RyderShip",
        )
    status = _STATUSES[RyderShipEvent(event)]
    update = FulfillmentUpdate(
        request_id=request_id,
        status=status,
        reason=attention_message(payload) if status is FulfillmentStatus.EXCEPTION else None,
        at=utc_time(payload.get("delivered_on")) if status is FulfillmentStatus.DELIVERED else None,
        event_id=event_id,
    )
    return InboundEvent(
        kind=InboundKind.FULFILLMENT_UPDATE,
        event_id=event_id,
        payload=payload,
        fulfillment=update,
        detail=f"order {payload.get('id')}: {event}",
    )


_STATUSES = {
    RyderShipEvent.ORDER_ATTENTION: FulfillmentStatus.EXCEPTION,
    RyderShipEvent.ORDER_DELIVERED: FulfillmentStatus.DELIVERED,
}


def attention_message(order: Mapping[str, Any]) -> str:
    """The warehouse's words on an order needing attention: its `attention_message` (assumed
    [?]; the documented payload is the order object), else its notes, else its status name."""
    for key in ("attention_message", "public_note", "notes"):
        said = text(order.get(key))
        if said:
            return said
    return f"RyderShip needs attention on order {order.get('id')} ({order.get('status_name') or order.get('status')})"
