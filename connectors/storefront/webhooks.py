"""Storefront webhooks: Orderloop's signature scheme over an onX order body; events
`order.created`, `order.updated`, `order.cancelled`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from connectors.base import InboundEvent, InboundKind, PayloadError
from connectors.signing import read_orderloop_delivery
from connectors.storefront.mapping import external_order_id


class StorefrontEvent(StrEnum):
    ORDER_CREATED = "order.created"
    ORDER_UPDATED = "order.updated"
    ORDER_CANCELLED = "order.cancelled"


_KINDS = {
    StorefrontEvent.ORDER_CREATED: InboundKind.ORDER_CREATED,
    StorefrontEvent.ORDER_UPDATED: InboundKind.ORDER_UPDATED,
    StorefrontEvent.ORDER_CANCELLED: InboundKind.ORDER_CANCELLED,
}


def parse_webhook(secret: str, headers: Mapping[str, str], body: bytes) -> InboundEvent:
    """Verify, then parse. Only what routing needs is checked here (the order id); the rest of
    the body is the mapping's business, so an unmappable order still reaches the workflow and
    lands in `invalid_order` with its payload kept."""
    delivery = read_orderloop_delivery(secret, headers, body, set(StorefrontEvent))
    payload = delivery.payload
    external_id = external_order_id(payload)
    if external_id is None:
        raise PayloadError("externalId is missing or not a string: the order cannot be identified")
    event = StorefrontEvent(delivery.event)
    reason = payload.get("cancelReason") if event is StorefrontEvent.ORDER_CANCELLED else None
    return InboundEvent(
        kind=_KINDS[event],
        event_id=delivery.delivery_id,
        external_order_id=external_id,
        payload=payload,
        occurred_at=_timestamp(payload.get("updatedAt")),
        detail=reason if isinstance(reason, str) and reason else None,
    )


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
