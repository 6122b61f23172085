"""Amazon merchant-fulfilled returns <-> the canonical return: the rows of Amazon's Flat File
Returns Report by Return Date (a tab-delimited document of the Reports API 2021-06-30) grouped by
Amazon RMA ID, each group with the order's items, become a `ReturnRequest`.

Sources:
- the report type and its columns: developer-docs.amazon.com/sp-api/docs/returns-reports-attributes
  (`GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE`, "Tab-delimited flat file", "You can request up to
  60 days of data in a single report"; columns Order ID, Order date, Return request date, Return
  request status, Amazon RMA ID, Merchant RMA ID, Label type, Label cost, Currency code, Return
  carrier, Tracking ID, Label to be paid by, A-to-Z Claim, Is prime, ASIN, Merchant SKU, Item
  Name, Return quantity, Return Reason, In policy, Return type, Resolution, Invoice number,
  Return delivery date, Order Amount, Order quantity, SafeT Action reason, SafeT claim id,
  SafeT claim state, SafeT claim creation time, SafeT claim reimbursement amount, Refunded
  Amount). The XML twin (`GET_XML_RETURNS_DATA_BY_RETURN_DATE`) carries the same data; the flat
  file is read because the stdlib's `csv` reads it as it is.
- no SP-API operation is for returns otherwise: "We do not have a separate API for the returns
  use case. You will have to use the Returns reports ... For refunds, we do not have any API for
  processing the refund. The seller will have to perform this action on their seller central
  account." (SP-API solutions architect, amzn/selling-partner-api-models issue #3959, 2024-06).

One return is one Amazon RMA ID: a row per returned SKU, so the rows of one RMA are its lines. A
line names the order's item by SKU (`product.sellerSku` of the order's `orderItems` as getOrder
answers them; the report names no order item id): the connector reads the order and keeps its
items in the payload (`orderItems`), units spread over the items of that SKU by what each
shipped. A return whose order could not be read has no items: `MappingError` (`invalid_return`,
kept for the operator).

Not documented, settled here: the date format of the flat file's date columns (ISO 8601 is read,
and Amazon's `DD-Mon-YYYY` form of other flat files), the vocabulary of `Return request status`
(a status naming a rejection or a cancellation is not a return to receive, so the poll leaves it
out), and whether an RMA's rows may name several orders (one RMA is of one order: a second order
id is refused with the reason).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.base import MappingError, validated_by
from connectors.json_values import integer, text, utc_time
from connectors.signing import json_type
from orderloop.model import CustomField
from orderloop.returns_model import ReturnLabel, ReturnLine, ReturnOutcome, ReturnRequest

FLAT_FILE_REPORT = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
# Amazon: "You can request up to 60 days of data in a single report."
REPORT_MAX_DAYS = 60

ORDER_ID = "Order ID"
ORDER_DATE = "Order date"
REQUEST_DATE = "Return request date"
REQUEST_STATUS = "Return request status"
RMA_ID = "Amazon RMA ID"
MERCHANT_RMA_ID = "Merchant RMA ID"
LABEL_TYPE = "Label type"
LABEL_COST = "Label cost"
CURRENCY = "Currency code"
CARRIER = "Return carrier"
TRACKING_ID = "Tracking ID"
LABEL_PAID_BY = "Label to be paid by"
A_TO_Z = "A-to-Z Claim"
IS_PRIME = "Is prime"
ASIN = "ASIN"
SKU = "Merchant SKU"
ITEM_NAME = "Item Name"
QUANTITY = "Return quantity"
REASON = "Return Reason"
IN_POLICY = "In policy"
RETURN_TYPE = "Return type"
RESOLUTION = "Resolution"
INVOICE = "Invoice number"
DELIVERY_DATE = "Return delivery date"
ORDER_AMOUNT = "Order Amount"
ORDER_QUANTITY = "Order quantity"
SAFET_REASON = "SafeT Action reason"
SAFET_CLAIM_ID = "SafeT claim id"
SAFET_CLAIM_STATE = "SafeT claim state"
SAFET_CLAIM_TIME = "SafeT claim creation time"
SAFET_AMOUNT = "SafeT claim reimbursement amount"
REFUNDED_AMOUNT = "Refunded Amount"

# The report's columns in Amazon's order (the sandbox writes them so).
COLUMNS = (
    ORDER_ID, ORDER_DATE, REQUEST_DATE, REQUEST_STATUS, RMA_ID, MERCHANT_RMA_ID, LABEL_TYPE, LABEL_COST, CURRENCY,
    CARRIER, TRACKING_ID, LABEL_PAID_BY, A_TO_Z, IS_PRIME, ASIN, SKU, ITEM_NAME, QUANTITY, REASON, IN_POLICY,
    RETURN_TYPE, RESOLUTION, INVOICE, DELIVERY_DATE, ORDER_AMOUNT, ORDER_QUANTITY, SAFET_REASON, SAFET_CLAIM_ID,
    SAFET_CLAIM_STATE, SAFET_CLAIM_TIME, SAFET_AMOUNT, REFUNDED_AMOUNT,
)  # fmt: skip
REQUIRED_COLUMNS = (ORDER_ID, RMA_ID, SKU, QUANTITY)
# Words of `Return request status` that say the return will not come back.
NOT_RETURNING = ("reject", "cancel", "denied")
# Kept on the return as custom fields (the seller's context in Seller Central).
_CUSTOM = (MERCHANT_RMA_ID, RESOLUTION, RETURN_TYPE, IN_POLICY, A_TO_Z, LABEL_TYPE, LABEL_PAID_BY)

Row = dict[str, str]


def parse_report(document: str) -> list[Row]:
    """The rows of the flat file (tab-delimited, a header line first), each keyed by column name
    with surrounding spaces trimmed; `MappingError` when the header lacks a column the mapping
    needs."""
    reader = csv.DictReader(io.StringIO(document.lstrip("\ufeff")), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = [name.strip() for name in reader.fieldnames or []]
    if not header:
        return []
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise MappingError(f"the returns report has no column {', '.join(missing)} (header: {', '.join(header)})")
    reader.fieldnames = header
    rows = []
    for raw in reader:
        row = {k: (v or "").strip() for k, v in raw.items() if isinstance(k, str)}
        if any(row.values()):
            rows.append(row)
    return rows


def write_report(rows: Iterable[Mapping[str, Any]]) -> str:
    """Rows as Amazon's flat file: the header line, then a tab-separated line per row (the sandbox's
    document, and fixtures)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\r\n", quoting=csv.QUOTE_NONE, escapechar="\\")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([str(row.get(name, "") or "") for name in COLUMNS])
    return out.getvalue()


