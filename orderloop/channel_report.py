"""What each channel costs to run, from the operations record (orderloop.ledger.operations):
the figures of `orderloop channels report` and `GET /api/channels/report` (docs/operations-report.md).

Per channel over a period: orders, units and revenue (`received` rows); exceptions raised, per
100 orders and by kind; the automation rate (resolutions by a rule or by the order's own
progress, over all resolutions); operator touches (actions through the operator API) per 100
orders and the operator minutes they took (`operations.handling_minutes` per action kind);
raise-to-resolve times; manual and automatic reroutes; time to ship p50/p95 (`shipped`, the
commit that left nothing open); SLA breaches; inventory push latency p99 (`inventory_pushed`);
and with `operations.hourly_cost` the operating cost per order and as a share of revenue.
Percentiles interpolate linearly between the closest ranks. Per 100 is 0 for a channel without
orders in the period. All pure functions of the rows, so the CLI and the API agree.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from connectors.notice_sinks.model import workflow_link
from orderloop.ledger import OperationKind, OperationRow
from orderloop.operations_config import OperationsConfig

_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dhm])\s*$")
_UNIT = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
BUCKETS = {"1h": timedelta(hours=1), "1d": timedelta(days=1)}
CENT = Decimal("0.01")


class ReportError(ValueError):
    """A period or bucket the report cannot use; the message says which."""


def parse_since(value: str, now: datetime) -> datetime:
    """`30d`, `48h`, `90m` before `now`, or an ISO timestamp (UTC when it names no zone)."""
    match = _SINCE.match(value)
    if match:
        return now - float(match.group(1)) * _UNIT[match.group(2)]
    try:
        found = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ReportError(f"invalid since {value!r}: use 30d, 48h, 90m or an ISO timestamp") from None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th quantile (0..1) by linear interpolation between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def per100(count: int, orders: int) -> float:
    return round(100.0 * count / orders, 2) if orders else 0.0


@dataclass
class ChannelFigures:
    """One channel's figures over the period, before they are shaped for JSON or a table."""

    channel: str
    # How accepted orders came in (webhook, poll, exchange) -> how many.
    accepted_via: dict[str, int] = field(default_factory=dict)
    orders: int = 0
    units: int = 0
    revenue: Decimal = Decimal(0)
    exceptions: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    resolved: int = 0
    resolved_by_rule: int = 0
    resolved_by_order: int = 0
    resolved_by_operator: int = 0
    # Exception kind -> what resolved it (rule, operator, order) -> how many.
    resolved_kinds: dict[str, dict[str, int]] = field(default_factory=dict)
    escalations: int = 0
    touches: int = 0
    touches_by_action: dict[str, int] = field(default_factory=dict)
    operator_minutes: float = 0.0
    manual_reroutes: int = 0
    automatic_reroutes: int = 0
    ship_seconds: list[float] = field(default_factory=list)
    resolve_seconds: list[float] = field(default_factory=list)
    sla_breaches: int = 0
    tracking_pushed: int = 0
    pushes: int = 0
    pushes_ok: int = 0
    push_latencies: list[float] = field(default_factory=list)
    drift_skus: int = 0
    out_of_stock: int = 0
    stock_or_routing_orders: set[str] = field(default_factory=set)
    rerouted_orders: set[str] = field(default_factory=set)

    @property
    def automation_rate(self) -> float | None:
        if not self.resolved:
            return None
        return round((self.resolved_by_rule + self.resolved_by_order) / self.resolved, 4)

    def cost(self, hourly: Decimal) -> Decimal:
        return hourly * Decimal(str(self.operator_minutes)) / Decimal(60)

    def cost_per_order(self, hourly: Decimal) -> Decimal | None:
        return self.cost(hourly) / self.orders if self.orders else None

    def cost_share(self, hourly: Decimal) -> float | None:
        return round(float(self.cost(hourly) / self.revenue), 6) if self.revenue > 0 else None

    @property
    def routed_first_try(self) -> float | None:
        """Share of orders whose first allocation held: no stock or routing exception, no reroute."""
        if not self.orders:
            return None
        missed = len(self.stock_or_routing_orders | self.rerouted_orders)
        return round(max(0, self.orders - missed) / self.orders, 4)


# An allocation that did not hold: the order was not routed on its first try.
ROUTING_KINDS = frozenset({"unknown_sku", "out_of_stock", "unroutable"})


def exception_key(row: OperationRow) -> tuple[str | None, str, str | None]:
    return (row.workflow_id, str(row.detail.get("exceptionKind")), row.detail.get("channelKind"))


