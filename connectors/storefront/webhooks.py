"""Storefront webhooks: Orderloop's signature scheme over an onX order body (events
`order.created`, `order.updated`, `order.cancelled`) or an onX return body (`return.requested`:
a customer asks to return, `return.in_transit`: the parcel is on its way with its label,
`return.cancelled`: the customer withdrew it)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from connectors.base import InboundEvent, InboundKind, PayloadError
from connectors.json_values import utc_time
from connectors.onx_returns import return_external_id, return_order_id
from connectors.signing import read_orderloop_delivery
from connectors.storefront.mapping import external_order_id
from orderloop.contracts.returns import return_workflow_id
from orderloop.returns_model import ReturnLabel, ReturnProgress, ReturnProgressKind


class StorefrontEvent(StrEnum):
    ORDER_CREATED = "order.created"
    ORDER_UPDATED = "order.updated"
    ORDER_CANCELLED = "order.cancelled"
    RETURN_REQUESTED = "return.requested"
    RETURN_IN_TRANSIT = "return.in_transit"
    RETURN_CANCELLED = "return.cancelled"


_KINDS = {
    StorefrontEvent.ORDER_CREATED: InboundKind.ORDER_CREATED,
    StorefrontEvent.ORDER_UPDATED: InboundKind.ORDER_UPDATED,
    StorefrontEvent.ORDER_CANCELLED: InboundKind.ORDER_CANCELLED,
}


_PROGRESS = {
    StorefrontEvent.RETURN_IN_TRANSIT: ReturnProgressKind.IN_TRANSIT,
    StorefrontEvent.RETURN_CANCELLED: ReturnProgressKind.CANCELLED,
}


def parse_webhook(secret: str, headers: Mapping[str, str], body: bytes, channel_id: str) -> InboundEvent:
    """Verify, then parse. Only what routing needs is checked here (the order id); the rest of
    the body is the mapping's business, so an unmappable order still reaches the workflow and
    lands in `invalid_order` with its payload kept."""
    delivery = read_orderloop_delivery(secret, headers, body, set(StorefrontEvent))
    payload = delivery.payload
    event = StorefrontEvent(delivery.event)
    if event.value.startswith("return."):
        return _return_event(event, payload, delivery.delivery_id, channel_id)
    external_id = external_order_id(payload)
    if external_id is None:
        raise PayloadError("externalId is missing or not a string: the order cannot be identified")
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


def _return_event(
    event: StorefrontEvent, payload: dict[str, Any], delivery_id: str | None, channel_id: str
) -> InboundEvent:
    """A return request starts its workflow (the rest of the body is the mapping's business, so an
    unmappable one is kept in `invalid_return`); progress signals it."""
    external_id = return_external_id(payload)
    if external_id is None:
        raise PayloadError("externalId is missing or not a string: the return cannot be identified")
    if event is StorefrontEvent.RETURN_REQUESTED:
        return InboundEvent(
            kind=InboundKind.RETURN_REQUESTED,
            event_id=delivery_id,
            external_return_id=external_id,
            external_order_id=return_order_id(payload),
            payload=payload,
            occurred_at=_timestamp(payload.get("updatedAt")),
        )
    labels = payload.get("labels")
    label = None
    if isinstance(labels, list) and labels and isinstance(labels[0], dict):
        try:
            label = ReturnLabel.model_validate(labels[0])
        except ValueError as exc:
            raise PayloadError(f"labels[0]: {exc}") from None
    reason = payload.get("cancelReason")
    progress = ReturnProgress(
        return_id=return_workflow_id(channel_id, external_id),
        kind=_PROGRESS[event],
        label=label,
        reason=reason if isinstance(reason, str) and reason else None,
        at=utc_time(payload.get("updatedAt")),
        event_id=delivery_id,
    )
    return InboundEvent(
        kind=InboundKind.RETURN_PROGRESS,
        event_id=delivery_id,
        external_return_id=external_id,
        payload=payload,
        return_progress=progress,
    )
