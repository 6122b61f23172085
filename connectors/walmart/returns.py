"""Walmart return orders <-> the canonical return: a return order (an element of `GET /v3/returns`'
`returnOrders`) becomes a `ReturnRequest`, and a `ReturnReceipt` becomes the body of
`POST /v3/returns/{returnOrderId}/refund`.

The shapes, as Walmart's Returns API reference has them (developer.walmart.com/us-marketplace/
reference/getreturns and .../issuerefund; the same OpenAPI in highsidelabs/walmart-api-php,
docs/Models/MP/US/Returns/*, and api-evangelist/walmart, openapi/walmart-marketplace-returns-
openapi-original.yml, whose example the test fixtures follow):
- a return order: `{returnOrderId (the RMA number), customerOrderId, customerEmailId,
  customerName{firstName, lastName}, returnOrderDate (ISO), returnByDate, returnType (REFUND |
  REPLACEMENT), refundMode, totalRefundAmount{currencyAmount, currencyUnit}, returnLineGroups[],
  returnOrderLines[]}`;
- a line: `{returnOrderLineNumber, purchaseOrderId, purchaseOrderLineNumber, salesOrderLineNumber,
  returnReason (ARRIVED_LATE, DAMAGED, NO_LONGER_WANTED, ...), item{sku, productName},
  unitPrice{currencyAmount, currencyUnit}, quantity{unitOfMeasure: EACH|EA, measurementValue},
  refundedQty, cancellableQty, status (INITIATED, DELIVERED, COMPLETED, CANCELLED), statusTime,
  currentRefundStatus, returnCancellationReason, returnTrackingDetail[{sequenceNo, eventTag,
  eventTime}]}`;
- the refund: `{customerOrderId, refundLines: [{returnOrderLineNumber, quantity{unitOfMeasure,
  measurementValue}}]}`, answered with `{returnOrderId, customerOrderId, refundLines}`.
  Walmart refunds only lines whose purchase order line is Shipped, never WFS returns.

A return names the order by each line's `purchaseOrderId` (Orderloop's order is one purchase
order) and its order line by `purchaseOrderLineNumber`, which is the order line's id (`lineNumber`,
see `mapping`). A return whose lines name several purchase orders (one customer order can be
several) is refused with the reason (`invalid_return`: the operator sees it), as is a return
Walmart fulfils itself. Cancelled lines are left out.

Receipt -> refund: the units received in a condition of the channel's `refund_conditions`
(`WalmartSettings`: sellable and damaged by default)
are matched to the return's lines (by the receipt's line id, else by SKU in line order), each line
at most its quantity; what Walmart shows refunded already (`refundedQty`) is subtracted, so a
retried push asks for nothing twice.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from connectors.base import MappingError, validated_by
from connectors.json_values import integer, money, text, utc_time
from connectors.signing import json_type
from connectors.walmart.mapping import obj
from orderloop.model import CustomField
from orderloop.returns_model import ReturnCondition, ReturnLine, ReturnOutcome, ReturnReceipt, ReturnRequest

UNIT = "EACH"


class ReturnLineStatus(StrEnum):
    """A return order line's `status` (Returns API guide: the statuses and their event tags)."""

    INITIATED = "INITIATED"  # RETURN_INITIATED, RETURN_IN_TRANSIT
    DELIVERED = "DELIVERED"  # DELIVERED_AT_RETURN_CENTER
    COMPLETED = "COMPLETED"  # REFUND_INITIATED, REFUND_ISSUED, RETURN_CANCELLED, ...
    CANCELLED = "CANCELLED"


