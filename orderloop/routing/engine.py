"""`route`: the decision for one order, from the configuration's rules, the stock and the
context (time, today's load, an operator's reroute, rejections). Pure: the same inputs give the
same decision and the same trace, so the order workflow records it through an activity.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from orderloop.address_parts import address_parts, has_line_addresses, part_order
from orderloop.config import OrderloopConfig
from orderloop.model import Allocation, LocationAssignment, Order
from orderloop.routing.context import RoutingContext
from orderloop.routing.facts import Line, OrderFacts, Stock, describe_missing
from orderloop.routing.locations import (
    LOCATION_FILTERS,
    REQUIREMENTS,
    REQUIREMENTS_FILTER,
    LocationCheck,
    LocationSpec,
)
from orderloop.routing.parts import route_parts
from orderloop.routing.plan import Rule, Screen, Step, plan_for
from orderloop.routing.split import SPLITS, Split
from orderloop.routing.strategies import SORTS, ordered
from orderloop.routing.trace import RANKING_LISTED, RULES_LISTED, TRACE_VERSION, RoutingOutcome, explain
from orderloop.routing_rules import LocationFilter, SortStrategy, SplitPolicy

REJECTED = "rejected: its fulfillment channel refused this order"
FORCED_STEP = "operator reroute"
# How many per-location reasons a one-line `reason` quotes (the trace has them all).
REASON_LISTED = 3
_HAS = re.compile(r" \((?:ships with|offers) ")


@dataclass
class Decision:
    outcome: RoutingOutcome
    rule: str | None = None
    reason: str | None = None
    trace: dict[str, Any] = field(default_factory=dict)
    # (location id, fulfillment channel id, lines) per shipment, in the order chosen.
    placements: list[tuple[str, str, list[Line]]] = field(default_factory=list)

    @property
    def explanation(self) -> list[str]:
        """The decision in a few sentences, read off its trace."""
        return explain(self.trace)

    @property
    def routed(self) -> bool:
        return self.outcome is RoutingOutcome.ROUTED

    @property
    def out_of_stock(self) -> bool:
        return self.outcome is RoutingOutcome.OUT_OF_STOCK

    @property
    def assignments(self) -> list[LocationAssignment]:
        return [LocationAssignment.model_validate(data) for data in self._assignment_data()]

    def to_allocation(self) -> Allocation:
        # One validation of plain data (pydantic's core does it in one pass) costs less than
        # building each nested model.
        return Allocation.model_validate(
            {
                "assignments": self._assignment_data(),
                "rule": self.rule,
                "explanation": self.explanation,
                "trace": self.trace,
            }
        )

    def _assignment_data(self) -> list[dict[str, Any]]:
        return [
            {
                "location_id": location_id,
                "fulfillment_channel_id": channel_id,
                "line_items": [{"line_id": ln.id, "sku": ln.sku, "quantity": ln.quantity} for ln in lines],
            }
            for location_id, channel_id, lines in self.placements
        ]


def stock_keys(order: Order, config: OrderloopConfig) -> set[tuple[str, str]]:
    """The (sku, location) pairs whose stock the decision for `order` may read."""
    locations = [loc.id for loc in config.locations]
    return {(line.sku, loc) for line in order.line_items for loc in locations}


def route(order: Order, config: OrderloopConfig, stock: Stock, ctx: RoutingContext) -> Decision:
    """Which locations ship which lines of `order`, and why. An order shipping to several
    addresses is routed one part per address (`orderloop.routing.parts`)."""
    if has_line_addresses(order):
        parts = address_parts(order)
        if len(parts) > 1:
            return route_parts(order, parts, stock, ctx, lambda part, left, c: _route(part, config, left, c))
        order = part_order(order, parts[0])
    return _route(order, config, stock, ctx)


def _route(order: Order, config: OrderloopConfig, stock: Stock, ctx: RoutingContext) -> Decision:
    plan = plan_for(config)
    facts = OrderFacts(order)
    trace: dict[str, Any] = {
        "version": TRACE_VERSION,
        "channel": facts.channel,
        "order_type": facts.order_type,
        "destination": facts.destination,
        "geo": None,
        "rule": None,
        "rule_position": None,
        "rules_skipped": {},
        "rules_not_listed": 0,
        "forced": None,
        "steps": [],
        "outcome": None,
        "assignments": {},
        "reason": None,
        "notes": [],
    }
    if ctx.force_location:
        return _forced(ctx.force_location, plan.locations, facts, stock, ctx, trace)
    matched = _match(plan.rules_for(facts.channel), facts, trace)
    if matched is None:
        listed = "; ".join(f"{name}: {why}" for name, why in list(trace["rules_skipped"].items())[:REASON_LISTED])
        reason = f"no routing rule matches this order (channel {facts.channel})" + (f": {listed}" if listed else "")
        return _finish(Decision(RoutingOutcome.UNROUTABLE, reason=reason), trace)
    position, rule = matched
    trace["rule"], trace["rule_position"] = rule.name, position
    return _run(rule.name, rule.steps, facts, stock, ctx, trace, set(ctx.exclude_locations))


def _match(rules: tuple[Rule, ...], facts: OrderFacts, trace: dict[str, Any]) -> tuple[int, Rule] | None:
    skipped = trace["rules_skipped"]
    for position, rule in enumerate(rules, 1):
        why = None
        for check in rule.conditions:
            why = check(facts)
            if why is not None:
                break
        if why is None:
            return position, rule
        if len(skipped) < RULES_LISTED:
            skipped[rule.name] = why
        else:
            trace["rules_not_listed"] += 1
    return None


def _run(
    rule: str,
    steps: tuple[Step, ...],
    facts: OrderFacts,
    stock: Stock,
    ctx: RoutingContext,
    trace: dict[str, Any],
    excluded: set[str],
) -> Decision:
    """Try the steps in turn until one places every line."""
    any_eligible = False
    entry: dict[str, Any] = {}
    for step in steps:
        if step.split is not SplitPolicy.NEVER and facts.ship_complete:
            step = _whole(step, trace)
        split, entry, eligible = _try(step, facts, stock, ctx, excluded)
        trace["steps"].append(entry)
        if step.by_distance and trace["geo"] is None:
            trace["geo"] = _geo_note(facts)
        any_eligible = any_eligible or eligible > 0
        if split.placed:
            decision = Decision(RoutingOutcome.ROUTED, rule=rule)
            decision.placements = [(loc.id, loc.fulfillment_channel, lines) for loc, lines in split.placements]
            return _finish(decision, trace)
    if any_eligible:
        quoted = "; ".join(
            f"{loc_id}: {describe_missing(missing)}" for loc_id, missing in list(entry["short"].items())[:REASON_LISTED]
        )
        outcome, reason = RoutingOutcome.OUT_OF_STOCK, f"rule {rule}: {entry['result']}"
    else:
        quoted = "; ".join(f"{loc_id}: {why}" for loc_id, why in list(entry["skipped"].items())[:REASON_LISTED])
        outcome, reason = RoutingOutcome.UNROUTABLE, f"rule {rule}: every candidate location was filtered out"
        unmet = _requirements_unmet(entry["skipped"])
        if unmet is not None:
            reason = f"rule {rule}: {unmet}; no candidate location ships it"
    return _finish(Decision(outcome, rule=rule, reason=reason + (f" ({quoted})" if quoted else "")), trace)


def _whole(step: Step, trace: dict[str, Any]) -> Step:
    """The step as it routes a wholesale order that must ship complete: never split, whatever
    the rule card's split policy (a partial-allowed order keeps it)."""
    trace["notes"].append(f"{step.label}: split {step.split_name} overridden: the order must ship complete")
    return replace(step, split=SplitPolicy.NEVER, splitter=SPLITS[SplitPolicy.NEVER])


