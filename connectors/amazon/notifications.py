"""Amazon's `ORDER_CHANGE` notification, as the gateway receives it: Amazon delivers notifications
to an SQS queue or an EventBridge bus only (never to an HTTPS endpoint), so a relay forwards each
one to `POST /webhooks/{channel}`: an EventBridge API destination (the event as EventBridge
carries it, the notification in `detail`) or an SQS consumer (the message body: the notification
itself). Both are accepted.

Amazon signs nothing, so a delivery is accepted only with the channel's `notification_key` in the
settings' `notification_key_header` (an API destination's API-key authorisation sends it), and it
is only ever a trigger: `confirm_event` reads the order with `getOrder` and that answer decides
(a forged or stale notification cannot start, cancel or ship anything). The delivery id is
`NotificationMetadata.NotificationId` (the same for every delivery of one notification).

What the notification hints (its `Summary.OrderStatus`), before the order is read: Pending (and
PendingAvailability) -> IGNORED with the order's hold (the order is not started until Amazon marks it Unshipped, when
another ORDER_CHANGE comes); Canceled, or a BuyerRequestedChange with an item's
`IsBuyerRequestedCancel` -> ORDER_CANCELLED; Unshipped -> ORDER_CREATED; anything else -> IGNORED.
Other notification types are IGNORED.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from connectors.base import ChannelHold, InboundEvent, InboundKind, PayloadError
from connectors.json_values import text, utc_time
from connectors.signing import json_object, verify_header_token

ORDER_CHANGE = "ORDER_CHANGE"


class OrderChangeType(StrEnum):
    ORDER_STATUS_CHANGE = "OrderStatusChange"
    BUYER_REQUESTED_CHANGE = "BuyerRequestedChange"
    DELIVERY_TIP_CHANGE = "DeliveryTipChange"


class SummaryStatus(StrEnum):
    """`Summary.OrderStatus` of ORDER_CHANGE (the Orders API v0 names)."""

    PENDING = "Pending"
    PENDING_AVAILABILITY = "PendingAvailability"
    UNSHIPPED = "Unshipped"
    PARTIALLY_SHIPPED = "PartiallyShipped"
    SHIPPED = "Shipped"
    CANCELED = "Canceled"
    UNFULFILLABLE = "Unfulfillable"


def notification_of(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """The notification itself: an EventBridge event's `detail`, or the SQS body as it is."""
    detail = document.get("detail")
    if isinstance(detail, Mapping) and "NotificationType" in detail:
        return detail
    return document


def parse_notification(key: str, key_header: str, headers: Mapping[str, str], body: bytes) -> InboundEvent:
    """Check the relay's key (`SignatureError`), then read the notification (`PayloadError`)."""
    verify_header_token(
        key, key_header, headers, missing_hint="set it on the relay that forwards Amazon's notifications"
    )
    document = json_object(body)
    notification = notification_of(document)
    kind_of = text(notification.get("NotificationType"))
    if kind_of is None:
        raise PayloadError("NotificationType is missing: the body is no SP-API notification")
    metadata = notification.get("NotificationMetadata")
    event_id = text(metadata.get("NotificationId")) if isinstance(metadata, Mapping) else None
    if event_id is None:
        raise PayloadError("NotificationMetadata.NotificationId is missing")
    occurred_at = utc_time(notification.get("EventTime"))
    if kind_of != ORDER_CHANGE:
        return InboundEvent(
            InboundKind.IGNORED,
            event_id,
            payload=document,
            occurred_at=occurred_at,
            detail=f"{kind_of} needs no action",
        )
    payload = notification.get("Payload")
    change = payload.get("OrderChangeNotification") if isinstance(payload, Mapping) else None
    if not isinstance(change, Mapping):
        raise PayloadError("ORDER_CHANGE without Payload.OrderChangeNotification")
    order_id = text(change.get("AmazonOrderId"))
    if order_id is None:
        raise PayloadError("ORDER_CHANGE without AmazonOrderId: the order cannot be identified")
    trigger = change.get("OrderChangeTrigger")
    changed_at = utc_time(trigger.get("TimeOfOrderChange")) if isinstance(trigger, Mapping) else None
    kind, detail = _hint(change)
    return InboundEvent(
        kind=kind,
        event_id=event_id,
        external_order_id=order_id,
        payload=document,
        occurred_at=changed_at or occurred_at,
        detail=detail,
        hold=_held(change, detail),
    )


def _held(change: Mapping[str, Any], detail: str) -> ChannelHold | None:
    """Amazon's hold of a Pending (or PendingAvailability) order, as the notification's summary
    says: the order is not read for it (a Pending order has no address or prices to read)."""
    summary = change.get("Summary")
    status = text(summary.get("OrderStatus")) if isinstance(summary, Mapping) else None
    if status in (SummaryStatus.PENDING, SummaryStatus.PENDING_AVAILABILITY):
        return ChannelHold(reason=detail, status=str(status))
    return None


def _hint(change: Mapping[str, Any]) -> tuple[InboundKind, str]:
    summary = change.get("Summary")
    summary = summary if isinstance(summary, Mapping) else {}
    status = text(summary.get("OrderStatus"))
    change_type = text(change.get("OrderChangeType"))
    items = [i for i in summary.get("OrderItems") or [] if isinstance(i, Mapping)]
    if status in (SummaryStatus.PENDING, SummaryStatus.PENDING_AVAILABILITY):
        return InboundKind.IGNORED, f"{status}: not started until Amazon marks the order Unshipped"
    if status == SummaryStatus.CANCELED:
        return InboundKind.ORDER_CANCELLED, "cancelled at Amazon (unconfirmed)"
    if change_type == OrderChangeType.BUYER_REQUESTED_CHANGE and any(i.get("IsBuyerRequestedCancel") for i in items):
        return InboundKind.ORDER_CANCELLED, "buyer requested cancel (unconfirmed)"
    if status == SummaryStatus.UNSHIPPED:
        return InboundKind.ORDER_CREATED, "Unshipped (unconfirmed)"
    return InboundKind.IGNORED, f"{change_type or 'change'} to {status or 'an unknown status'} needs no action"
