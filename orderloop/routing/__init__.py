"""The routing engine: which fulfillment location ships which lines of an order, and why.

`route` is pure (configuration, stock and the order in, a decision out), so the order workflow
records its result through an activity and the same inputs always give the same decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderloop.config import OrderloopConfig, RoutingRule
from orderloop.model import AllocatedLine, Allocation, LocationAssignment, Order


@dataclass(frozen=True)
class RoutingContext:
    now: datetime
    orders_today: dict[str, int] = field(default_factory=dict)
    force_location: str | None = None
    exclude_locations: list[str] = field(default_factory=list)


@dataclass
class Decision:
    assignments: list[LocationAssignment] = field(default_factory=list)
    rule: str | None = None
    out_of_stock: bool = False
    reason: str | None = None
    explanation: list[str] = field(default_factory=list)
    trace: dict[str, Any] = field(default_factory=dict)

    @property
    def routed(self) -> bool:
        return bool(self.assignments)

    def to_allocation(self) -> Allocation:
        return Allocation(assignments=self.assignments, rule=self.rule, explanation=self.explanation, trace=self.trace)


def _rule_for(order: Order, config: OrderloopConfig) -> RoutingRule | None:
    for rule in config.routing.rules:
        if rule.channels is None or order.channel_id in rule.channels:
            return rule
    return None


def _candidates(order: Order, config: OrderloopConfig) -> list[str]:
    rule = _rule_for(order, config)
    return list(rule.ranked_locations) if rule else [loc.id for loc in config.locations]


def stock_keys(order: Order, config: OrderloopConfig) -> set[tuple[str, str]]:
    """The (sku, location) pairs whose stock the decision for `order` may read."""
    locations = [loc.id for loc in config.locations]
    return {(line.sku, loc) for line in order.line_items for loc in locations}


def route(order: Order, config: OrderloopConfig, stock: dict[tuple[str, str], int], ctx: RoutingContext) -> Decision:
    """The first ranked location that has stock for every line ships the whole order."""
    rule = _rule_for(order, config)
    ranked = [ctx.force_location] if ctx.force_location else _candidates(order, config)
    decision = Decision(rule=rule.name if rule else None)
    considered: list[dict[str, Any]] = []
    for location_id in ranked:
        if location_id in ctx.exclude_locations:
            considered.append({"location": location_id, "skipped": "excluded after a rejection"})
            continue
        short = [
            line.sku for line in order.line_items if stock.get((line.sku, location_id), 0) < line.quantity
        ]
        if short:
            considered.append({"location": location_id, "skipped": f"no stock for {', '.join(short)}"})
            continue
        considered.append({"location": location_id, "chosen": True})
        decision.assignments = [
            LocationAssignment(
                location_id=location_id,
                fulfillment_channel_id=config.location(location_id).fulfillment_channel,
                line_items=[
                    AllocatedLine(line_id=line.id, sku=line.sku, quantity=line.quantity) for line in order.line_items
                ],
            )
        ]
        decision.explanation.append(f"{location_id}: first ranked location with stock for every line")
        break
    else:
        decision.out_of_stock = True
        decision.reason = "no location has stock for every line: " + "; ".join(
            f"{c['location']}: {c['skipped']}" for c in considered
        )
    decision.trace = {"rule": decision.rule, "considered": considered}
    return decision