def _try(
    step: Step, facts: OrderFacts, stock: Stock, ctx: RoutingContext, excluded: set[str]
) -> tuple[Split, dict[str, Any], int]:
    """One step: filter its candidates, sort them, place the lines.

    A step that never splits filters its candidates as the walk reaches them, so a location
    ranked after the one that ships is not looked at (nor listed as skipped); the other policies
    weigh every candidate, so they are all filtered first."""
    screen = step.screens.get(facts.channel, step.screen)
    # Skipped whatever the order first, then as this order and this moment decide.
    skipped = dict(screen.skipped)
    pool: Sequence[LocationSpec] = screen.eligible
    if excluded:
        for loc in step.candidates:
            if loc.id in excluded:
                skipped[loc.id] = REJECTED
        pool = [loc for loc in pool if loc.id not in excluded]
    before = len(skipped)
    if not step.lazy:
        for loc, checks in screen.checked:
            why = _first_failure(loc, checks, facts, ctx) if loc.id not in skipped else None
            if why is not None:
                skipped[loc.id] = why
        if len(skipped) > before:
            pool = [loc for loc in pool if loc.id not in skipped]
    order, columns = ordered(pool, step.rank, step.sorts, facts, stock)
    best_first = pool if order is None else [pool[i] for i in order]
    if step.lazy:
        split = step.splitter(_admitted(best_first, screen.checks, facts, ctx, skipped), facts, stock)
        eligible, passed_over = split.examined, len(skipped) - before
    else:
        split = step.splitter(best_first, facts, stock)
        eligible, passed_over = len(pool), 0
    # The ranking shows the locations the split policy looked at, with their scores: the chosen
    # one and those ranked before it.
    walk: Sequence[int] = order if order is not None else range(len(pool))
    listed = min(RANKING_LISTED, max(split.examined, 1))
    positions = [i for i in walk if pool[i].id not in skipped][:listed] if passed_over else walk[:listed]
    ranking = _ranking(step, pool, positions, columns if order is not None else None)
    entry = {
        "step": step.label,
        "sort": list(step.sort_names),
        "split": step.split_name,
        "candidates": len(step.candidates),
        "skipped": skipped,
        "ranking": ranking,
        "ranking_not_listed": len(pool) - passed_over - len(ranking),
        "short": split.short,
        "short_not_listed": split.short_not_listed,
        "result": _result(step, split, eligible),
    }
    return split, entry, eligible