def figures(rows: Iterable[OperationRow], config: OperationsConfig) -> dict[str, ChannelFigures]:
    """Every channel's figures from the period's rows (oldest first)."""
    found: dict[str, ChannelFigures] = {}
    raised_at: dict[tuple[str | None, str, str | None], list[datetime]] = defaultdict(list)
    for row in rows:
        f = found.get(row.channel_id)
        if f is None:
            f = found[row.channel_id] = ChannelFigures(row.channel_id)
        d = row.detail
        if row.kind is OperationKind.ACCEPTED:
            via = str(d.get("via"))
            f.accepted_via[via] = f.accepted_via.get(via, 0) + 1
        elif row.kind is OperationKind.RECEIVED:
            f.orders += 1
            f.units += int(d.get("units") or 0)
            f.revenue += Decimal(str(d.get("revenue") or 0))
        elif row.kind is OperationKind.EXCEPTION_RAISED:
            kind = str(d.get("exceptionKind"))
            f.exceptions += 1
            f.by_kind[kind] = f.by_kind.get(kind, 0) + 1
            raised_at[exception_key(row)].append(row.at)
            if kind in ROUTING_KINDS and row.order_id is not None:
                f.stock_or_routing_orders.add(row.order_id)
            if kind == "out_of_stock":
                f.out_of_stock += 1
        elif row.kind is OperationKind.EXCEPTION_ESCALATED:
            f.escalations += 1
        elif row.kind is OperationKind.EXCEPTION_RESOLVED:
            f.resolved += 1
            by = d.get("by")
            kind_by = f.resolved_kinds.setdefault(str(d.get("exceptionKind")), {})
            kind_by[str(by or "order")] = kind_by.get(str(by or "order"), 0) + 1
            if by == "rule":
                f.resolved_by_rule += 1
            elif by == "operator":
                f.resolved_by_operator += 1
            else:
                f.resolved_by_order += 1
            pending = raised_at.get(exception_key(row))
            if pending:
                f.resolve_seconds.append(max(0.0, (row.at - pending.pop(0)).total_seconds()))
        elif row.kind is OperationKind.OPERATOR_ACTION:
            action = str(d.get("action"))
            f.touches += 1
            f.touches_by_action[action] = f.touches_by_action.get(action, 0) + 1
            f.operator_minutes += config.minutes_for(action)
        elif row.kind is OperationKind.REROUTE:
            if d.get("manual"):
                f.manual_reroutes += 1
            else:
                f.automatic_reroutes += 1
            if row.order_id is not None:
                f.rerouted_orders.add(row.order_id)
        elif row.kind is OperationKind.SHIPPED:
            if d.get("seconds") is not None:
                f.ship_seconds.append(float(d["seconds"]))
        elif row.kind is OperationKind.SLA_BREACH:
            f.sla_breaches += 1
        elif row.kind is OperationKind.TRACKING_PUSHED:
            f.tracking_pushed += 1
        elif row.kind is OperationKind.INVENTORY_PUSHED:
            f.pushes += 1
            if d.get("ok"):
                f.pushes_ok += 1
                if d.get("latency") is not None:
                    f.push_latencies.append(float(d["latency"]))
        elif row.kind is OperationKind.INVENTORY_DRIFT:
            f.drift_skus += len(d.get("skus") or [])
    return found


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def channel_json(f: ChannelFigures, config: OperationsConfig) -> dict[str, Any]:
    hourly = config.hourly_cost
    cost_per_order = f.cost_per_order(hourly)
    return {
        "channel": f.channel,
        "orders": f.orders,
        "acceptedVia": dict(sorted(f.accepted_via.items())),
        "units": f.units,
        "revenue": money(f.revenue),
        "exceptions": f.exceptions,
        "exceptionsPer100": per100(f.exceptions, f.orders),
        "exceptionsByKind": {
            kind: {"count": count, "per100": per100(count, f.orders)} for kind, count in sorted(f.by_kind.items())
        },
        "exceptionsResolved": f.resolved,
        "resolvedByRule": f.resolved_by_rule,
        "resolvedByOrder": f.resolved_by_order,
        "resolvedByOperator": f.resolved_by_operator,
        "automationRate": f.automation_rate,
        "raiseToResolveP50Seconds": _seconds(percentile(f.resolve_seconds, 0.5)),
        "raiseToResolveP95Seconds": _seconds(percentile(f.resolve_seconds, 0.95)),
        "operatorTouches": f.touches,
        "operatorTouchesPer100": per100(f.touches, f.orders),
        "operatorTouchesByAction": dict(sorted(f.touches_by_action.items())),
        "operatorMinutes": round(f.operator_minutes, 2),
        "manualReroutes": f.manual_reroutes,
        "automaticReroutes": f.automatic_reroutes,
        "timeToShipP50Seconds": _seconds(percentile(f.ship_seconds, 0.5)),
        "timeToShipP95Seconds": _seconds(percentile(f.ship_seconds, 0.95)),
        "shipped": len(f.ship_seconds),
        "slaBreaches": f.sla_breaches,
        "trackingPushed": f.tracking_pushed,
        "inventoryPushes": f.pushes,
        "pushLatencyP99Seconds": _seconds(percentile(f.push_latencies, 0.99)),
        "operatingCost": money(f.cost(hourly)),
        "costPerOrder": None if cost_per_order is None else money(cost_per_order),
        "costShareOfRevenue": f.cost_share(hourly),
    }


