"""The order workflow's bookkeeping over `OrderView`: plain functions that count shipments
against lines, say what is still open or unassigned, and which search attributes changed.

They hold no workflow state and call no Temporal API (time comes in as an argument), so they
are unit-tested without a Temporal environment. Functions that update the view say so; they
change it in place, since the view is the workflow's state and the `status` query's answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from orderloop.contracts import NO_EXCEPTION, MarkShippedRequest, SearchAttributes
    from orderloop.model import (
        Allocation,
        LineProgress,
        Order,
        OrderStatus,
        OrderView,
        RequestLine,
        Shipment,
        ShipmentLine,
        ShippingRequest,
        ShippingRequestState,
        ShippingRequestView,
    )

# A Keyword's value, or a KeywordList's.
SearchAttributeValue = str | list[str]

ACTIVE = (ShippingRequestState.SENT, ShippingRequestState.PARTIALLY_SHIPPED)
TERMINAL = (OrderStatus.COMPLETED, OrderStatus.CANCELLED)


def is_terminal(view: OrderView) -> bool:
    """Completed or cancelled: nothing moves the order any more."""
    return view.status in TERMINAL


def line_progress(order: Order) -> list[LineProgress]:
    """A fresh progress row per order line: nothing shipped or cancelled yet."""
    return [LineProgress(line_id=item.id, sku=item.sku, ordered=item.quantity) for item in order.line_items]


def line(view: OrderView, line_id: str) -> LineProgress:
    return next(p for p in view.lines if p.line_id == line_id)


def find_request(view: OrderView, request_id: str) -> ShippingRequestView | None:
    return next((v for v in view.shipping_requests if v.request.id == request_id), None)


def active_requests(view: OrderView) -> list[ShippingRequestView]:
    """The shipping requests a fulfillment channel still works on (sent, partly shipped)."""
    return [v for v in view.shipping_requests if v.state in ACTIVE]


def released(view: OrderView) -> bool:
    """Whether a fulfillment channel has (part of) the order: a live request, or a shipment."""
    return bool(active_requests(view)) or bool(view.shipments)


def edit_diff(before: Order, after: Order) -> dict[str, Any]:
    """What an edit changes in what was sent: each line (by line id) whose SKU or quantity
    differs, before and after (None: no such line), and the shipping address when it differs."""
    old = {item.id: {"sku": item.sku, "quantity": item.quantity} for item in before.line_items}
    new = {item.id: {"sku": item.sku, "quantity": item.quantity} for item in after.line_items}
    ids = [*old, *(i for i in new if i not in old)]
    diff: dict[str, Any] = {}
    lines = [{"lineId": i, "before": old.get(i), "after": new.get(i)} for i in ids if old.get(i) != new.get(i)]
    if lines:
        diff["lines"] = lines
    if before.shipping_address != after.shipping_address:
        diff["shippingAddress"] = {
            "before": before.shipping_address.model_dump(mode="json") if before.shipping_address else None,
            "after": after.shipping_address.model_dump(mode="json") if after.shipping_address else None,
        }
    return diff


def open_units(view: OrderView) -> int:
    """Units neither shipped nor cancelled yet."""
    return sum(p.open for p in view.lines)


def unassigned_line_ids(view: OrderView) -> list[str]:
    """Open lines no live shipping request covers (what allocation still has to place)."""
    assigned = {
        item.line_id
        for request in view.shipping_requests
        if request.state not in (ShippingRequestState.REJECTED, ShippingRequestState.CANCELLED)
        for item in request.request.line_items
    }
    return [p.line_id for p in view.lines if p.line_id not in assigned and p.open > 0]


def order_skus(view: OrderView) -> set[str]:
    return {item.sku for item in view.order.line_items} if view.order else set()


def open_part(view: OrderView, line_ids: list[str]) -> Order:
    """The order with `line_ids` cut to their units not shipped yet (what a reroute after a
    partial shipment still has to send); the order itself when nothing was cut."""
    assert view.order is not None
    order = view.order
    wanted = {p.line_id: p.open for p in view.lines if p.line_id in line_ids}
    if all(item.quantity == wanted[item.id] for item in order.line_items if item.id in wanted):
        return order
    items = [
        item.model_copy(update={"quantity": wanted[item.id]}) if item.id in wanted else item
        for item in order.line_items
    ]
    return order.model_copy(update={"line_items": items})


def merged_allocation(previous: Allocation | None, allocation: Allocation) -> Allocation:
    """A new allocation of the remaining lines, kept beside the locations assigned before."""
    if previous is None:
        return allocation
    return allocation.model_copy(update={"assignments": [*previous.assignments, *allocation.assignments]})


def apply_shipment(view: OrderView, shipment: Shipment) -> list[RequestLine]:
    """Count `shipment` against the view's open lines (and set its shipping request's state);
    returns what it really ships, which may be less than it claims. Updates the view."""
    request = find_request(view, shipment.shipping_request_id)
    allowed = {item.line_id for item in request.request.line_items} if request else None
    items: list[RequestLine] = []
    for shipped in shipment.line_items:
        remaining = shipped.quantity
        for progress in view.lines:
            if remaining == 0:
                break
            if allowed is not None and progress.line_id not in allowed:
                continue
            if shipped.line_id not in (None, progress.line_id) or progress.sku != shipped.sku:
                continue
            take = min(remaining, progress.open)
            if take:
                progress.shipped += take
                remaining -= take
                items.append(RequestLine(line_id=progress.line_id, sku=progress.sku, quantity=take))
    if request is not None:
        still_open = any(line(view, i.line_id).open for i in request.request.line_items)
        request.state = ShippingRequestState.PARTIALLY_SHIPPED if still_open else ShippingRequestState.SHIPPED
    return items


def manual_shipment(view: OrderView, request: MarkShippedRequest, now: datetime) -> Shipment:
    """The shipment an operator's mark_shipped stands for: every open unit, on the first open
    shipping request (or the order's first request id when none was sent)."""
    sent = active_requests(view)
    items = [ShipmentLine(sku=p.sku, quantity=p.open, line_id=p.line_id) for p in view.lines if p.open]
    return Shipment(
        id=f"{view.workflow_id}/manual{len(view.shipments) + 1}",
        shipping_request_id=sent[0].request.id if sent else ShippingRequest.request_id(view.workflow_id, 0),
        line_items=items,
        tracking_numbers=request.tracking_numbers,
        shipping_carrier=request.shipping_carrier,
        tracking_url=request.tracking_url,
        shipped_at=now,
    )


def search_attribute_values(view: OrderView) -> dict[str, SearchAttributeValue]:
    """What each order search attribute should read now, by key name ("" or [] = unset)."""
    exc = view.open_exception
    locations = sorted({v.request.location_id for v in active_requests(view)})
    if not locations and view.allocation is not None:
        locations = sorted({a.location_id for a in view.allocation.assignments})
    return {
        SearchAttributes.CHANNEL.name: view.channel_id,
        SearchAttributes.STATUS.name: str(view.status),
        SearchAttributes.EXCEPTION.name: exc.code if exc else NO_EXCEPTION,
        SearchAttributes.LOCATIONS.name: locations,
        SearchAttributes.LOCATION.name: ",".join(locations),
    }


def search_attribute_changes(
    view: OrderView, published: dict[str, SearchAttributeValue], keys: tuple[SearchAttributeKey[Any], ...]
) -> dict[str, SearchAttributeValue]:
    """The search attributes of `keys` (what the order writes, `SearchAttributes.written_by`)
    whose value differs from the last `published` one, in the order of `keys` (the order of
    the upsert command)."""
    wanted = search_attribute_values(view)
    return {key.name: wanted[key.name] for key in keys if published.get(key.name) != wanted[key.name]}
