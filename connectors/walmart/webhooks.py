"""Walmart's ORDER_UPDATES notification (event version V1, resource ORDER), verified as Walmart
signs a subscription whose `authMethod` is HMAC: the header the subscription names
(`authHeaderName`, the channel's `webhook_auth_header`) carries HMAC-SHA256 of the complete body
keyed by the client secret. Walmart does not say how the digest is encoded; base64 and lowercase
hex are both accepted (each compared in constant time), and the sandbox sends base64.

`payload.meta.subEventType` (also read at `payload.subEventType`) decides the event:
- PO_CREATED -> ORDER_CREATED;
- INTENT_TO_CANCEL (the customer asked to cancel before it ships) and FRAUD_CANCEL -> ORDER_CANCELLED:
  before the shipping request is sent the order is cancelled, after it the workflow asks the 3PL
  to cancel and, if the parcel left, opens `cancel_after_ship`;
- PO_LINE_AUTOCANCELLED -> ORDER_CANCELLED when every line is cancelled, else ORDER_UPDATED (the
  re-mapped order leaves the cancelled line out);
- anything else -> IGNORED.

RETURN_CREATED (event version V1, resource RETURNS; developer.walmart.com/us-marketplace/docs/
return-notifications: "triggered when a customer initiates a return", `payload{partnerId,
partnerName, returnOrders[{purchaseOrderId, productName, returnOrderId, returnInitiatedDate,
returnReason, quantity, trackingUrl[], trackingId[], refundStatus}]}`, one entry per returned
line) comes through the same subscription mechanism, signed the same way, and is RETURN_REQUESTED
for its `returnOrderId`. Its entries carry no SKU or line number: `confirm_event` reads the
return order back (`GET /v3/returns?returnOrderId=`). Entries naming another return order than
the first are named in the event's detail (the connector logs them; `poll_returns` finds them).
The other return events (delivered, invoiced) need no action: the return workflow follows the
warehouse's receipt, not Walmart's.

The delivery id is `source.eventId` ("use as an idempotency key", Walmart's guide), the time
`source.eventTime`. The notification's order block is thin; `confirm_event` of the connector
reads the purchase order back (`GET /v3/orders/{id}`) before the gateway acts on it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from connectors.base import InboundEvent, InboundKind, PayloadError, SignatureError
from connectors.json_values import text, utc_time
from connectors.signing import json_object
from connectors.walmart.mapping import (
    all_cancelled,
    external_order_id,
    line_statuses,
    obj,
    order_lines,
    purchase_order_of,
)

EVENT_TYPE = "ORDER_UPDATES"
RETURN_CREATED = "RETURN_CREATED"


class SubEvent(StrEnum):
    PO_CREATED = "PO_CREATED"
    INTENT_TO_CANCEL = "INTENT_TO_CANCEL"
    PO_LINE_AUTOCANCELLED = "PO_LINE_AUTOCANCELLED"
    FRAUD_CANCEL = "FRAUD_CANCEL"


def signature(secret: str, body: bytes) -> str:
    """What Walmart puts in the auth header of an HMAC subscription (base64)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(secret: str, header: str, headers: Mapping[str, str], body: bytes) -> None:
    given = (headers.get(header) or "").strip()
    if not given:
        raise SignatureError(f"missing {header} header (the HMAC of the subscription)")
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    candidates = (base64.b64encode(digest).decode(), digest.hex())
    if not any(hmac.compare_digest(given, c) for c in candidates):
        raise SignatureError(f"{header} does not match the body (HMAC-SHA256 with the client secret)")


def sub_event_of(payload: Mapping[str, Any]) -> str | None:
    meta = obj(payload.get("meta"))
    return text(meta.get("subEventType")) or text(payload.get("subEventType"))