def report_time(value: Any) -> datetime | None:
    """A date column: ISO 8601, or `DD-Mon-YYYY` (midnight UTC)."""
    found = utc_time(value)
    if found is not None:
        return found
    raw = text(value)
    if raw is None:
        return None
    for fmt in ("%d-%b-%Y", "%d-%b-%Y %H:%M:%S", "%b %d, %Y"):
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def returning(row: Mapping[str, str]) -> bool:
    """False when the row's request status says the return will not come back (module docstring)."""
    status = (row.get(REQUEST_STATUS) or "").lower()
    return not any(word in status for word in NOT_RETURNING)


def group_by_rma(rows: Iterable[Row]) -> dict[str, list[Row]]:
    """RMA id -> its rows, in report order; rows without an RMA id are left out."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        rma = text(row.get(RMA_ID))
        if rma is not None:
            groups.setdefault(rma, []).append(row)
    return groups


def return_payload(rma: str, rows: list[Row], order_items: list[Any] | None) -> dict[str, Any]:
    """The return as Orderloop keeps it (the ledger's raw request): the RMA's rows as the report
    has them, and the order's items as getOrder answered them (None: the order was not read)."""
    payload: dict[str, Any] = {
        "reportType": FLAT_FILE_REPORT,
        "amazonRmaId": rma,
        "orderId": next((row[ORDER_ID] for row in rows if row.get(ORDER_ID)), None),
        "rows": rows,
    }
    if order_items is not None:
        payload["orderItems"] = order_items
    return payload


def external_return_id(raw: Mapping[str, Any]) -> str | None:
    return text(raw.get("amazonRmaId")) if isinstance(raw, Mapping) else None


def return_order_id(raw: Mapping[str, Any]) -> str | None:
    return text(raw.get("orderId")) if isinstance(raw, Mapping) else None


def map_return(
    raw: Mapping[str, Any],
    *,
    return_id: str,
    tenant_id: str,
    channel_id: str,
    order_id: str,
    received_at: datetime,
) -> ReturnRequest:
    """An RMA's report rows with the order's items -> `ReturnRequest`; `MappingError` says why not."""
    if not isinstance(raw, Mapping):
        raise MappingError(f"the return must be a JSON object, not {json_type(raw)}")
    rma = external_return_id(raw)
    if rma is None:
        raise MappingError("amazonRmaId is missing: the return cannot be identified")
    rows = [row for row in raw.get("rows") or [] if isinstance(row, Mapping)]
    if not rows:
        raise MappingError(f"RMA {rma}: the returns report has no row for it")
    orders = list(dict.fromkeys(o for row in rows if (o := text(row.get(ORDER_ID)))))
    if not orders:
        raise MappingError(f"RMA {rma}: no row names the Order ID")
    if len(orders) > 1:
        raise MappingError(f"RMA {rma} names orders {', '.join(orders)}: an Orderloop return is of one order")
    items = raw.get("orderItems")
    if not isinstance(items, list):
        raise MappingError(
            f"RMA {rma}: Amazon order {orders[0]} could not be read, so its items (orderItemId by SKU) are unknown"
        )
    first = rows[0]
    requested = report_time(first.get(REQUEST_DATE)) or received_at
    custom = [CustomField(name=_field_name(name), value=v) for name in _CUSTOM if (v := text(first.get(name)))]
    return validated_by(
        lambda: ReturnRequest(
            id=return_id,
            external_id=rma,
            channel_id=channel_id,
            tenant_id=tenant_id,
            order_id=order_id,
            external_order_id=orders[0],
            created_at=requested,
            updated_at=max([requested, *(t for row in rows if (t := report_time(row.get(DELIVERY_DATE))))]),
            requested_at=requested,
            # The buyer's refund is Amazon's (the seller issues it in Seller Central), a
            # replacement is a new Amazon order: to Orderloop the units come back alike.
            outcome=ReturnOutcome.REFUND,
            return_number=text(first.get(MERCHANT_RMA_ID)) or rma,
            status=text(first.get(REQUEST_STATUS)),
            return_line_items=_lines(rma, rows, [i for i in items if isinstance(i, Mapping)]),
            labels=_labels(rows),
            custom_fields=custom,
        ),
    )


def _lines(rma: str, rows: list[Mapping[str, Any]], items: list[Mapping[str, Any]]) -> list[ReturnLine]:
    """One line per order item returned: each row's units spread over the order's items of its SKU,
    each item up to what it shipped, any excess on the last (the ledger refuses a return beyond
    what shipped, with the reason)."""
    by_sku: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        sku = text(_object(item.get("product")).get("sellerSku"))
        if sku is not None and text(item.get("orderItemId")) is not None:
            by_sku.setdefault(sku, []).append(item)
    units: dict[str, int] = {}
    described: dict[str, Mapping[str, Any]] = {}
    for n, row in enumerate(rows):
        sku = text(row.get(SKU))
        quantity = integer(row.get(QUANTITY))
        if sku is None:
            raise MappingError(f"RMA {rma}: row {n + 1} has no Merchant SKU")
        if quantity is None or quantity < 1:
            raise MappingError(f"RMA {rma}: Return quantity of {sku} must be a positive whole number")
        candidates = by_sku.get(sku)
        if not candidates:
            raise MappingError(f"RMA {rma}: {sku} is on no item of Amazon order {row.get(ORDER_ID)}")
        left = quantity
        for i, item in enumerate(candidates):
            item_id = str(item["orderItemId"])
            room = _shipped(item) - units.get(item_id, 0)
            take = left if i == len(candidates) - 1 else min(left, max(0, room))
            if take > 0:
                units[item_id] = units.get(item_id, 0) + take
                described.setdefault(item_id, row)
                left -= take
            if left == 0:
                break
    skus = {str(item["orderItemId"]): sku for sku, found in by_sku.items() for item in found}
    return [
        ReturnLine(
            id=item_id,
            order_line_item_id=item_id,
            sku=skus[item_id],
            quantity_returned=count,
            return_reason=(text(described[item_id].get(REASON)) or "unspecified").lower(),
            name=text(described[item_id].get(ITEM_NAME)),
        )
        for item_id, count in units.items()
    ]


def _shipped(item: Mapping[str, Any]) -> int:
    fulfilled = integer(_object(item.get("fulfillment")).get("quantityFulfilled"))
    return fulfilled if fulfilled is not None else integer(item.get("quantityOrdered")) or 0


def _labels(rows: list[Mapping[str, Any]]) -> list[ReturnLabel]:
    labels: dict[str, ReturnLabel] = {}
    for row in rows:
        tracking, carrier = text(row.get(TRACKING_ID)), text(row.get(CARRIER))
        if tracking and carrier and tracking not in labels:
            labels[tracking] = ReturnLabel(carrier=carrier, tracking_number=tracking, status=text(row.get(LABEL_TYPE)))
    return list(labels.values())


def _field_name(column: str) -> str:
    """`Merchant RMA ID` -> `merchantRmaId` (the custom field's name)."""
    words = column.replace("-", " ").split()
    return words[0].lower() + "".join(w.capitalize() for w in words[1:])


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
