"""Allocation: route an order's lines on what the ledger holds and reserve the units, routing
again on fresh figures when another order took the stock between the read and the reservation.
Domain logic without Temporal; the allocate activity is a thin wrapper around `Allocator`."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from orderloop.activity_models import AllocateInput, AllocateOutcome, AllocateResult
from orderloop.address_parts import address_parts
from orderloop.config import OrderloopConfig
from orderloop.golive import rollout_skus
from orderloop.ledger import Cause, CauseKind, Ledger, Reservation, ReservationLine
from orderloop.model import AllocatedLine, Allocation, LocationAssignment, Order
from orderloop.routing import RoutingContext, route, stock_keys

log = structlog.get_logger("orderloop.allocation")

# Routing reads availability, then reserves; when other orders took the stock in between, it
# routes again on fresh figures this many times in all before the order waits as out of stock.
RESERVE_ATTEMPTS = 4


class Allocator:
    def __init__(self, config: OrderloopConfig, ledger: Ledger) -> None:
        self.config = config
        self.ledger = ledger

    async def allocate(self, inp: AllocateInput) -> AllocateResult:
        """Allocate the order's lines `inp.line_ids`: the reservation an earlier attempt already
        holds, or a fresh routing decision reserved in the ledger."""
        wanted = set(inp.line_ids)
        order = inp.order.model_copy(update={"line_items": [ln for ln in inp.order.line_items if ln.id in wanted]})
        keys = stock_keys(order, self.config)
        skus = {s for s, _ in keys} | {line.sku for line in order.line_items}
        locations = {loc for _, loc in keys}
        for attempt in range(1, RESERVE_ATTEMPTS + 1):
            view = await self.ledger.allocation_view(order.id, skus, locations)
            existing = self._existing_allocation(order, view.reservations)
            if existing is not None:
                return AllocateResult(outcome=AllocateOutcome.ALLOCATED, allocation=existing)
            problem = await self._sku_problem(order, view.unknown)
            if problem is not None:
                return problem
            decision = route(
                order,
                self.config,
                view.available,
                RoutingContext(
                    now=inp.now,
                    orders_today=await self._orders_today(inp.now),
                    force_location=inp.force_location,
                    exclude_locations=inp.exclude_locations,
                ),
            )
            if not decision.routed:
                outcome = AllocateOutcome.OUT_OF_STOCK if decision.out_of_stock else AllocateOutcome.UNROUTABLE
                log.info("order.not_routed", workflow_id=order.id, outcome=str(outcome), reason=decision.reason)
                return AllocateResult(
                    outcome=outcome,
                    message=decision.reason or "no location can ship this order",
                    detail={"rule": decision.rule, "trace": decision.trace},
                )
            allocation = decision.to_allocation()
            lines = [
                ReservationLine(line_id=line.line_id, sku=line.sku, location_id=a.location_id, quantity=line.quantity)
                for a in allocation.assignments
                for line in a.line_items
            ]
            result = await self.ledger.reserve(order.id, lines, Cause(kind=CauseKind.ORDER, ref=order.id))
            if result.reserved:
                where = [a.location_id for a in allocation.assignments]
                log.info("order.allocated", workflow_id=order.id, locations=where, attempt=attempt)
                return AllocateResult(outcome=AllocateOutcome.ALLOCATED, allocation=allocation)
            # Another order took the stock between our read and the reservation: route again on
            # what is there now (another location may have it), a few times before giving up.
            short = ", ".join(f"{s.sku}@{s.location_id} ({s.available}/{s.requested})" for s in result.shortages)
            log.info("order.reservation_short", workflow_id=order.id, shortages=short, attempt=attempt)
        return AllocateResult(
            outcome=AllocateOutcome.OUT_OF_STOCK,
            message=f"not enough stock to reserve after {RESERVE_ATTEMPTS} attempts: {short}",
            detail={"shortages": [s.model_dump() for s in result.shortages]},
        )

    async def _orders_today(self, now: datetime) -> dict[str, int]:
        """Orders each capped location took since midnight UTC (the daily capacity filter)."""
        capped = [loc.id for loc in self.config.locations if loc.daily_order_capacity is not None]
        if not capped:
            return {}
        midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return await self.ledger.orders_reserved_since(midnight, capped)

    async def _sku_problem(self, order: Order, unknown_skus: set[str]) -> AllocateResult | None:
        skus = sorted({line.sku for line in order.line_items})
        # The channel's go-live rollout in the ledger (seeded from its `skus` in the file).
        rollout = await rollout_skus(self.ledger, self.config.channel(order.channel_id))
        if rollout is not None:
            outside = [s for s in skus if s not in rollout]
            if outside:
                return AllocateResult(
                    outcome=AllocateOutcome.UNKNOWN_SKU,
                    message=f"SKU(s) not rolled out on channel {order.channel_id}: {', '.join(outside)}",
                    detail={"skus": outside, "reason": "not_rolled_out"},
                )
        unknown = sorted(unknown_skus & set(skus))
        if unknown:
            return AllocateResult(
                outcome=AllocateOutcome.UNKNOWN_SKU,
                message=f"unknown SKU(s): {', '.join(unknown)}",
                detail={"skus": unknown},
            )
        return None

    def _existing_allocation(self, order: Order, reservations: list[Reservation]) -> Allocation | None:
        """A retried allocation returns what the first attempt reserved instead of routing
        again against stock that now excludes its own reservation."""
        open_lines = {r.line_id: r for r in reservations if r.state == "open"}
        if not order.line_items or any(line.id not in open_lines for line in order.line_items):
            return None
        # One assignment per location and address part: lines of two addresses never share one.
        assignments: list[LocationAssignment] = []
        for part in address_parts(order):
            by_location: dict[str, list[AllocatedLine]] = {}
            for line in part.lines:
                location_id = open_lines[line.id].location_id
                by_location.setdefault(location_id, []).append(
                    AllocatedLine(line_id=line.id, sku=line.sku, quantity=line.quantity)
                )
            assignments.extend(
                LocationAssignment(
                    location_id=loc,
                    fulfillment_channel_id=self.config.location(loc).fulfillment_channel,
                    line_items=lines,
                )
                for loc, lines in sorted(by_location.items())
            )
        return Allocation(assignments=assignments, explanation=["reservation already held from an earlier attempt"])
