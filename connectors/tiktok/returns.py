"""TikTok Shop returns <-> the canonical return: a return of the Return and Refund API 202309
(`POST /return_refund/202309/returns/search`, `data.return_orders[]`) becomes a `ReturnRequest`;
its `return_status` decides what a RETURN_STATUS_CHANGE notification asks of Orderloop; a
receipt becomes the seller's decisions of `POST /return_refund/202309/returns/{return_id}/approve`.

The return, as TikTok's API reference gives it (search-returns-202309, reproduced from TikTok's
OAS in public SDK docs): `{return_id, order_id, return_type (REFUND | RETURN_AND_REFUND |
REPLACEMENT), return_status, role, return_reason, return_reason_text, create_time, update_time
(Unix seconds), return_tracking_number, return_provider_name, return_method, shipment_type,
seller_next_action_response: [{action, deadline}], refund_amount, return_line_items:
[{return_line_item_id, order_line_item_id, sku_id, seller_sku, sku_name, product_name,
refund_amount}]}`. A TikTok order line item is one unit (see `mapping`), and so is a return line
item: the return line items of one `sku_id` are one `ReturnLine` naming our order line (whose id
is that `sku_id`) with their count as the quantity, the first return line item's id as its id.

Which returns are Orderloop's: `RETURN_AND_REFUND` only. A `REFUND` (returnless) brings nothing
back to a warehouse, and a `REPLACEMENT` is answered by TikTok with a new order, which arrives as
any order does; both are acknowledged and left to the seller.

"Received" out: `APPROVE_RECEIVED_PACKAGE` (the seller confirms the returned package; TikTok then
refunds the buyer: `RETURN_OR_REFUND_REQUEST_SUCCESS`, then `..._COMPLETE`). A return TikTok still
has pending (nobody approved it in Seller Center: Orderloop's authorisation tells TikTok nothing)
is approved first (`APPROVE_RETURN`). Decisions per status: see `received_decisions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from connectors.base import MappingError, validated_by
from connectors.json_values import text
from connectors.signing import json_type
from connectors.tiktok.mapping import unix_time
from orderloop.returns_model import ReturnLabel, ReturnLine, ReturnOutcome, ReturnRequest


class ReturnStatus(StrEnum):
    """`return_status` values (search-returns-202309)."""

    REQUEST_PENDING = "RETURN_OR_REFUND_REQUEST_PENDING"
    REQUEST_REJECT = "REFUND_OR_RETURN_REQUEST_REJECT"
    AWAITING_BUYER_SHIP = "AWAITING_BUYER_SHIP"
    BUYER_SHIPPED_ITEM = "BUYER_SHIPPED_ITEM"
    REJECT_RECEIVE_PACKAGE = "REJECT_RECEIVE_PACKAGE"
    REQUEST_SUCCESS = "RETURN_OR_REFUND_REQUEST_SUCCESS"
    REQUEST_CANCEL = "RETURN_OR_REFUND_REQUEST_CANCEL"
    REQUEST_COMPLETE = "RETURN_OR_REFUND_REQUEST_COMPLETE"
    AWAITING_BUYER_RESPONSE = "AWAITING_BUYER_RESPONSE"
    REPLACEMENT_REQUEST_PENDING = "REPLACEMENT_REQUEST_PENDING"
    REPLACEMENT_REQUEST_REJECT = "REPLACEMENT_REQUEST_REJECT"
    REPLACEMENT_REQUEST_REFUND_SUCCESS = "REPLACEMENT_REQUEST_REFUND_SUCCESS"
    REPLACEMENT_REQUEST_CANCEL = "REPLACEMENT_REQUEST_CANCEL"
    REPLACEMENT_REQUEST_COMPLETE = "REPLACEMENT_REQUEST_COMPLETE"


class ReturnType(StrEnum):
    REFUND = "REFUND"
    RETURN_AND_REFUND = "RETURN_AND_REFUND"
    REPLACEMENT = "REPLACEMENT"


class Decision(StrEnum):
    """`decision` of approve-return-202309 and reject-return-202309."""

    APPROVE_REFUND = "APPROVE_REFUND"
    APPROVE_RETURN = "APPROVE_RETURN"
    APPROVE_RECEIVED_PACKAGE = "APPROVE_RECEIVED_PACKAGE"
    APPROVE_REPLACEMENT = "APPROVE_REPLACEMENT"
    ISSUE_REPLACEMENT_REFUND = "ISSUE_REPLACEMENT_REFUND"
    OFFER_PARTIAL_REFUND = "OFFER_PARTIAL_REFUND"
    REJECT_REFUND = "REJECT_REFUND"
    REJECT_RETURN = "REJECT_RETURN"
    REJECT_RECEIVED_PACKAGE = "REJECT_RECEIVED_PACKAGE"
    REJECT_REPLACEMENT = "REJECT_REPLACEMENT"


# A return Orderloop starts (or already runs): the buyer asked, or it was approved.
REQUESTED = frozenset({ReturnStatus.REQUEST_PENDING, ReturnStatus.AWAITING_BUYER_SHIP})
# Withdrawn or refused before anything was received: the return's cancel.
ENDED = frozenset({ReturnStatus.REQUEST_CANCEL, ReturnStatus.REQUEST_REJECT})
# The seller confirmed the package (or refused it): what our own push (or the seller) did.
DECIDED = frozenset({ReturnStatus.REQUEST_SUCCESS, ReturnStatus.REQUEST_COMPLETE, ReturnStatus.REJECT_RECEIVE_PACKAGE})
# Still open at TikTok: what the backstop poll delivers.
OPEN = REQUESTED | {ReturnStatus.BUYER_SHIPPED_ITEM}


def status_of(raw: Mapping[str, Any]) -> ReturnStatus | None:
    try:
        return ReturnStatus(str(raw.get("return_status")))
    except ValueError:
        return None


def is_return_of_goods(raw: Mapping[str, Any]) -> bool:
    """Whether goods come back to a warehouse (`RETURN_AND_REFUND`; module docstring)."""
    return raw.get("return_type") == ReturnType.RETURN_AND_REFUND


def external_return_id(raw: Mapping[str, Any]) -> str | None:
    value = text(raw.get("return_id"))
    return value if value and value.isdigit() else None


def return_order_id(raw: Mapping[str, Any]) -> str | None:
    value = text(raw.get("order_id"))
    return value if value and value.isdigit() else None


def return_label(raw: Mapping[str, Any]) -> ReturnLabel | None:
    """The buyer's parcel, once TikTok has its tracking number."""
    tracking = text(raw.get("return_tracking_number"))
    if not tracking:
        return None
    carrier = text(raw.get("return_provider_name")) or "unknown"
    return ReturnLabel(carrier=carrier, tracking_number=tracking, status=text(raw.get("return_status")))


