"""B2B portal webhooks, signed by the Standard Webhooks scheme (standardwebhooks.com, the spec
ShipBob's webhooks follow too): `webhook-id` (the delivery id, kept across retries: Orderloop
deduplicates on it), `webhook-timestamp` (seconds; a delivery older or newer than
`TOLERANCE_SECONDS` is refused as a replay), `webhook-signature: v1,<base64>` = HMAC-SHA256,
keyed by the channel's `webhook_secret` (`whsec_<base64 key>`), over
`{webhook-id}.{webhook-timestamp}.{raw body}`.

The body is the spec's envelope `{"type", "timestamp", "data"}`; `data` is the portal order
(onX with the wholesale fields, see `mapping`). Types: `order.created`, `order.updated` (the
buyer amended the PO), `order.cancelled` (`data.cancelReason`); any other type is IGNORED.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from connectors.b2b.mapping import external_order_id
from connectors.base import InboundEvent, InboundKind, PayloadError
from connectors.json_values import text, utc_time
from connectors.signing import json_object, verify_standard_webhook

SIGNATURE_HEADER = "webhook-signature"
TOLERANCE_SECONDS = 300


class PortalEvent(StrEnum):
    ORDER_CREATED = "order.created"
    ORDER_UPDATED = "order.updated"
    ORDER_CANCELLED = "order.cancelled"


_KINDS = {
    PortalEvent.ORDER_CREATED: InboundKind.ORDER_CREATED,
    PortalEvent.ORDER_UPDATED: InboundKind.ORDER_UPDATED,
    PortalEvent.ORDER_CANCELLED: InboundKind.ORDER_CANCELLED,
}


def parse_webhook(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> InboundEvent:
    """Verify (`SignatureError`: missing, wrong, or outside the replay window), then parse
    (`PayloadError` with the reason). Only the order id is checked here: an order the mapping
    refuses still reaches its workflow and waits in `invalid_order` with its payload."""
    delivery_id = verify_standard_webhook(secret, headers, body, TOLERANCE_SECONDS, now)
    envelope = json_object(body)
    kind = text(envelope.get("type"))
    if kind is None:
        raise PayloadError('the envelope has no "type"')
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise PayloadError('the envelope\'s "data" must be the order object')
    if kind not in set(PortalEvent):
        return InboundEvent(kind=InboundKind.IGNORED, event_id=delivery_id, payload=envelope, detail=f"event {kind}")
    external_id = external_order_id(data)
    if external_id is None:
        raise PayloadError("data.externalId is missing or not a string: the order cannot be identified")
    event = PortalEvent(kind)
    reason = text(data.get("cancelReason")) if event is PortalEvent.ORDER_CANCELLED else None
    return InboundEvent(
        kind=_KINDS[event],
        event_id=delivery_id,
        external_order_id=external_id,
        # The whole envelope, as delivered (the mapping reads the order out of it).
        payload=envelope,
        occurred_at=utc_time(data.get("updatedAt")),
        detail=reason,
    )