def parse_webhook(secret: str, header: str, headers: Mapping[str, str], body: bytes) -> InboundEvent:
    """Verify (`SignatureError`), then parse (`PayloadError` with the reason)."""
    verify(secret, header, headers, body)
    document = json_object(body)
    source = document.get("source")
    payload = document.get("payload")
    if not isinstance(source, dict) or not isinstance(payload, dict):
        raise PayloadError("a Walmart notification has a source and a payload object")
    event_type = text(source.get("eventType"))
    event_id = text(source.get("eventId"))
    occurred_at = utc_time(source.get("eventTime"))
    sub_event = sub_event_of(payload)
    if event_type == RETURN_CREATED:
        return _return_created(document, payload, event_id, occurred_at)
    if event_type != EVENT_TYPE and event_type not in set(SubEvent):
        return InboundEvent(
            kind=InboundKind.IGNORED,
            event_id=event_id,
            payload=document,
            occurred_at=occurred_at,
            detail=f"event {event_type} needs no action",
        )
    sub_event = sub_event or event_type
    external_id = external_order_id(document)
    if sub_event not in set(SubEvent):
        return InboundEvent(
            kind=InboundKind.IGNORED,
            event_id=event_id,
            external_order_id=external_id,
            payload=document,
            occurred_at=occurred_at,
            detail=f"{EVENT_TYPE} {sub_event} needs no action",
        )
    if external_id is None:
        raise PayloadError(f"{EVENT_TYPE} {sub_event}: purchaseOrderId is missing: the order cannot be identified")
    kind, detail = _kind(SubEvent(sub_event), purchase_order_of(document))
    return InboundEvent(
        kind=kind,
        event_id=event_id,
        external_order_id=external_id,
        payload=document,
        occurred_at=occurred_at,
        detail=detail,
    )


def _return_created(
    document: dict[str, Any], payload: Mapping[str, Any], event_id: str | None, occurred_at: datetime | None
) -> InboundEvent:
    entries = [e for e in payload.get("returnOrders") or [] if isinstance(e, Mapping)]
    return_ids = list(dict.fromkeys(r for e in entries if (r := text(e.get("returnOrderId")))))
    if not return_ids:
        raise PayloadError(
            f"{RETURN_CREATED}: payload.returnOrders[].returnOrderId is missing: the return cannot be identified"
        )
    first = return_ids[0]
    purchase_order = next(
        (text(e.get("purchaseOrderId")) for e in entries if text(e.get("returnOrderId")) == first), None
    )
    others = return_ids[1:]
    return InboundEvent(
        kind=InboundKind.RETURN_REQUESTED,
        event_id=event_id,
        external_order_id=purchase_order,
        external_return_id=first,
        payload=document,
        occurred_at=occurred_at,
        detail=f"also names return orders {', '.join(others)}" if others else None,
    )


def _kind(sub_event: SubEvent, order: Mapping[str, Any]) -> tuple[InboundKind, str | None]:
    match sub_event:
        case SubEvent.PO_CREATED:
            return InboundKind.ORDER_CREATED, None
        case SubEvent.INTENT_TO_CANCEL:
            return InboundKind.ORDER_CANCELLED, f"the customer asked Walmart to cancel ({_reason(order)})"
        case SubEvent.FRAUD_CANCEL:
            return InboundKind.ORDER_CANCELLED, f"cancelled by Walmart's fraud review ({_reason(order)})"
    if _every_line_cancelled(order):
        return (
            InboundKind.ORDER_CANCELLED,
            "every line auto-cancelled by Walmart (not shipped by its ship date + 4 days)",
        )
    return InboundKind.ORDER_UPDATED, "a line auto-cancelled by Walmart"


def _flat_lines(order: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The legacy events' flat `orderLines` list (`status`, `cancellationReason` per line)."""
    lines = order.get("orderLines")
    return [ln for ln in lines if isinstance(ln, Mapping)] if isinstance(lines, list) else []


def _every_line_cancelled(order: Mapping[str, Any]) -> bool:
    flat = _flat_lines(order)
    if flat:
        return all((text(ln.get("status")) or "").upper() == "CANCELLED" for ln in flat)
    return all_cancelled(order)


def _reason(order: Mapping[str, Any]) -> str:
    reasons = [text(ln.get("cancellationReason")) for ln in _flat_lines(order)]
    reasons += [text(s.get("cancellationReason")) for ln in order_lines(order) for s in line_statuses(ln)]
    found = [r for r in reasons if r]
    return found[0] if found else "no reason given"