def report_json(
    rows: Iterable[OperationRow],
    config: OperationsConfig,
    channels: Sequence[str],
    since: datetime,
    until: datetime,
) -> dict[str, Any]:
    """The report over [since, until) for `channels` (each present, empty ones with zeros)."""
    found = figures(rows, config)
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "hourlyCost": money(config.hourly_cost),
        "currency": config.currency,
        "channels": [channel_json(found.get(c) or ChannelFigures(c), config) for c in channels],
    }


def bucket_start(at: datetime, bucket: timedelta) -> datetime:
    at = at.astimezone(UTC)
    if bucket >= timedelta(days=1):
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    return at.replace(minute=0, second=0, microsecond=0)


def series_json(
    rows: Iterable[OperationRow],
    config: OperationsConfig,
    channel: str,
    since: datetime,
    until: datetime,
    bucket_name: str,
) -> dict[str, Any]:
    """One channel's figures per bucket (`1h` or `1d`, UTC), every bucket of the period present."""
    bucket = BUCKETS.get(bucket_name)
    if bucket is None:
        raise ReportError(f"invalid bucket {bucket_name!r}: use 1h or 1d")
    starts: list[datetime] = []
    start = bucket_start(since, bucket)
    while start < until:
        starts.append(start)
        start += bucket
    if len(starts) > 24 * 400:
        raise ReportError("too many buckets: shorten the period or use bucket=1d")
    grouped: dict[datetime, list[OperationRow]] = defaultdict(list)
    for row in rows:
        if row.channel_id == channel:
            grouped[bucket_start(row.at, bucket)].append(row)
    points = []
    for start in starts:
        f = figures(grouped.get(start, []), config).get(channel) or ChannelFigures(channel)
        points.append(
            {
                "start": start.isoformat(),
                "orders": f.orders,
                "exceptions": f.exceptions,
                "exceptionsPer100": per100(f.exceptions, f.orders) if f.orders else None,
                "timeToShipP50Seconds": _seconds(percentile(f.ship_seconds, 0.5)),
                "costShareOfRevenue": f.cost_share(config.hourly_cost),
            }
        )
    return {"channel": channel, "bucket": bucket_name, "points": points}


@dataclass
class OpenException:
    channel: str
    kind: str
    order_id: str | None
    workflow_id: str | None
    raised_at: datetime
    channel_kind: str | None = None
    message: str | None = None


def open_exceptions(rows: Iterable[OperationRow]) -> list[OpenException]:
    """The exceptions raised and not resolved since, oldest first: each resolution closes the
    earliest open raise of the same order, kind and channel kind."""
    pending: dict[tuple[str | None, str, str | None], list[OperationRow]] = defaultdict(list)
    for row in rows:
        if row.kind is OperationKind.EXCEPTION_RAISED:
            pending[exception_key(row)].append(row)
        elif row.kind is OperationKind.EXCEPTION_RESOLVED and pending.get(exception_key(row)):
            pending[exception_key(row)].pop(0)
    still = sorted((r for rs in pending.values() for r in rs), key=lambda r: (r.at, r.id))
    return [
        OpenException(
            channel=r.channel_id,
            kind=str(r.detail.get("exceptionKind")),
            order_id=r.order_id,
            workflow_id=r.workflow_id,
            raised_at=r.at,
            channel_kind=r.detail.get("channelKind"),
            message=r.detail.get("message"),
        )
        for r in still
    ]


def open_exceptions_json(found: Sequence[OpenException], ui_base: str, namespace: str) -> dict[str, Any]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for exc in found:
        counts[(exc.channel, exc.kind)] += 1
    return {
        "exceptions": [
            {
                "channel": e.channel,
                "kind": e.kind,
                "channelKind": e.channel_kind,
                "orderId": e.order_id,
                "workflowId": e.workflow_id,
                "raisedAt": e.raised_at.isoformat(),
                "message": e.message,
                "uiUrl": workflow_link(ui_base, namespace, e.workflow_id or ""),
            }
            for e in found
        ],
        "byKind": [{"channel": c, "kind": k, "count": n} for (c, k), n in sorted(counts.items())],
    }
