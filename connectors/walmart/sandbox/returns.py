"""The sandbox seller's return orders, as Walmart's Returns API shows them: a customer opens a
return of shipped units of a purchase order (`POST /_sandbox/orders/{po}/returns`, with the
RETURN_CREATED notification), `GET /v3/returns` lists them (filters `returnOrderId`,
`customerOrderId`, `status`, `returnCreationStartDate`/`EndDate`, `returnLastModifiedStartDate`;
`limit` <= 200, `meta.nextCursor` pages), and `POST /v3/returns/{returnOrderId}/refund` refunds
lines: only of a seller-fulfilled order, only units not refunded yet, the `customerOrderId` the
return's own, a line of the return named (when it has more than one). Errors in Walmart's
GatewayError shape. `POST /_sandbox/returns/{id}/deliver` moves it to the return center."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from connectors.json_values import integer, text
from connectors.sandbox_kit import VendorError
from connectors.walmart.mapping import LineStatus
from connectors.walmart.returns import ReturnLineStatus
from connectors.walmart.sandbox.errors import walmart_error
from connectors.walmart.webhooks import RETURN_CREATED

if TYPE_CHECKING:
    from connectors.walmart.sandbox.seller import SbLine, SbOrder, Seller

REASONS = (
    "ARRIVED_LATE", "AUTO_RETURN", "BOUGHT_ANOTHER_SIZE_OR_COLOR", "BOUGHT_SOMEWHERE_ELSE", "DAMAGED", "DEFECTIVE",
    "DUPLICATE_ITEM", "INADEQUATE_QUALITY", "INCORRECT_ITEM", "LOST_AFTER_DELIVERY", "LOST_IN_TRANSIT",
    "LOWER_PRICE", "MISSING_PARTS", "NOT_AS_DESCRIBED", "NO_LONGER_WANTED", "RETURN_TO_SENDER",
    "SHIPPING_BOX_DAMAGED", "TRIED_TO_CANCEL", "WRONG_SIZE/POOR_FIT",
)  # fmt: skip
CODE = "INVALID_REQUEST_CONTENT.GMP_RETURNS_API"


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def bad(description: str, field_: str = "data") -> VendorError:
    return walmart_error(400, CODE, description, field_=field_)


@dataclass
class SbReturnLine:
    number: int
    line: SbLine
    quantity: int
    reason: str
    status: str = ReturnLineStatus.INITIATED
    refunded: int = 0
    status_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    events: list[tuple[str, str, datetime]] = field(default_factory=list)

    def event(self, tag: str, description: str) -> None:
        self.status_time = datetime.now(UTC)
        self.events.append((tag, description, self.status_time))


@dataclass
class SbReturn:
    id: str
    order: SbOrder
    created: datetime
    lines: list[SbReturnLine]
    # Each accepted refund call: {line number: units}.
    refunds: list[dict[int, int]] = field(default_factory=list)

    @property
    def modified(self) -> datetime:
        return max([self.created, *(ln.status_time for ln in self.lines)])

    def line(self, number: Any) -> SbReturnLine | None:
        return next((ln for ln in self.lines if ln.number == integer(number)), None)

    def resource(self) -> dict[str, Any]:
        name = str(self.order.shipping_info.get("postalAddress", {}).get("name") or "Walmart Customer")
        first, _, last = name.partition(" ")
        price = sum(ln.line.price * ln.quantity for ln in self.lines)
        return {
            "returnOrderId": self.id,
            "customerEmailId": self.order.email,
            "customerName": {"firstName": first, "lastName": last or None},
            "customerOrderId": self.order.customer_order_id,
            "returnOrderDate": iso(self.created),
            "returnByDate": None,
            "refundMode": "POST_DELIVERY",
            "returnType": "REFUND",
            "totalRefundAmount": {"currencyAmount": round(price, 2), "currencyUnit": "USD"},
            "returnLineGroups": [
                {"groupNo": 1, "returnLines": [{"returnOrderLineNumber": ln.number} for ln in self.lines]}
            ],
            "returnOrderLines": [self._line(ln) for ln in self.lines],
            "returnChannel": {"channelName": "ONLINE"},
        }

    def _line(self, ln: SbReturnLine) -> dict[str, Any]:
        unit = {"currencyAmount": ln.line.price, "currencyUnit": "USD"}
        return {
            "returnOrderLineNumber": ln.number,
            "salesOrderLineNumber": integer(ln.line.number),
            "returnReason": ln.reason,
            "purchaseOrderId": self.order.po,
            "purchaseOrderLineNumber": integer(ln.line.number),
            "item": {"sku": ln.line.sku, "productName": ln.line.name},
            "unitPrice": unit,
            "quantity": {"unitOfMeasure": "EACH", "measurementValue": ln.quantity},
            "cancellableQty": ln.quantity if ln.status == ReturnLineStatus.INITIATED else 0,
            "refundedQty": ln.refunded,
            "refundChannel": "SELLER_MANUAL_REFUND",
            "currentRefundStatus": "REFUND_COMPLETED" if ln.refunded >= ln.quantity else "REFUND_PENDING",
            "returnTrackingDetail": [
                {"sequenceNo": n, "eventTag": tag, "eventDescription": text_, "eventTime": iso(at)}
                for n, (tag, text_, at) in enumerate(ln.events)
            ],
            "status": str(ln.status),
            "statusTime": iso(ln.status_time),
        }


class ReturnsDesk:
    """The return orders of the sandbox's seller, whose notifications it sends."""

    def __init__(self, seller: Seller) -> None:
        self.seller = seller
        self.returns: dict[str, SbReturn] = {}
        self._ids = itertools.count(103_738_048_909_818_825)

    def find(self, return_id: str) -> SbReturn:
        found = self.returns.get(return_id)
        if found is None:
            raise walmart_error(
                404,
                "CONTENT_NOT_FOUND.GMP_RETURNS_API",
                f"return order {return_id} was not found",
                field_="returnOrderId",
            )
        return found

    def open(self, order: SbOrder, body: Any) -> dict[str, Any]:
        """A customer returns shipped units: `{"lines": [{"lineNumber", "quantity", "reason"}]}`
        (left out: every shipped unit not returned yet)."""
        wanted = body.get("lines") if isinstance(body, dict) else None
        if order.ship_node_type != "SellerFulfilled":
            raise bad(f"purchase order {order.po} is fulfilled by Walmart: its returns are Walmart's")
        if wanted is None:
            wanted = [{"lineNumber": ln.number, "quantity": self.returnable(order, ln)} for ln in order.lines]
            wanted = [w for w in wanted if w["quantity"]]
        if not isinstance(wanted, list) or not wanted:
            raise bad("lines must list the lines to return, or be left out to return every shipped unit")
        now = datetime.now(UTC)
        lines = []
        for n, entry in enumerate(wanted, 1):
            line = order.line(entry.get("lineNumber")) if isinstance(entry, Mapping) else None
            if line is None:
                raise bad(f"lines[{n - 1}]: no line {entry!r} on purchase order {order.po}", "lineNumber")
            quantity = integer(entry.get("quantity")) or 0
            left = self.returnable(order, line)
            if not 1 <= quantity <= left:
                raise bad(
                    f"line {line.number}: {quantity} units to return, {left} shipped and not returned", "quantity"
                )
            reason = str(entry.get("reason") or "NO_LONGER_WANTED")
            if reason not in REASONS:
                raise bad(f"returnReason {reason!r} is not one of {', '.join(REASONS)}", "returnReason")
            returned = SbReturnLine(n, line, quantity, reason, status_time=now)
            returned.event("RETURN_INITIATED", "Return initiated for MARKET_PLACE")
            lines.append(returned)
        created = SbReturn(str(next(self._ids)), order, now, lines)
        self.returns[created.id] = created
        self.notify(created)
        return created.resource()

    def notify(self, created: SbReturn) -> None:
        """RETURN_CREATED: one `returnOrders` entry per returned line, as Walmart's sample has it."""
        entries = [
            {
                "purchaseOrderId": created.order.po,
                "productName": ln.line.name,
                "returnOrderId": created.id,
                "returnInitiatedDate": created.created.strftime("%b %d, %Y"),
                "returnReason": ln.reason,
                "quantity": str(ln.quantity),
                "trackingUrl": [],
                "trackingId": [],
                "refundStatus": "Non Refunded",
            }
            for ln in created.lines
        ]
        payload = {"partnerId": "10900015773", "partnerName": "Orderloop Sandbox Seller", "returnOrders": entries}
        self.seller.send_notification(RETURN_CREATED, payload)

    def returnable(self, order: SbOrder, line: SbLine) -> int:
        claimed = sum(
            ln.quantity
            for r in self.returns.values()
            if r.order is order
            for ln in r.lines
            if ln.line is line and ln.status != ReturnLineStatus.CANCELLED
        )
        return line.units(LineStatus.SHIPPED, LineStatus.DELIVERED) - claimed

    def deliver(self, found: SbReturn) -> dict[str, Any]:
        for ln in found.lines:
            if ln.status == ReturnLineStatus.INITIATED:
                ln.status = ReturnLineStatus.DELIVERED
                ln.event("DELIVERED_AT_RETURN_CENTER", "The return has been delivered to the Return Center")
        return found.resource()

    def listing(self, query: Mapping[str, Any]) -> dict[str, Any]:
        limit = integer(query.get("limit")) or 10
        if not 1 <= limit <= 200:
            raise walmart_error(
                400, "INVALID_REQUEST_PARAM.GMP_RETURNS_API", "limit cannot be larger than 200", field_="limit"
            )
        limit = min(limit, self.seller.knobs.value.max_page_size)
        offset = integer(query.get("offset")) or 0
        created_from = _time(query, "returnCreationStartDate")
        created_to = _time(query, "returnCreationEndDate")
        modified_from = _time(query, "returnLastModifiedStartDate")
        rows = [
            r
            for r in self.returns.values()
            if query.get("returnOrderId") in (None, r.id)
            and query.get("customerOrderId") in (None, r.order.customer_order_id)
            and (query.get("status") is None or any(ln.status == query["status"] for ln in r.lines))
            and (created_from is None or r.created >= created_from)
            and (created_to is None or r.created <= created_to)
            and (modified_from is None or r.modified >= modified_from)
        ]
        page = rows[offset : offset + limit]
        cursor = None
        if offset + limit < len(rows):
            kept = {k: v for k, v in query.items() if k != "limit" and k != "offset"}
            cursor = "?" + urlencode({**kept, "limit": limit, "offset": offset + limit})
        return {
            "meta": {"totalCount": len(rows), "limit": limit, "nextCursor": cursor},
            "returnOrders": [r.resource() for r in page],
        }

    def refund(self, found: SbReturn, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("refundLines"), list):
            raise bad("the body must be {customerOrderId, refundLines: [{returnOrderLineNumber, quantity}]}")
        if text(body.get("customerOrderId")) != found.order.customer_order_id:
            raise bad(f"customerOrderId is not the customer order of return order {found.id}", "customerOrderId")
        entries = body["refundLines"] or [{}]
        moves: dict[int, int] = {}
        for entry in entries:
            entry = entry if isinstance(entry, dict) else {}
            number = entry.get("returnOrderLineNumber")
            if number is None and len(found.lines) == 1:
                number = found.lines[0].number  # Walmart auto-selects the only line
            line = found.line(number)
            if line is None:
                raise bad(
                    f"returnOrderLineNumber {number!r} is not a line of return order {found.id}",
                    "returnOrderLineNumber",
                )
            quantity = entry.get("quantity")
            units = (
                integer(quantity.get("measurementValue"))
                if isinstance(quantity, dict)
                else line.quantity - line.refunded
            )
            if isinstance(quantity, dict) and quantity.get("unitOfMeasure") not in ("EACH", "EA"):
                raise bad("quantity.unitOfMeasure must be EACH or EA", "unitOfMeasure")
            problem = self._refund_problem(found, line, units or 0, moves.get(line.number, 0))
            if problem:
                raise bad(problem, "refundLines")
            moves[line.number] = moves.get(line.number, 0) + (units or 0)
        for number, units in moves.items():
            line = found.line(number)
            assert line is not None
            line.refunded += units
            line.event("REFUND_ISSUED", "The return has been invoiced and customer notified")
            if line.refunded >= line.quantity:
                line.status = ReturnLineStatus.COMPLETED
        found.refunds.append(moves)
        return {
            "returnOrderId": found.id,
            "customerOrderId": found.order.customer_order_id,
            "refundLines": [
                {"returnOrderLineNumber": n, "quantity": {"unitOfMeasure": "EACH", "measurementValue": q}}
                for n, q in moves.items()
            ],
        }

    def _refund_problem(self, found: SbReturn, line: SbReturnLine, units: int, asked: int) -> str:
        if line.status == ReturnLineStatus.CANCELLED:
            return f"return order line {line.number} is cancelled"
        if not line.line.units(LineStatus.SHIPPED, LineStatus.DELIVERED):
            return f"purchase order line {line.line.number} is not Shipped: only shipped lines can be refunded"
        left = line.quantity - line.refunded - asked
        if not 1 <= units <= left:
            return f"return order line {line.number}: {units} units to refund, {left} returned and not refunded"
        return ""


def _time(query: Mapping[str, Any], name: str) -> datetime | None:
    value = query.get(name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise walmart_error(
            400,
            "INVALID_REQUEST_PARAM.GMP_RETURNS_API",
            f"{name} must be an ISO 8601 UTC date or timestamp",
            field_=name,
        ) from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
