"""Shopify webhooks: `X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256 of the raw body, keyed by the
app's client secret) is verified first, then the topic in `X-Shopify-Topic` decides the event.

- `orders/create` -> ORDER_CREATED; `orders/updated` -> ORDER_UPDATED (the workflow re-maps the
  order JSON), except that an update carrying `cancelled_at` is an ORDER_CANCELLED: Shopify
  sends `orders/updated` beside `orders/cancelled`, and either may arrive first or alone.
- `orders/cancelled` -> ORDER_CANCELLED, its reason from `cancel_reason`.
- `orders/edited` is IGNORED (with the order id, for the log): its body is an `order_edit`
  summary of deltas, not the order, and Shopify follows every committed edit with an
  `orders/updated` carrying the edited order (`current_quantity`), which is what the workflow
  re-maps.
- Returns (`read_returns`): `returns/request` (a customer asked) and `returns/approve` (a return
  opened, also one the merchant created in the admin) -> RETURN_REQUESTED with the return id in
  `external_return_id` (the return workflow's id derives from it, so the two topics of one
  return start one workflow); `returns/cancel` and `returns/decline` -> RETURN_PROGRESS
  (cancelled, with the decline reason); the other return topics (`returns/close`,
  `returns/reopen`, `returns/process`, `returns/update`, `reverse_deliveries/*`,
  `reverse_fulfillment_orders/dispose`: Orderloop's own dispositions) are IGNORED.
- Any other topic (`orders/paid`, `orders/fulfilled`, `fulfillments/create`, ...) is IGNORED.

The delivery id for deduplication is `X-Shopify-Event-Id` (the same for every delivery of one
event, retries included), else `X-Shopify-Webhook-Id`. `occurred_at` is the order's
`updated_at` (the state the payload shows, which tells a stale retry from a newer one), else
`X-Shopify-Triggered-At`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from connectors.base import InboundEvent, InboundKind, PayloadError
from connectors.shopify.mapping import external_order_id
from connectors.shopify.returns import external_return_id, return_order_id
from connectors.signing import json_object, verify_base64_hmac
from orderloop.contracts.returns import return_workflow_id
from orderloop.returns_model import ReturnProgress, ReturnProgressKind

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
SHOP_DOMAIN_HEADER = "X-Shopify-Shop-Domain"
API_VERSION_HEADER = "X-Shopify-API-Version"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
EVENT_ID_HEADER = "X-Shopify-Event-Id"
TRIGGERED_AT_HEADER = "X-Shopify-Triggered-At"


class ShopifyTopic(StrEnum):
    ORDERS_CREATE = "orders/create"
    ORDERS_UPDATED = "orders/updated"
    ORDERS_CANCELLED = "orders/cancelled"
    ORDERS_EDITED = "orders/edited"
    ORDERS_PAID = "orders/paid"
    ORDERS_FULFILLED = "orders/fulfilled"
    ORDERS_PARTIALLY_FULFILLED = "orders/partially_fulfilled"
    FULFILLMENTS_CREATE = "fulfillments/create"
    RETURNS_REQUEST = "returns/request"
    RETURNS_APPROVE = "returns/approve"
    RETURNS_DECLINE = "returns/decline"
    RETURNS_CANCEL = "returns/cancel"
    RETURNS_CLOSE = "returns/close"
    RETURNS_REOPEN = "returns/reopen"
    RETURNS_PROCESS = "returns/process"
    RFO_DISPOSE = "reverse_fulfillment_orders/dispose"


_ORDER_KINDS: dict[str, InboundKind] = {
    ShopifyTopic.ORDERS_CREATE: InboundKind.ORDER_CREATED,
    ShopifyTopic.ORDERS_UPDATED: InboundKind.ORDER_UPDATED,
    ShopifyTopic.ORDERS_CANCELLED: InboundKind.ORDER_CANCELLED,
}


def parse_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    shop_domain: str | None = None,
    channel_id: str = "shopify",
) -> InboundEvent:
    """Verify (`SignatureError`), then parse (`PayloadError` with the reason). With `shop_domain`
    a delivery for another shop is refused: one app's secret signs for every shop it is on."""
    lower = {k.lower(): v for k, v in headers.items()}
    verify_base64_hmac(secret, lower.get(HMAC_HEADER.lower()), body, HMAC_HEADER)
    topic = (lower.get(TOPIC_HEADER.lower()) or "").strip()
    if not topic:
        raise PayloadError(f"missing {TOPIC_HEADER} header")
    shop = (lower.get(SHOP_DOMAIN_HEADER.lower()) or "").strip().lower()
    if shop_domain and shop != shop_domain.lower():
        raise PayloadError(f"{SHOP_DOMAIN_HEADER} is {shop or 'missing'!r}; this channel is the shop {shop_domain!r}")
    payload = json_object(body)
    event_id = (lower.get(EVENT_ID_HEADER.lower()) or lower.get(WEBHOOK_ID_HEADER.lower()) or "").strip() or None
    triggered_at = _timestamp(lower.get(TRIGGERED_AT_HEADER.lower()))
    if topic == ShopifyTopic.ORDERS_EDITED:
        return _order_edit(payload, event_id, triggered_at)
    if topic in _RETURN_TOPICS:
        return _return_event(topic, payload, event_id, triggered_at, channel_id)
    kind = _ORDER_KINDS.get(topic)
    if kind is None:
        return InboundEvent(
            kind=InboundKind.IGNORED,
            event_id=event_id,
            external_order_id=external_order_id(payload) if topic.startswith("orders/") else None,
            payload=payload,
            occurred_at=triggered_at,
            detail=f"topic {topic} needs no action",
        )
    external_id = external_order_id(payload)
    if external_id is None:
        raise PayloadError(f"{topic}: the order id is missing or not a Shopify id: the order cannot be identified")
    detail = None
    if kind is InboundKind.ORDER_CANCELLED or payload.get("cancelled_at"):
        kind = InboundKind.ORDER_CANCELLED
        detail = _cancel_detail(payload)
    return InboundEvent(
        kind=kind,
        event_id=event_id,
        external_order_id=external_id,
        payload=payload,
        occurred_at=_timestamp(payload.get("updated_at")) or triggered_at,
        detail=detail,
    )


