"""The go-live readiness verdict (issue 23): after a channel's monitoring window, is it ready to
expand? `orderloop channels golive report CHANNEL` and `GET /api/channels/{channel}/golive/readiness`.

The window starts at the rollout's last change (its plan or last expansion: the tranche now
live) and lasts `operations.readiness.window` (48 h by default). The figures come from the
operations record over the window (orderloop.channel_report), each criterion against its
threshold in `operations.readiness`:

- monitoring_window_hours: the window has passed;
- orders: at least `min_orders` orders received;
- pushes_in_sync: share of inventory pushes the channel accepted;
- push_latency_p99_seconds: age of the oldest stock change a push carried, p99;
- drift_skus: SKUs reconciliation found published off the ledger's quantity;
- routed_first_try: share of orders whose first allocation held (no unknown-SKU, out-of-stock
  or unroutable exception, no reroute); unroutable: orders no location could ship;
- exceptions_per_100: against the other selling channels' over the same window (at most
  `max_exceptions_vs_baseline` times theirs, never below `exceptions_per_100_floor`);
- sla_adherence: share of orders without an SLA breach;
- oversells: orders the channel sold that the ledger had no stock for (its out-of-stock
  exceptions); must be zero.

Ready when every criterion passes; each failing one is listed with its value and threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orderloop.channel_report import ChannelFigures, figures, per100, percentile
from orderloop.config import OrderloopConfig
from orderloop.golive import channel_rollout, selling_channel
from orderloop.ledger import Ledger, RolloutStage
from orderloop.model import ConnectorRole


@dataclass
class Criterion:
    name: str
    value: float | None
    threshold: float
    passed: bool
    detail: str

    def json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "threshold": self.threshold,
            "passed": self.passed,
            "detail": self.detail,
        }


@dataclass
class Readiness:
    channel: str
    stage: RolloutStage | None
    window_hours: float
    monitoring_since: datetime | None
    until: datetime
    figures: ChannelFigures
    baseline_per100: float | None
    baseline_by_kind: dict[str, float]
    criteria: list[Criterion]

    @property
    def ready(self) -> bool:
        return all(c.passed for c in self.criteria)

    @property
    def failing(self) -> list[Criterion]:
        return [c for c in self.criteria if not c.passed]

    def json(self) -> dict[str, Any]:
        f = self.figures
        return {
            "channel": self.channel,
            "stage": None if self.stage is None else str(self.stage),
            "windowHours": self.window_hours,
            "monitoringSince": None if self.monitoring_since is None else self.monitoring_since.isoformat(),
            "until": self.until.isoformat(),
            "ready": self.ready,
            "orders": f.orders,
            "units": f.units,
            "pushLatencyP50Seconds": percentile(f.push_latencies, 0.5),
            "pushLatencyP99Seconds": percentile(f.push_latencies, 0.99),
            "baselineExceptionsPer100": self.baseline_per100,
            "exceptionsByKind": {
                kind: {
                    "count": count,
                    "per100": per100(count, f.orders),
                    "baselinePer100": self.baseline_by_kind.get(kind, 0.0),
                }
                for kind, count in sorted(f.by_kind.items())
            },
            "criteria": [c.json() for c in self.criteria],
        }


def _at_least(name: str, value: float | None, threshold: float, detail: str) -> Criterion:
    return Criterion(name, value, threshold, value is not None and value >= threshold, detail)


def _at_most(name: str, value: float | None, threshold: float, detail: str) -> Criterion:
    return Criterion(name, value, threshold, value is not None and value <= threshold, detail)


def criteria(
    f: ChannelFigures,
    others: list[ChannelFigures],
    config: OrderloopConfig,
    elapsed_hours: float | None,
) -> tuple[list[Criterion], float | None, dict[str, float]]:
    t = config.operations.readiness
    window_hours = t.window.total_seconds() / 3600
    base_orders = sum(o.orders for o in others)
    base_exceptions = sum(o.exceptions for o in others)
    baseline = per100(base_exceptions, base_orders) if base_orders else None
    by_kind: dict[str, float] = {}
    for o in others:
        for kind, count in o.by_kind.items():
            by_kind[kind] = by_kind.get(kind, 0) + count
    baseline_by_kind = {k: per100(int(v), base_orders) for k, v in by_kind.items()} if base_orders else {}
    allowed = max(t.exceptions_per_100_floor, (baseline or 0.0) * t.max_exceptions_vs_baseline)
    in_sync = f.pushes_ok / f.pushes if f.pushes else None
    p99 = percentile(f.push_latencies, 0.99)
    adherence = (1 - min(f.sla_breaches, f.orders) / f.orders) if f.orders else None
    unroutable = f.by_kind.get("unroutable", 0)
    since_text = "not live yet" if elapsed_hours is None else f"{elapsed_hours:.1f} h of {window_hours:g} h"
    found = [
        _at_least("monitoring_window_hours", elapsed_hours, window_hours, since_text),
        _at_least("orders", f.orders, t.min_orders, f"{f.orders} orders, {f.units} units in the window"),
        _at_least(
            "pushes_in_sync",
            in_sync,
            t.min_pushes_in_sync,
            f"{f.pushes_ok} of {f.pushes} inventory pushes accepted" if f.pushes else "no inventory push recorded",
        ),
        _at_most(
            "push_latency_p99_seconds",
            p99,
            t.max_push_latency_p99_seconds,
            "no push latency recorded" if p99 is None else f"p50 {percentile(f.push_latencies, 0.5):.2f} s",
        ),
        _at_most("drift_skus", f.drift_skus, t.max_drift, f"{f.drift_skus} SKU(s) found off by reconciliation"),
        _at_least(
            "routed_first_try",
            f.routed_first_try,
            t.min_routed_first_try,
            "no orders" if not f.orders else f"{len(f.stock_or_routing_orders | f.rerouted_orders)} not on first try",
        ),
        _at_most("unroutable", unroutable, t.max_unroutable, f"{unroutable} unroutable exception(s)"),
        _at_most(
            "exceptions_per_100",
            per100(f.exceptions, f.orders) if f.orders else None,
            round(allowed, 2),
            f"{f.exceptions} exception(s); other channels {baseline if baseline is not None else 'no orders'} per 100",
        ),
        _at_least("sla_adherence", adherence, t.min_sla_adherence, f"{f.sla_breaches} SLA breach(es)"),
        _at_most("oversells", f.out_of_stock, 0, f"{f.out_of_stock} order(s) sold without stock (out_of_stock)"),
    ]
    return found, baseline, baseline_by_kind


async def readiness(ledger: Ledger, config: OrderloopConfig, channel_id: str, now: datetime) -> Readiness:
    """The verdict for one selling channel now (GoLiveError for an unknown channel)."""
    channel = selling_channel(config, channel_id)
    rollout = await channel_rollout(ledger, channel)
    changes = await ledger.rollout_changes(channel_id, limit=1)
    since = changes[-1].at if changes else rollout.updated_at
    window_hours = config.operations.readiness.window.total_seconds() / 3600
    elapsed = max(0.0, (now - since).total_seconds() / 3600)
    selling = [c.id for c in config.channels_with_role(ConnectorRole.SELLING)]
    rows = await ledger.operations_between(since, now, selling)
    found = figures(rows, config.operations)
    own = found.get(channel_id) or ChannelFigures(channel_id)
    others = [f for c, f in found.items() if c != channel_id]
    listed, baseline, baseline_by_kind = criteria(own, others, config, elapsed)
    return Readiness(
        channel=channel_id,
        stage=rollout.stage,
        window_hours=window_hours,
        monitoring_since=since,
        until=now,
        figures=own,
        baseline_per100=baseline,
        baseline_by_kind=baseline_by_kind,
        criteria=listed,
    )
