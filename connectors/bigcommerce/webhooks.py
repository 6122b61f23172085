"""BigCommerce webhooks: verified with the Standard Webhooks scheme (`webhook-id`,
`webhook-timestamp`, `webhook-signature: v1,<base64>` over `{id}.{timestamp}.{body}`) keyed by the
app's client secret itself (BigCommerce's docs hand `base64(client_secret)` to the Standard
Webhooks library, which decodes it back: the HMAC key is the secret's bytes), then parsed by
the payload's `scope`.

Bodies are thin: `{"scope", "store_id", "data": {"type": "order", "id"}, "hash", "created_at",
"producer": "stores/{store_hash}"}` (`store/order/statusUpdated` adds `data.status` with
`previous_status_id` and `new_status_id`). The connector's `confirm_event` reads the order back
before the gateway acts; this module only says which order and what happened:

- `store/order/created` -> ORDER_CREATED (it also fires for incomplete orders: the read-back
  decides whether the order may start);
- `store/order/updated`, `store/order/statusUpdated` -> ORDER_UPDATED, except a status update to
  5 (Cancelled) -> ORDER_CANCELLED;
- any other scope (`store/order/archived`, `.../message/created`, `.../refund/created`,
  `.../transaction/*`, `store/shipment/*`, ...) -> IGNORED.

Delivery id for deduplication: the payload's `hash`, which BigCommerce keeps the same when a hook
fires twice for one event (each firing with its own `webhook-id`) and which a retried delivery
repeats with its body; the `webhook-id` when a body has no hash. A delivery for another store
(one app's secret signs for every store that installed it) is refused.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from connectors.base import InboundEvent, InboundKind, PayloadError
from connectors.bigcommerce.mapping import OrderStatusId
from connectors.json_values import integer, text
from connectors.signing import json_object, standard_webhook_signature, verify_standard_webhook

SIGNATURE_HEADER = "webhook-signature"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"


class Scope(StrEnum):
    ORDER_CREATED = "store/order/created"
    ORDER_UPDATED = "store/order/updated"
    ORDER_STATUS_UPDATED = "store/order/statusUpdated"
    ORDER_ARCHIVED = "store/order/archived"
    ORDER_MESSAGE_CREATED = "store/order/message/created"
    ORDER_REFUND_CREATED = "store/order/refund/created"
    SHIPMENT_CREATED = "store/shipment/created"


_ORDER_KINDS: dict[str, InboundKind] = {
    Scope.ORDER_CREATED: InboundKind.ORDER_CREATED,
    Scope.ORDER_UPDATED: InboundKind.ORDER_UPDATED,
    Scope.ORDER_STATUS_UPDATED: InboundKind.ORDER_UPDATED,
}


def signing_key(client_secret: str) -> str:
    """The client secret as the Standard Webhooks key the shared verifier takes (base64)."""
    return base64.b64encode(client_secret.encode()).decode()


def sign(client_secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`webhook-signature` as BigCommerce signs (what the sandbox sends)."""
    return standard_webhook_signature(signing_key(client_secret), msg_id, timestamp, body)


def parse_webhook(
    client_secret: str, headers: Mapping[str, str], body: bytes, store_hash: str | None = None, now: float | None = None
) -> InboundEvent:
    """Verify (`SignatureError`, 401), then parse (`PayloadError` with the reason, 400)."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = verify_standard_webhook(signing_key(client_secret), lower, body, now=now)
    payload = json_object(body)
    scope = text(payload.get("scope"))
    if scope is None:
        raise PayloadError("the body has no scope: not a BigCommerce webhook")
    producer = text(payload.get("producer")) or ""
    if store_hash and producer != f"stores/{store_hash}":
        raise PayloadError(f"producer is {producer or 'missing'!r}; this channel is the store 'stores/{store_hash}'")
    data = payload.get("data")
    if not isinstance(data, Mapping):
        raise PayloadError(f"{scope}: the body has no data object")
    event_id = text(payload.get("hash")) or msg_id
    occurred_at = _epoch(payload.get("created_at"))
    order_id = _order_id(data) if scope.startswith("store/order/") else None
    kind = _ORDER_KINDS.get(scope)
    if kind is None:
        return InboundEvent(
            kind=InboundKind.IGNORED,
            event_id=event_id,
            external_order_id=order_id,
            payload=payload,
            occurred_at=occurred_at,
            detail=f"scope {scope} needs no action",
        )
    if order_id is None:
        raise PayloadError(f"{scope}: data.id is missing or not a BigCommerce order id")
    detail = None
    if scope == Scope.ORDER_STATUS_UPDATED and new_status(data) is OrderStatusId.CANCELLED:
        kind, detail = InboundKind.ORDER_CANCELLED, "cancelled in BigCommerce (status 5)"
    return InboundEvent(
        kind=kind,
        event_id=event_id,
        external_order_id=order_id,
        payload=payload,
        occurred_at=occurred_at,
        detail=detail,
    )


def new_status(data: Mapping[str, Any]) -> OrderStatusId | None:
    status = data.get("status")
    value = integer(status.get("new_status_id")) if isinstance(status, Mapping) else None
    try:
        return OrderStatusId(value) if value is not None else None
    except ValueError:
        return None


def _order_id(data: Mapping[str, Any]) -> str | None:
    value = integer(data.get("id"))
    return str(value) if value is not None and value > 0 else None


def _epoch(value: Any) -> datetime | None:
    seconds = integer(value)
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None and seconds > 0 else None
