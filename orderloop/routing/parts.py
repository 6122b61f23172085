"""Multi-address orders: one routing decision per address part (see `orderloop.address_parts`).

The parts are routed in turn, each as an order of its own (its lines, its address: the
destination-aware rules and sorts read it), each drawing on the stock the parts before it left.
Their placements are kept apart, so no location assignment holds lines of two addresses, even
when two parts ship from one location. The order is routed when every part is; otherwise it
waits as the first part that could not be routed says (out of stock or unroutable), nothing
placed. The decision's trace keeps each part's own trace under `parts`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from orderloop.address_parts import AddressPart, part_order
from orderloop.model import Order
from orderloop.routing.context import RoutingContext
from orderloop.routing.facts import Stock
from orderloop.routing.trace import TRACE_VERSION, RoutingOutcome

if TYPE_CHECKING:  # the engine imports this module
    from orderloop.routing.engine import Decision

PARTS_NOTE = "ships to {n} addresses: routed as one part per address"

RouteOne = Callable[[Order, Stock, RoutingContext], "Decision"]


def route_parts(
    order: Order, parts: Sequence[AddressPart], stock: Stock, ctx: RoutingContext, route_one: RouteOne
) -> Decision:
    """The decision for a multi-address `order`: `route_one` per part, in the order of `parts`."""
    left = dict(stock)
    decisions: list[Decision] = []
    for part in parts:
        decision = route_one(part_order(order, part), left, ctx)
        decision.trace["address_ref"] = part.ref
        decision.trace["lines"] = part.line_ids
        decisions.append(decision)
        if not decision.routed:
            failed = type(decision)(
                decision.outcome,
                rule=decision.rule,
                reason=f"{part.describe()}: {decision.reason}",
            )
            failed.trace = _combined(order, decisions, failed, len(parts), ctx)
            return failed
        for location_id, _, lines in decision.placements:
            for line in lines:
                key = (line.sku, location_id)
                left[key] = left.get(key, 0) - line.quantity
    rules = list(dict.fromkeys(d.rule for d in decisions if d.rule))
    routed = type(decisions[0])(RoutingOutcome.ROUTED, rule=", ".join(rules) or None)
    routed.placements = [placement for d in decisions for placement in d.placements]
    routed.trace = _combined(order, decisions, routed, len(parts), ctx)
    return routed


def _combined(
    order: Order, decisions: list[Decision], decision: Decision, count: int, ctx: RoutingContext
) -> dict[str, Any]:
    """The trace of the whole order: what it read, the outcome, every part's assignments, and
    the parts' own traces (those routed before the outcome was settled)."""
    first = decisions[0].trace
    same_rule = len({d.trace["rule"] for d in decisions}) == 1
    assignments: dict[str, list[str]] = {}
    for location_id, _, lines in decision.placements:
        assignments.setdefault(location_id, []).extend(line.id for line in lines)
    return {
        "version": TRACE_VERSION,
        "channel": first["channel"],
        "order_type": first["order_type"],
        "destination": "; ".join(d.trace["destination"] for d in decisions),
        "geo": None,
        "rule": first["rule"] if same_rule else None,
        "rule_position": first["rule_position"] if same_rule else None,
        "rules_skipped": {},
        "rules_not_listed": 0,
        "forced": ctx.force_location,
        "steps": [],
        "outcome": decision.outcome.value,
        "assignments": assignments,
        "reason": decision.reason,
        "notes": [PARTS_NOTE.format(n=count)],
        "parts": [d.trace for d in decisions],
    }
