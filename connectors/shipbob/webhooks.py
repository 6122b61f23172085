"""ShipBob webhooks (dated API subscriptions): Standard Webhooks signatures (`webhook-id`,
`webhook-timestamp`, `webhook-signature`, key from the `whsec_` secret), the topic in
`x-webhook-topic`, and a body shaped like ShipBob's shipment resource.

`order.shipped` fires once per shipment when its label exists and becomes a SHIPMENT event;
`order.shipment.cancelled` becomes SHIPMENT_CANCELLED; `order.shipment.on_hold` (e.g. an address
problem), `order.shipment.exception` (e.g. out of stock at the fulfillment center) and
`order.shipment.delivered` become FULFILLMENT_UPDATE events (hold, exception, delivered) with
ShipBob's reason from the shipment's `status_details`; every other topic is IGNORED. ShipBob
sends no event when it releases a hold: the shipment going on (`order.shipped`) clears it. The
event id is `webhook-id`, stable across ShipBob's retries, so the gateway drops repeated deliveries.

Return topics (`return.created`, `return.updated`, `return.completed`, each with the return order
as its body; see `connectors.shipbob.returns`): `return.completed` becomes RETURN_RECEIVED, whose
receipt `ShipBobConnector.confirm_event` builds from the return order read back from ShipBob
(the body names inventory by id, not SKU, and may be a stale retry); a return `Cancelled` at
ShipBob becomes RETURN_PROGRESS (cancelled); `return.created` (our own create) and a return that
only arrived or is being processed are IGNORED, with its status in the detail.

ShipBob does not deliver in order and retries for up to a day. Each `order.shipped` is mapped on
its own, whatever the shipment's status in the snapshot (a late delivery may show an older or a
newer status than the label): the topic says a label exists, and the `Shipment` id is ShipBob's
shipment id, so the same shipment reported twice (a redelivery, or the poller and the webhook)
counts once in the order workflow, and the shipments of a split order may arrive in any order.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from connectors.base import InboundEvent, InboundKind, MappingError, PayloadError, SignatureError
from connectors.json_values import utc_time
from connectors.shipbob.mapping import ShipBobSettings, shipment_from_shipbob, shipment_id
from connectors.shipbob.returns import ReturnStatus
from connectors.signing import json_object, verify_standard_webhook
from orderloop.contracts import FulfillmentStatus, FulfillmentUpdate
from orderloop.returns_model import ReturnProgress, ReturnProgressKind

TOPIC_HEADER = "x-webhook-topic"


class ShipBobTopic(StrEnum):
    """The dated API's order topics (the ones Orderloop subscribes to come first)."""

    ORDER_SHIPPED = "order.shipped"
    SHIPMENT_CANCELLED = "order.shipment.cancelled"
    SHIPMENT_DELIVERED = "order.shipment.delivered"
    SHIPMENT_TRACKING_UPDATED = "order.shipment.tracking.updated"
    SHIPMENT_EXCEPTION = "order.shipment.exception"
    SHIPMENT_ON_HOLD = "order.shipment.on_hold"
    ORDER_DELIVERED = "order.delivered"
    RETURN_CREATED = "return.created"
    RETURN_UPDATED = "return.updated"
    RETURN_COMPLETED = "return.completed"


# What Orderloop acts on; any other topic is acknowledged and ignored.
TOPIC_KINDS: dict[str, InboundKind] = {
    ShipBobTopic.ORDER_SHIPPED: InboundKind.SHIPMENT,
    ShipBobTopic.SHIPMENT_CANCELLED: InboundKind.SHIPMENT_CANCELLED,
    ShipBobTopic.SHIPMENT_ON_HOLD: InboundKind.FULFILLMENT_UPDATE,
    ShipBobTopic.SHIPMENT_EXCEPTION: InboundKind.FULFILLMENT_UPDATE,
    ShipBobTopic.SHIPMENT_DELIVERED: InboundKind.FULFILLMENT_UPDATE,
}
_STATUSES = {
    ShipBobTopic.SHIPMENT_ON_HOLD: FulfillmentStatus.ON_HOLD,
    ShipBobTopic.SHIPMENT_EXCEPTION: FulfillmentStatus.EXCEPTION,
    ShipBobTopic.SHIPMENT_DELIVERED: FulfillmentStatus.DELIVERED,
}