_RETURN_TOPICS = frozenset(
    {
        ShopifyTopic.RETURNS_REQUEST,
        ShopifyTopic.RETURNS_APPROVE,
        ShopifyTopic.RETURNS_DECLINE,
        ShopifyTopic.RETURNS_CANCEL,
    }
)


def _return_event(
    topic: str, payload: dict[str, Any], event_id: str | None, triggered_at: datetime | None, channel_id: str
) -> InboundEvent:
    return_id = external_return_id(payload)
    if return_id is None:
        raise PayloadError(f"{topic}: the return id is missing or not a Shopify id")
    order_id = return_order_id(payload)
    at = _timestamp(payload.get("updated_at")) or triggered_at
    if topic in (ShopifyTopic.RETURNS_REQUEST, ShopifyTopic.RETURNS_APPROVE):
        return InboundEvent(
            kind=InboundKind.RETURN_REQUESTED,
            event_id=event_id,
            external_order_id=order_id,
            external_return_id=return_id,
            payload=payload,
            occurred_at=at,
            detail=f"{topic}: return {payload.get('name') or return_id} of order {order_id}",
        )
    decline = payload.get("decline")
    reason = "cancelled in Shopify"
    if topic == ShopifyTopic.RETURNS_DECLINE:
        said = decline.get("note") or decline.get("reason") if isinstance(decline, dict) else None
        reason = f"declined in Shopify ({said})" if said else "declined in Shopify"
    progress = ReturnProgress(
        return_id=return_workflow_id(channel_id, return_id),
        kind=ReturnProgressKind.CANCELLED,
        reason=reason,
        at=at,
        event_id=event_id,
    )
    return InboundEvent(
        kind=InboundKind.RETURN_PROGRESS,
        event_id=event_id,
        external_order_id=order_id,
        external_return_id=return_id,
        payload=payload,
        return_progress=progress,
        occurred_at=at,
        detail=reason,
    )


def _order_edit(payload: dict[str, Any], event_id: str | None, triggered_at: datetime | None) -> InboundEvent:
    edit = payload.get("order_edit")
    if not isinstance(edit, dict):
        raise PayloadError("orders/edited: the body has no order_edit object")
    order_id = edit.get("order_id")
    external_id = external_order_id({"id": order_id})
    if external_id is None:
        raise PayloadError("orders/edited: order_edit.order_id is missing or not a Shopify id")
    return InboundEvent(
        kind=InboundKind.IGNORED,
        event_id=event_id,
        external_order_id=external_id,
        payload=payload,
        occurred_at=_timestamp(edit.get("committed_at")) or triggered_at,
        detail="an order edit reaches the order through the orders/updated Shopify sends after it",
    )


def _cancel_detail(payload: Mapping[str, Any]) -> str:
    reason = payload.get("cancel_reason")
    text = reason.strip() if isinstance(reason, str) else ""
    return f"cancelled in Shopify (reason: {text})" if text else "cancelled in Shopify"


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