def _requirements_unmet(skipped: dict[str, str]) -> str | None:
    """The channel's requirement, when it is what left out every candidate: "walmart requires
    carrier FedEx or UPS for method OneDay"."""
    prefix = f"{REQUIREMENTS}: "
    if not skipped or not all(why.startswith(prefix) for why in skipped.values()):
        return None
    # The reasons read "<requirement> (ships with ...)" or "(offers ...)": the requirement part
    # is the same for every location that fails it.
    statements = {_HAS.split(why.removeprefix(prefix), 1)[0] for why in skipped.values()}
    return "; ".join(sorted(statements))


def _ranking(
    step: Step, pool: Sequence[LocationSpec], positions: Sequence[int], columns: list[list[Any]] | None
) -> list[list[Any]]:
    """[location, score per strategy] for the locations at `positions` of `pool`; without sort
    keys (rank order), the score is the rank."""
    if columns is None:
        return [[pool[i].id, step.rank[pool[i].id] + 1] for i in positions]
    sorts = step.sorts
    if len(sorts) == 1:
        shown, keys = sorts[0].shown, columns[0]
        return [[pool[i].id, shown(keys[i])] for i in positions]
    return [[pool[i].id, *(s.shown(col[i]) for s, col in zip(sorts, columns, strict=True))] for i in positions]


def _first_failure(
    loc: LocationSpec, checks: tuple[tuple[str, LocationCheck], ...], facts: OrderFacts, ctx: RoutingContext
) -> str | None:
    for prefix, check in checks:
        why = check(loc, facts, ctx)
        if why is not None:
            return prefix + why
    return None


def _admitted(
    locations: Sequence[LocationSpec],
    checks: dict[str, tuple[tuple[str, LocationCheck], ...]],
    facts: OrderFacts,
    ctx: RoutingContext,
    skipped: dict[str, str],
) -> Iterator[LocationSpec]:
    """`locations` that pass their remaining filters, checked one by one as they are read; the
    others go into `skipped` with the reason."""
    for loc in locations:
        loc_checks = checks.get(loc.id)
        if loc_checks is not None:
            why = _first_failure(loc, loc_checks, facts, ctx)
            if why is not None:
                skipped[loc.id] = why
                continue
        yield loc


def _result(step: Step, split: Split, eligible: int) -> str:
    if split.placed:
        if len(split.placements) == 1:
            return f"ships from {split.placements[0][0].id}"
        return f"splits over {', '.join(loc.id for loc, _ in split.placements)}"
    if not eligible:
        return "no candidate location passed the filters"
    if step.split is SplitPolicy.NEVER:
        return "no location has stock for every line"
    lines = ", ".join(f"{ln.id} ({ln.sku} x{ln.quantity})" for ln in split.unplaced)
    return f"no location has stock for line(s) {lines}"


def _forced(
    location_id: str,
    locations: dict[str, LocationSpec],
    facts: OrderFacts,
    stock: Stock,
    ctx: RoutingContext,
    trace: dict[str, Any],
) -> Decision:
    """An operator's reroute: the rules and filters step aside, stock does not."""
    trace["forced"] = location_id
    loc = locations.get(location_id)
    if loc is None:
        return _finish(Decision(RoutingOutcome.UNROUTABLE, reason=f"unknown location {location_id!r}"), trace)
    checks = [(name.value, LOCATION_FILTERS[name]) for name in LocationFilter] + [(REQUIREMENTS, REQUIREMENTS_FILTER)]
    for name, spec in checks:
        why = spec.check(loc, facts, ctx) if spec.can_skip(loc) else None
        if why is not None:
            trace["notes"].append(f"{location_id} would be skipped by the rules ({name}: {why}); reroute overrides")
    step = Step(
        label=FORCED_STEP,
        candidates=(loc,),
        rank={loc.id: 0},
        screens={},
        screen=Screen({}, (loc,), (), {}),
        sort=(SortStrategy.RANKED,),
        sorts=(SORTS[SortStrategy.RANKED],),
        split=SplitPolicy.NEVER,
        splitter=SPLITS[SplitPolicy.NEVER],
    )
    return _run(FORCED_STEP, (step,), facts, stock, ctx, trace, set())


def _geo_note(facts: OrderFacts) -> str:
    point = facts.point
    if point is not None:
        return f"coordinates from {point.source}"
    return (
        f"no coordinates for {facts.destination}: closest ranks locations in the same country by shared "
        "postal-code prefix, then by the rule's order"
    )


def _finish(decision: Decision, trace: dict[str, Any]) -> Decision:
    trace["outcome"] = decision.outcome.value
    trace["reason"] = decision.reason
    trace["assignments"] = {loc_id: [ln.id for ln in lines] for loc_id, _, lines in decision.placements}
    decision.trace = trace
    return decision