def parse_webhook(
    secret: str, headers: Mapping[str, str], body: bytes, settings: ShipBobSettings, channel_id: str
) -> InboundEvent:
    """Verify first (`SignatureError`), then read the topic and the shipment (`PayloadError`)."""
    try:
        event_id = verify_standard_webhook(secret, headers, body)
    except ValueError:  # binascii.Error: the configured secret is not a whsec_ base64 key
        raise SignatureError("the channel's webhook_secret is not a valid whsec_ key; copy it from ShipBob") from None
    payload = json_object(body)
    topic = (headers.get(TOPIC_HEADER) or str(payload.get("topic") or "")).strip()
    if not topic:
        raise PayloadError(f"missing {TOPIC_HEADER} header")
    if topic.startswith("return."):
        return return_event(topic, payload, event_id)
    kind = TOPIC_KINDS.get(topic, InboundKind.IGNORED)
    if kind is InboundKind.IGNORED:
        return InboundEvent(kind=kind, event_id=event_id, payload=payload, detail=f"topic {topic}")
    resource = _resource(payload)
    if kind is InboundKind.SHIPMENT:
        try:
            shipment = shipment_from_shipbob(resource, settings, channel_id)
        except MappingError as exc:
            raise PayloadError(f"{topic}: {exc}") from None
        return InboundEvent(
            kind=kind,
            event_id=event_id,
            payload=payload,
            shipment=shipment,
            occurred_at=shipment.shipped_at,
            detail=f"topic {topic}, ShipBob status {resource.get('status')}",
        )
    cancelled = shipment_id(resource)
    if cancelled is None:
        raise PayloadError(f"{topic}: shipment id is missing")
    reference = resource.get("reference_id")
    if not isinstance(reference, str) or not reference:
        raise PayloadError(f"{topic}: reference_id (Orderloop's shipping request id) is missing")
    if kind is InboundKind.FULFILLMENT_UPDATE:
        status = _STATUSES[ShipBobTopic(topic)]
        update = FulfillmentUpdate(
            request_id=reference,
            status=status,
            reason=_reason(resource),
            at=utc_time(resource.get("delivery_date")) if status is FulfillmentStatus.DELIVERED else None,
            event_id=event_id,
        )
        return InboundEvent(
            kind=kind, event_id=event_id, payload=payload, fulfillment=update, detail=f"shipment {cancelled}: {topic}"
        )
    return InboundEvent(
        kind=kind,
        event_id=event_id,
        payload=payload,
        shipping_request_id=reference,
        detail=f"shipment {cancelled} cancelled at ShipBob",
    )


def return_event(topic: str, payload: dict[str, Any], event_id: str | None) -> InboundEvent:
    """A return topic: the return order's `reference_id` is Orderloop's return id."""
    resource = return_resource(payload)
    reference = resource.get("reference_id")
    if not isinstance(reference, str) or not reference:
        raise PayloadError(f"{topic}: reference_id (Orderloop's return id) is missing")
    status = resource.get("status")
    detail = f"ShipBob return {resource.get('id')} ({reference}) is {status}"
    if status == ReturnStatus.CANCELLED:
        progress = ReturnProgress(
            return_id=reference, kind=ReturnProgressKind.CANCELLED, reason="cancelled at ShipBob", event_id=event_id
        )
        return InboundEvent(
            kind=InboundKind.RETURN_PROGRESS,
            event_id=event_id,
            payload=payload,
            return_progress=progress,
            detail=detail,
        )
    if topic == ShipBobTopic.RETURN_COMPLETED or status == ReturnStatus.COMPLETED:
        # The receipt is built by `confirm_event`, from the return read back with SKUs.
        return InboundEvent(kind=InboundKind.RETURN_RECEIVED, event_id=event_id, payload=payload, detail=detail)
    return InboundEvent(kind=InboundKind.IGNORED, event_id=event_id, payload=payload, detail=f"topic {topic}: {detail}")


def _reason(resource: dict[str, Any]) -> str | None:
    """ShipBob's words for a hold or an exception: each status detail's description (or name)."""
    details = resource.get("status_details")
    said = (
        [
            str(d.get("description") or d.get("name"))
            for d in details
            if isinstance(d, dict) and (d.get("description") or d.get("name"))
        ]
        if isinstance(details, list)
        else []
    )
    return "; ".join(said) or (f"ShipBob status {resource['status']}" if resource.get("status") else None)


def return_resource(payload: dict[str, Any]) -> dict[str, Any]:
    """The return order of a return topic's body (itself, or its `data`)."""
    return _resource(payload)


def _resource(payload: dict[str, Any]) -> dict[str, Any]:
    """The shipment: the body itself, or its `data` when the body is an envelope."""
    data = payload.get("data")
    return data if isinstance(data, dict) and "id" in data and "id" not in payload else payload