def map_return(
    raw: Mapping[str, Any],
    *,
    return_id: str,
    tenant_id: str,
    channel_id: str,
    order_id: str,
    received_at: datetime,
) -> ReturnRequest:
    """A TikTok return (a row of the returns search) -> `ReturnRequest`; `MappingError` says why not."""
    if not isinstance(raw, Mapping):
        raise MappingError(f"the return must be a JSON object, not {json_type(raw)}")
    external_id = external_return_id(raw)
    if external_id is None:
        raise MappingError("return_id is missing or not a TikTok return id")
    order_ref = return_order_id(raw)
    if order_ref is None:
        raise MappingError(f"return {external_id}: order_id is missing: the return cannot be linked to its order")
    if not is_return_of_goods(raw):
        raise MappingError(
            f"return {external_id} is of type {raw.get('return_type')!r}: only RETURN_AND_REFUND brings goods back"
        )
    created = unix_time(raw.get("create_time")) or received_at
    reason = text(raw.get("return_reason")) or "unspecified"
    return validated_by(
        lambda: ReturnRequest(
            id=return_id,
            external_id=external_id,
            channel_id=channel_id,
            tenant_id=tenant_id,
            order_id=order_id,
            external_order_id=order_ref,
            created_at=created,
            updated_at=unix_time(raw.get("update_time")) or created,
            requested_at=created,
            outcome=ReturnOutcome.REFUND,
            status=text(raw.get("return_status")),
            return_line_items=return_lines(raw.get("return_line_items"), external_id, reason),
            labels=[label] if (label := return_label(raw)) else [],
            customer_note=text(raw.get("return_reason_text")),
        ),
    )


@dataclass
class _Group:
    first_id: str
    seller_sku: str
    name: str | None
    units: int = 0
    item_ids: list[str] = field(default_factory=list)


def return_lines(value: Any, return_id: str, reason: str) -> list[ReturnLine]:
    """The return line items grouped per `sku_id` (module docstring)."""
    if not isinstance(value, list) or not value:
        raise MappingError(f"return {return_id}: return_line_items is missing or empty")
    groups: dict[str, _Group] = {}
    for index, item in enumerate(value):
        where = f"return_line_items[{index}]"
        if not isinstance(item, Mapping):
            raise MappingError(f"{where} must be an object, not {json_type(item)}")
        line_id, sku_id = text(item.get("return_line_item_id")), text(item.get("sku_id"))
        if line_id is None or sku_id is None:
            raise MappingError(f"{where}: return_line_item_id and sku_id are required")
        seller_sku = text(item.get("seller_sku"))
        if seller_sku is None:
            raise MappingError(f"return {return_id}: {where} (sku {sku_id}) has no seller_sku")
        group = groups.setdefault(sku_id, _Group(line_id, seller_sku, text(item.get("product_name"))))
        group.units += 1
        group.item_ids.append(line_id)
    return [
        ReturnLine(
            id=g.first_id,
            order_line_item_id=sku_id,
            sku=g.seller_sku,
            quantity_returned=g.units,
            return_reason=reason.lower(),
            name=g.name,
        )
        for sku_id, g in groups.items()
    ]


def received_decisions(raw: Mapping[str, Any]) -> list[Decision] | None:
    """The approvals that tell TikTok the package was received, from where the return stands:
    none once TikTok has it approved (a retried push), APPROVE_RETURN then APPROVE_RECEIVED_PACKAGE
    while it is still pending, APPROVE_RECEIVED_PACKAGE once it awaits or is on its way back
    (a parcel may arrive before its tracking says so [?]: TikTok's docs name the decision for a
    package received, not the states it is allowed in). None: it can no longer be received
    (cancelled, rejected, refused, or not a return of goods)."""
    status = status_of(raw)
    if not is_return_of_goods(raw):
        return None
    if status in (ReturnStatus.REQUEST_SUCCESS, ReturnStatus.REQUEST_COMPLETE):
        return []
    if status is ReturnStatus.REQUEST_PENDING:
        return [Decision.APPROVE_RETURN, Decision.APPROVE_RECEIVED_PACKAGE]
    if status in (ReturnStatus.AWAITING_BUYER_SHIP, ReturnStatus.BUYER_SHIPPED_ITEM):
        return [Decision.APPROVE_RECEIVED_PACKAGE]
    return None


def decision_key(return_id: str, decision: Decision) -> str:
    """The `idempotency_key` of one decision on one return: our return id and the decision, so a
    retried call is recognised by TikTok and a second decision is not mistaken for it."""
    return f"{return_id}/{decision.value.lower()}"
