"""What the order workflow asks of a wholesale order (`Order.wholesale`), as pure functions of
the order (so the workflow calls them deterministically): the lines that break their case pack,
the ship window's dates, and each line's decision once the order is allocated (what a channel
that `confirms_allocation` is told: an EDI partner's 855, a B2B portal's line status)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orderloop.model import Allocation, LineDecision, Order

# The order workflow's patch for the wholesale steps (asked only of the orders they change).
WHOLESALE_PATCH = "wholesale-orders"


def case_pack_violations(order: Order) -> list[str]:
    """Each line whose quantity is not a whole number of its case pack, as a reason
    ("line 2 (MUG-12) orders 10, not a multiple of its case pack of 12")."""
    return [
        f"line {line.id} ({line.sku}) orders {line.quantity}, not a multiple of its case pack of {line.case_pack}"
        for line in order.line_items
        if line.case_pack is not None and line.quantity % line.case_pack
    ]


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def ship_after(order: Order | None) -> datetime | None:
    """The buyer's ship-not-before date: nothing is sent before it (None: ship at once)."""
    terms = order.wholesale if order is not None else None
    return _utc(terms.ship_after_date) if terms is not None and terms.ship_after_date is not None else None


def ship_cancel_deadline(order: Order | None, lead: timedelta) -> datetime | None:
    """The order's ship-by deadline under its ship window: `lead` before the buyer's cancel-by
    date (an exception then leaves time to act before the buyer cancels), never before the
    window opens. None: the order has no cancel-by date (the channel's SLA applies)."""
    terms = order.wholesale if order is not None else None
    if terms is None or terms.ship_cancel_by_date is None:
        return None
    deadline = _utc(terms.ship_cancel_by_date) - lead
    opens = ship_after(order)
    return max(deadline, opens) if opens is not None else deadline


def line_decisions(order: Order, allocation: Allocation) -> list[LineDecision]:
    """One decision per order line from what the allocation placed: accepted in full, changed
    (fewer units placed) or rejected (none placed), with the reason."""
    placed: dict[str, int] = {}
    for assignment in allocation.assignments:
        for item in assignment.line_items:
            placed[item.line_id] = placed.get(item.line_id, 0) + item.quantity
    decisions = []
    for line in order.line_items:
        accepted = min(placed.get(line.id, 0), line.quantity)
        if accepted == line.quantity:
            decisions.append(
                LineDecision(line_id=line.id, sku=line.sku, ordered=line.quantity, accepted=accepted, status="accepted")
            )
        elif accepted:
            decisions.append(
                LineDecision(
                    line_id=line.id,
                    sku=line.sku,
                    ordered=line.quantity,
                    accepted=accepted,
                    status="changed",
                    reason=f"{accepted} of {line.quantity} available",
                )
            )
        else:
            decisions.append(
                LineDecision(
                    line_id=line.id,
                    sku=line.sku,
                    ordered=line.quantity,
                    accepted=0,
                    status="rejected",
                    reason="not available",
                )
            )
    return decisions