def return_lines(raw: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    lines = raw.get("returnOrderLines")
    return [line for line in lines if isinstance(line, Mapping)] if isinstance(lines, list) else []


def line_quantity(line: Mapping[str, Any]) -> int:
    """The line's units (`quantity.measurementValue`, a number Walmart types as double)."""
    quantity = line.get("quantity")
    value = quantity.get("measurementValue") if isinstance(quantity, Mapping) else quantity
    return integer(value) or 0


def refunded_quantity(line: Mapping[str, Any]) -> int:
    return integer(line.get("refundedQty")) or 0


def cancelled(line: Mapping[str, Any]) -> bool:
    return text(line.get("status")) == ReturnLineStatus.CANCELLED or bool(text(line.get("returnCancellationReason")))


def external_return_id(raw: Mapping[str, Any]) -> str | None:
    return text(raw.get("returnOrderId"))


def purchase_order_ids(raw: Mapping[str, Any]) -> list[str]:
    """The purchase orders the return's lines name, in line order, each once."""
    found = (text(line.get("purchaseOrderId")) for line in return_lines(raw))
    return list(dict.fromkeys(po for po in found if po))


def return_order_id(raw: Mapping[str, Any]) -> str | None:
    """The purchase order the return is of (the first one its lines name)."""
    found = purchase_order_ids(raw)
    return found[0] if found else None


def map_return(
    raw: Mapping[str, Any],
    *,
    return_id: str,
    tenant_id: str,
    channel_id: str,
    order_id: str,
    received_at: datetime,
) -> ReturnRequest:
    """A Walmart return order -> `ReturnRequest` (module docstring); `MappingError` says why not."""
    if not isinstance(raw, Mapping):
        raise MappingError(f"the return order must be a JSON object, not {json_type(raw)}")
    external_id = external_return_id(raw)
    if external_id is None:
        raise MappingError("returnOrderId is missing: the return cannot be identified")
    purchase_orders = purchase_order_ids(raw)
    if not purchase_orders:
        raise MappingError(f"return {external_id}: no returnOrderLines[].purchaseOrderId names the purchase order")
    if len(purchase_orders) > 1:
        raise MappingError(
            f"return {external_id} returns lines of purchase orders {', '.join(purchase_orders)}: an Orderloop "
            "return is of one order; handle it in Seller Center"
        )
    if text(raw.get("isWFSEnabled")) == "Y":
        raise MappingError(f"return {external_id} is of a WFS order: Walmart handles it, the seller cannot refund it")
    lines = [line for line in return_lines(raw) if not cancelled(line)]
    if not lines:
        raise MappingError(f"return {external_id} has no return order line left (every line is cancelled)")
    created = utc_time(raw.get("returnOrderDate")) or received_at
    modified = max([created, *(t for line in lines if (t := utc_time(line.get("statusTime"))) is not None)])
    custom = [CustomField(name="customerOrderId", value=v) for v in [text(raw.get("customerOrderId"))] if v]
    return validated_by(
        lambda: ReturnRequest(
            id=return_id,
            external_id=external_id,
            channel_id=channel_id,
            tenant_id=tenant_id,
            order_id=order_id,
            external_order_id=purchase_orders[0],
            created_at=created,
            updated_at=modified,
            requested_at=created,
            # A REPLACEMENT return's new order is Walmart's own (replacementCustomerOrderId): to
            # Orderloop the units come back like a refund's.
            outcome=ReturnOutcome.REFUND,
            return_number=external_id,
            status=_status(lines),
            return_line_items=[_return_line(line, i, external_id) for i, line in enumerate(lines)],
            custom_fields=custom,
        ),
    )


def _status(lines: Iterable[Mapping[str, Any]]) -> str | None:
    statuses = [s for line in lines if (s := text(line.get("status")))]
    return statuses[0] if len(set(statuses)) == 1 else ", ".join(dict.fromkeys(statuses)) or None


def _return_line(line: Mapping[str, Any], index: int, return_id: str) -> ReturnLine:
    where = f"return {return_id}: returnOrderLines[{index}]"
    number = text(line.get("returnOrderLineNumber"))
    po_line = text(line.get("purchaseOrderLineNumber"))
    if number is None or po_line is None:
        raise MappingError(f"{where}: returnOrderLineNumber or purchaseOrderLineNumber is missing")
    item = obj(line.get("item"))
    sku = text(item.get("sku"))
    if sku is None:
        raise MappingError(f"{where}: item.sku is missing")
    quantity = line_quantity(line)
    if quantity < 1:
        raise MappingError(f"{where}: quantity.measurementValue must be a positive whole number")
    price = line.get("unitPrice")
    unit_price: Decimal | None = None
    if isinstance(price, Mapping):
        unit_price = money(price.get("currencyAmount"), f"{where}.unitPrice.currencyAmount")
    return ReturnLine(
        id=number,
        order_line_item_id=po_line,
        sku=sku,
        quantity_returned=quantity,
        return_reason=(text(line.get("returnReason")) or "unknown").lower(),
        name=text(item.get("productName")),
        unit_price=unit_price,
    )


# --- receipt -> refund ------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundLine:
    return_line_number: str
    quantity: int


def plan_refund(
    walmart_return: Mapping[str, Any],
    request: ReturnRequest,
    receipt: ReturnReceipt,
    conditions: Collection[ReturnCondition],
) -> list[RefundLine]:
    """The return lines' units to refund for `receipt`, less what Walmart shows refunded already
    (`refundedQty`), against the return as Walmart has it now (its lines bound each quantity)."""
    by_number = {str(text(line.get("returnOrderLineNumber"))): line for line in return_lines(walmart_return)}
    room = {
        line.id: min(line.quantity_returned, line_quantity(by_number[line.id]))
        for line in request.return_line_items
        if line.id in by_number and not cancelled(by_number[line.id])
    }
    received: dict[str, int] = {}
    for units in sorted(receipt.lines, key=lambda u: u.line_id is None):
        if units.condition not in conditions:
            continue
        candidates = [units.line_id] if units.line_id in room else []
        candidates += [ln.id for ln in request.return_line_items if ln.sku == units.sku and ln.id in room]
        need = units.quantity
        for number in candidates:
            take = min(need, room[number] - received.get(number, 0))
            if take > 0:
                received[number] = received.get(number, 0) + take
                need -= take
    plan = []
    for number, count in received.items():
        left = count - refunded_quantity(by_number[number])
        if left > 0:
            plan.append(RefundLine(number, left))
    return plan


def refund_body(customer_order_id: str, plan: Iterable[RefundLine]) -> dict[str, Any]:
    return {
        "customerOrderId": customer_order_id,
        "refundLines": [
            {
                "returnOrderLineNumber": integer(line.return_line_number) or line.return_line_number,
                "quantity": {"unitOfMeasure": UNIT, "measurementValue": line.quantity},
            }
            for line in plan
        ],
    }
