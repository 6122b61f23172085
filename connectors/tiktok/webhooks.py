"""TikTok Shop webhooks: the `Authorization` header (no scheme word) is the hex HMAC-SHA256 of the
app key followed by the raw body, keyed by the app secret (EcomPHP/tiktokshop-php
`src/Webhook.php`); verified first, then the body's `type` decides the event. The body is thin
(`{type, tts_notification_id, shop_id, timestamp, data: {order_id, ...}}`): the connector's
`confirm_event` reads the order itself before the gateway acts on it.

- 1 ORDER_STATUS_CHANGE: `AWAITING_SHIPMENT` -> ORDER_CREATED (the order may ship now: the
  buyer's remorse window is over); `CANCELLED` -> ORDER_CANCELLED; `UNPAID`, `ON_HOLD` -> IGNORED
  with the order's hold (read back first: `confirmed`); the statuses our own shipping causes ->
  IGNORED.
- 3 RECIPIENT_ADDRESS_UPDATE -> ORDER_UPDATED (re-mapped by the workflow: applied while nothing
  was sent, `edit_after_release` after).
- 11 CANCELLATION_STATUS_CHANGE: a buyer's request still pending the seller's answer ->
  ORDER_EXCEPTION `cancellation_requested` (its `cancel_id` the reference, `cancel_order_sla_time`
  the deadline); the order's resolution answers it (`TikTokConnector.resolve_channel_exception`).
  A decided one -> IGNORED: once approved, TikTok's order status change to CANCELLED cancels the
  order.
- 12 RETURN_STATUS_CHANGE (`data: {order_id, return_id, return_status, return_type, return_role,
  create_time, update_time}`, as phamkhanhminhman97/shopee-tiktok-lazada-api
  `src/module/tiktokshops/dto/response/webhook.response.ts` types it): a return of goods that is
  pending, approved, shipped back, withdrawn or refused -> RETURN_REQUESTED with the return id, a
  hint only: the connector's `confirm_event` reads the return back (`returns/search`) and what it
  says decides (`confirmed_return`). A returnless refund, a replacement, or a status that follows
  the seller's own decision on the package -> IGNORED without reading anything.
- Any other type (package updates, products, authorisation) -> IGNORED.

The delivery id is `tts_notification_id` (the same on TikTok's retries).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import replace
from enum import IntEnum
from typing import Any

from connectors.base import ChannelHold, InboundEvent, InboundKind, PayloadError, SignatureError
from connectors.json_values import integer, text
from connectors.signing import hex_hmac_sha256, json_object
from connectors.tiktok import returns
from connectors.tiktok.mapping import (
    AFTER_SHIPPING,
    NOT_YET_SHIPPABLE,
    OrderStatus,
    hold_of,
    hold_reason,
    seller_ships,
    status_of,
    unix_time,
)
from orderloop.contracts import ChannelException
from orderloop.contracts.returns import return_workflow_id
from orderloop.returns_model import ReturnProgress, ReturnProgressKind

SIGNATURE_HEADER = "Authorization"


class NotificationType(IntEnum):
    """The webhook `type` values (EcomPHP constants; 11 from TikTok's event list [?])."""

    ORDER_STATUS_CHANGE = 1
    REVERSE_ORDER_STATUS_CHANGE = 2
    RECIPIENT_ADDRESS_UPDATE = 3
    PACKAGE_UPDATE = 4
    PRODUCT_STATUS_CHANGE = 5
    SELLER_DEAUTHORIZATION = 6
    UPCOMING_AUTHORIZATION_EXPIRATION = 7
    CANCELLATION_STATUS_CHANGE = 11
    RETURN_STATUS_CHANGE = 12


def webhook_signature(app_key: str, app_secret: str, body: bytes) -> str:
    return hex_hmac_sha256(app_secret, app_key.encode() + body)


def verify(app_key: str, app_secret: str, headers: Mapping[str, str], body: bytes) -> None:
    given = headers.get(SIGNATURE_HEADER) or headers.get(SIGNATURE_HEADER.lower())
    if not given:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    if not hmac.compare_digest(given.strip(), webhook_signature(app_key, app_secret, body)):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the app key and body")


def parse_webhook(
    app_key: str, app_secret: str, headers: Mapping[str, str], body: bytes, shop_id: str | None = None
) -> InboundEvent:
    """Verify (`SignatureError`), then parse (`PayloadError` with the reason). With `shop_id` a
    notification for another shop of the same app is refused."""
    verify(app_key, app_secret, headers, body)
    payload = json_object(body)
    kind = integer(payload.get("type"))
    if kind is None:
        raise PayloadError("type is missing or not a number")
    notification_id = text(payload.get("tts_notification_id"))
    if notification_id is None:
        raise PayloadError("tts_notification_id is missing")
    if shop_id and text(payload.get("shop_id")) != shop_id:
        raise PayloadError(f"shop_id is {payload.get('shop_id')!r}; this channel is the shop {shop_id!r}")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise PayloadError("data is missing or not an object")
    order_id = text(data.get("order_id"))
    occurred_at = unix_time(data.get("update_time")) or unix_time(payload.get("timestamp"))

    def event(kind: InboundKind, detail: str | None = None, hold: ChannelHold | None = None) -> InboundEvent:
        return InboundEvent(kind, notification_id, order_id, payload, occurred_at=occurred_at, detail=detail, hold=hold)

    if kind in (NotificationType.ORDER_STATUS_CHANGE, NotificationType.RECIPIENT_ADDRESS_UPDATE) and order_id is None:
        raise PayloadError(f"type {kind}: data.order_id is missing: the order cannot be identified")
    if kind == NotificationType.ORDER_STATUS_CHANGE:
        return status_event(text(data.get("order_status")), event)
    if kind == NotificationType.RECIPIENT_ADDRESS_UPDATE:
        return event(InboundKind.ORDER_UPDATED, "the buyer changed the recipient address")
    if kind == NotificationType.CANCELLATION_STATUS_CHANGE:
        if order_id is not None and text(data.get("cancel_status")) == CANCELLATION_PENDING:
            case = cancellation_case(data)
            return InboundEvent(
                InboundKind.ORDER_EXCEPTION,
                notification_id,
                order_id,
                payload,
                occurred_at=occurred_at,
                detail=case.message,
                channel_exception=case,
            )
        return event(InboundKind.IGNORED, cancellation_detail(data))
    if kind == NotificationType.RETURN_STATUS_CHANGE:
        return return_hint(data, event(InboundKind.RETURN_REQUESTED))
    name = NotificationType(kind).name if kind in NotificationType._value2member_map_ else str(kind)
    return event(InboundKind.IGNORED, f"notification type {name} needs no action")


def status_event(status: str | None, event: Callable[..., InboundEvent]) -> InboundEvent:
    """The event an order status calls for (module docstring)."""
    if status == OrderStatus.AWAITING_SHIPMENT:
        return event(InboundKind.ORDER_CREATED)
    if status == OrderStatus.CANCELLED:
        return event(InboundKind.ORDER_CANCELLED, "cancelled in TikTok Shop")
    if status in NOT_YET_SHIPPABLE:
        held = OrderStatus(status)
        # The hint's hold: `confirm_event` reads the order before it is recorded (an FBT order
        # is never ours to hold).
        return event(InboundKind.IGNORED, hold_reason(held), ChannelHold(reason=hold_reason(held), status=str(held)))
    if status in AFTER_SHIPPING:
        return event(InboundKind.IGNORED, f"status {status} follows our own shipping")
    return event(InboundKind.IGNORED, f"order status {status!r} needs no action")


# `cancel_status` of a request the seller has still to answer (names as SDKs show them [?]).
CANCELLATION_PENDING = "CANCELLATION_REQUEST_PENDING"
CANCELLATION_REQUESTED = "cancellation_requested"


def cancellation_case(data: Mapping[str, Any]) -> ChannelException:
    """A pending cancellation request as the order's channel exception."""
    cancel_id = text(data.get("cancel_id"))
    return ChannelException(
        kind=CANCELLATION_REQUESTED,
        message=cancellation_detail(data),
        deadline=unix_time(data.get("cancel_order_sla_time")),
        reference=cancel_id,
        detail={"cancelId": cancel_id, "requestedBy": text(data.get("cancellations_role")) or "BUYER"},
    )


def cancellation_detail(data: Mapping[str, Any]) -> str:
    deadline = unix_time(data.get("cancel_order_sla_time"))
    by = f", TikTok's decision deadline {deadline.isoformat()}" if deadline else ""
    return (
        f"cancellation {text(data.get('cancel_id')) or '?'} is {text(data.get('cancel_status')) or '?'} "
        f"(requested by {text(data.get('cancellations_role')) or 'the buyer'}{by}): the seller approves or rejects it"
    )


def confirmed(event: InboundEvent, raw: dict[str, Any]) -> InboundEvent:
    """An order event as the order read back says: cancelled is a cancel whatever the
    notification; not yet shippable, or shipped by TikTok, starts nothing; a status change to
    AWAITING_SHIPMENT starts the order; an address update is an edit (also after shipping
    started: the running order decides). The order's JSON is the payload."""
    status = status_of(raw)
    at = unix_time(raw.get("update_time")) or event.occurred_at

    def as_(kind: InboundKind, detail: str | None = event.detail, hold: ChannelHold | None = None) -> InboundEvent:
        return replace(event, kind=kind, payload=raw, occurred_at=at, detail=detail, hold=hold)

    if status is OrderStatus.CANCELLED:
        reason = str(raw.get("cancel_reason") or "").strip()
        return as_(
            InboundKind.ORDER_CANCELLED,
            f"cancelled in TikTok Shop ({reason})" if reason else "cancelled in TikTok Shop",
        )
    if not seller_ships(raw):
        return as_(InboundKind.IGNORED, "TikTok fulfils or labels this order itself: no seller warehouse ships it")
    if status is None:
        return as_(InboundKind.IGNORED, f"the order is {raw.get('status')}: it starts once it is AWAITING_SHIPMENT")
    if status in NOT_YET_SHIPPABLE:
        return as_(InboundKind.IGNORED, hold_reason(status), hold_of(raw))
    if event.kind is InboundKind.IGNORED:
        # A hold's notification of an order TikTok moved on since: its own notification acts.
        return as_(InboundKind.IGNORED, f"the order is {status} now: no longer held")
    if event.kind is InboundKind.ORDER_CREATED and status is not OrderStatus.AWAITING_SHIPMENT:
        return as_(InboundKind.IGNORED, f"status {status} follows our own shipping")
    if event.kind is InboundKind.ORDER_CANCELLED:
        # A cancel notification whose order is not cancelled (TikTok never undoes one): stale.
        return as_(InboundKind.IGNORED, f"the order is {status}, not cancelled")
    return as_(event.kind)


def return_hint(data: Mapping[str, Any], event: InboundEvent) -> InboundEvent:
    """A RETURN_STATUS_CHANGE as the notification says it (module docstring): a hint to confirm,
    or IGNORED when nothing can come of it."""
    return_id = text(data.get("return_id"))
    if return_id is None:
        raise PayloadError(f"type {NotificationType.RETURN_STATUS_CHANGE}: data.return_id is missing")
    status = returns.status_of(data)
    detail = f"return {return_id} of order {event.external_order_id or '?'} is {data.get('return_status')}"
    if data.get("return_type") is not None and not returns.is_return_of_goods(data):
        kind = data.get("return_type")
        return replace(event, kind=InboundKind.IGNORED, detail=f"{detail}: a {kind} request brings nothing back")
    if status is None or status in returns.DECIDED:
        return replace(event, kind=InboundKind.IGNORED, detail=f"{detail}: nothing to do")
    return replace(event, external_return_id=return_id, detail=detail)


def confirmed_return(event: InboundEvent, raw: dict[str, Any] | None, channel_id: str) -> InboundEvent:
    """A return event as the return read back says: pending or approved starts the return (once:
    its workflow id derives from the return id); shipped back is the parcel in transit with its
    tracking; withdrawn or refused is its cancel; anything else needs nothing. Its JSON becomes
    the payload."""
    if raw is None:
        return replace(event, kind=InboundKind.IGNORED, detail=f"TikTok has no return {event.external_return_id}")
    return_id = returns.external_return_id(raw) or str(event.external_return_id)
    status = returns.status_of(raw)
    at = unix_time(raw.get("update_time")) or event.occurred_at
    detail = f"return {return_id} of order {raw.get('order_id')} is {raw.get('return_status')}"

    def as_(kind: InboundKind, **changes: Any) -> InboundEvent:
        return replace(
            event,
            kind=kind,
            payload=raw,
            external_order_id=returns.return_order_id(raw) or event.external_order_id,
            external_return_id=return_id,
            occurred_at=at,
            **{"detail": detail, **changes},
        )

    if not returns.is_return_of_goods(raw):
        return as_(InboundKind.IGNORED, detail=f"{detail}: a {raw.get('return_type')} request brings nothing back")

    def progress(kind: ReturnProgressKind, reason: str | None) -> ReturnProgress:
        return ReturnProgress(
            return_id=return_workflow_id(channel_id, return_id),
            kind=kind,
            label=returns.return_label(raw),
            reason=reason,
            at=at,
            event_id=event.event_id,
        )

    if status in returns.REQUESTED:
        return as_(InboundKind.RETURN_REQUESTED)
    if status is returns.ReturnStatus.BUYER_SHIPPED_ITEM:
        label = returns.return_label(raw)
        why = f"shipped back: {label.carrier} {label.tracking_number}" if label else "shipped back by the buyer"
        return as_(InboundKind.RETURN_PROGRESS, return_progress=progress(ReturnProgressKind.IN_TRANSIT, why))
    if status in returns.ENDED:
        withdrawn = status is returns.ReturnStatus.REQUEST_CANCEL
        why = f"{'withdrawn' if withdrawn else 'rejected'} in TikTok Shop ({raw.get('return_status')})"
        return as_(InboundKind.RETURN_PROGRESS, return_progress=progress(ReturnProgressKind.CANCELLED, why))
    return as_(InboundKind.IGNORED, detail=f"{detail}: nothing to do")
