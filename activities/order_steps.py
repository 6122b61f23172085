"""Orderloop's internal order steps: mapping, allocation (routing + reservation), release,
commit and notifications. Cheap and local, so the workflow runs them as local activities
(notifications excepted: they may call a webhook)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from pydantic import ValidationError
from temporalio import activity

from connectors.base import Connector, MappingError
from connectors.registry import selling
from orderloop.activity_models import (
    AllocateInput,
    AllocateOutcome,
    AllocateResult,
    CommitInput,
    IngestInput,
    IngestResult,
    Notification,
    NotificationLevel,
    ReleaseInput,
)
from orderloop.config import OrderloopConfig
from orderloop.contracts import Activities, OrderPolicy, channel_task_queue, orders_task_queue
from orderloop.ledger import Cause, CauseKind, Ledger, Reservation, ReservationLine
from orderloop.model import AllocatedLine, Allocation, ConnectorRole, LocationAssignment, Order
from orderloop.routing import RoutingContext, route, stock_keys

log = structlog.get_logger("orderloop.activities")

# Routing reads availability, then reserves; when other orders took the stock in between, it
# routes again on fresh figures this many times in all before the order waits as out of stock.
RESERVE_ATTEMPTS = 4


def _validation_reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "order"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


class OrderSteps:
    def __init__(
        self,
        config: OrderloopConfig,
        ledger: Ledger,
        connectors: Mapping[str, Connector],
        task_queue_prefix: str,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config
        self.ledger = ledger
        self.connectors = dict(connectors)
        self.prefix = task_queue_prefix
        self.http = http or httpx.AsyncClient(timeout=10)

    def policy_for(self, channel_id: str) -> OrderPolicy:
        channel = self.config.channel(channel_id)
        return OrderPolicy(
            hold_window=channel.hold_window,
            ship_by_sla=channel.ship_by_sla,
            ship_by_calendar=channel.ship_by_calendar,
            ship_by_warning=channel.ship_by_warning,
            escalation_delay=channel.escalation_delay,
            out_of_stock_retry=channel.out_of_stock_retry,
            orders_task_queue=orders_task_queue(self.prefix),
            selling_task_queue=channel_task_queue(self.prefix, channel.id),
            fulfillment_task_queues={
                c.id: channel_task_queue(self.prefix, c.id)
                for c in self.config.channels_with_role(ConnectorRole.FULFILLMENT)
            },
            shipment_poll_every={
                c.id: c.poll_shipments_every
                for c in self.config.channels_with_role(ConnectorRole.FULFILLMENT)
                if c.poll_shipments_every is not None
            },
            locations=[loc.id for loc in self.config.locations],
        )

    @activity.defn(name=Activities.INGEST)
    async def ingest(self, inp: IngestInput) -> IngestResult:
        policy = self.policy_for(inp.channel_id)
        connector = selling(self.connectors, inp.channel_id)
        try:
            order = connector.map_order(
                inp.raw_payload,
                order_id=inp.workflow_id,
                tenant_id=self.config.tenant_id,
                received_at=inp.received_at,
            )
        except MappingError as exc:
            log.warning("order.invalid", workflow_id=inp.workflow_id, reason=str(exc))
            return IngestResult(error=str(exc), policy=policy)
        except ValidationError as exc:
            reason = _validation_reason(exc)
            log.warning("order.invalid", workflow_id=inp.workflow_id, reason=reason)
            return IngestResult(error=reason, policy=policy)
        log.info("order.mapped", workflow_id=inp.workflow_id, lines=len(order.line_items))
        return IngestResult(order=order, policy=policy)

    @activity.defn(name=Activities.ALLOCATE)
    async def allocate(self, inp: AllocateInput) -> AllocateResult:
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
            problem = self._sku_problem(order, view.unknown)
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

    def _sku_problem(self, order: Order, unknown_skus: set[str]) -> AllocateResult | None:
        skus = sorted({line.sku for line in order.line_items})
        rollout = self.config.channel(order.channel_id).skus
        if rollout is not None:
            outside = [s for s in skus if s not in set(rollout)]
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
        by_location: dict[str, list[AllocatedLine]] = {}
        for line in order.line_items:
            location_id = open_lines[line.id].location_id
            by_location.setdefault(location_id, []).append(
                AllocatedLine(line_id=line.id, sku=line.sku, quantity=line.quantity)
            )
        return Allocation(
            assignments=[
                LocationAssignment(
                    location_id=loc,
                    fulfillment_channel_id=self.config.location(loc).fulfillment_channel,
                    line_items=lines,
                )
                for loc, lines in sorted(by_location.items())
            ],
            explanation=["reservation already held from an earlier attempt"],
        )

    @activity.defn(name=Activities.RELEASE)
    async def release(self, inp: ReleaseInput) -> int:
        units = await self.ledger.release(inp.order_id, inp.line_ids, Cause(kind=CauseKind.ORDER, ref=inp.order_id))
        log.info("order.released", workflow_id=inp.order_id, units=units, reason=inp.reason)
        return units

    @activity.defn(name=Activities.COMMIT_SHIPMENT)
    async def commit_shipment(self, inp: CommitInput) -> bool:
        committed = await self.ledger.commit_shipment(
            inp.order_id,
            inp.shipment_id,
            [(item.line_id, item.quantity) for item in inp.items],
            Cause(kind=CauseKind.ORDER, ref=inp.order_id),
        )
        log.info("order.shipment_committed", workflow_id=inp.order_id, shipment_id=inp.shipment_id, new=committed)
        return committed

    @activity.defn(name=Activities.NOTIFY)
    async def notify(self, note: Notification) -> None:
        event: dict[str, Any] = note.model_dump(mode="json")
        logger = log.warning if note.level is not NotificationLevel.RESOLVED else log.info
        logger(f"order.{note.level}", **event)
        url = self.config.notifications.webhook_url
        if url:
            response = await self.http.post(url, json=event)
            response.raise_for_status()
