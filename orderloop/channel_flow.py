"""The flow audit (`orderloop channels flow CHANNEL`): every handoff of one selling channel as
configured in orderloop.yaml, next to what the operations record measured for that step over a
period, so the steps that need a person stand out.

Steps, in the order an order meets them: how orders come in (the gateway's webhook route and
the order poll's interval); which rule cards can route them (those whose `when.channels` names
the channel or is left out) and the locations and fulfillment channels those cards can ship
from; tracking back to the channel; how inventory goes out (the outbox-driven sync and the
channel's rate limit; reconciliation); then each exception kind: the playbook it opens under,
and whether it resolves itself (an auto-resolve rule covers it, or the order re-checks on its
own: out of stock) or waits for a person. Measured: the counts from the record
(orderloop.channel_report.figures), a step's people (operator-resolved exceptions, operator
touches) shown as manual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orderloop.channel_report import ChannelFigures, percentile
from orderloop.config import ChannelConfig, OrderloopConfig
from orderloop.contracts.inventory_sync import InventorySyncInput
from orderloop.contracts.scheduled_jobs import RECONCILE_EVERY
from orderloop.model import ConnectorRole, ExceptionKind
from orderloop.playbooks import playbook_for

# Kinds the order resolves by itself, without a rule: it re-checks stock on a backoff timer.
SELF_RESOLVING = {ExceptionKind.OUT_OF_STOCK: "re-checks stock every out_of_stock_retry (doubling)"}


@dataclass
class FlowStep:
    step: str
    configured: str
    measured: str
    # Who acts on this step: "system", or "person" (an operator must act for it to go on).
    actor: str
    # Times a person acted on this step in the period.
    manual: int = 0

    def json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "configured": self.configured,
            "measured": self.measured,
            "actor": self.actor,
            "manual": self.manual,
        }


def _every(value: Any) -> str:
    return "never" if value is None else f"every {value}"


def _intake(channel: ChannelConfig, f: ChannelFigures) -> FlowStep:
    configured = f"webhook POST /webhooks/{channel.id}; order poll {_every(channel.poll_orders_every)}"
    if channel.hold_window:
        configured += f"; held {channel.hold_window} before release"
    via = ", ".join(f"{count} by {how}" for how, count in sorted(f.accepted_via.items())) or "none accepted"
    return FlowStep("orders in", configured, f"{f.orders} orders, {f.units} units received ({via})", "system")


def _routing(config: OrderloopConfig, channel: ChannelConfig, f: ChannelFigures) -> list[FlowStep]:
    cards = [r for r in config.routing.rules if r.when.channels is None or channel.id in r.when.channels]
    names = ", ".join(r.name for r in cards) or "none (every location, in the file's order)"
    every = [loc.id for loc in config.locations]
    locations: list[str] = [] if cards else list(every)
    for rule in cards:
        ids = list(every if rule.locations is None else rule.locations)
        for step in rule.fallback:
            ids += step.locations or []
        locations += [i for i in ids if i not in locations]
    where = ", ".join(f"{i} ({config.location(i).fulfillment_channel})" for i in locations)
    missed = len(f.stock_or_routing_orders | f.rerouted_orders)
    routed = (
        f"{f.orders - missed} of {f.orders} routed on the first try; "
        f"{f.automatic_reroutes} automatic, {f.manual_reroutes} manual reroute(s)"
    )
    return [
        FlowStep(
            "routing", f"rule cards: {names}", routed, "person" if f.manual_reroutes else "system", f.manual_reroutes
        ),
        FlowStep("fulfillment", f"locations (3PL): {where}", _shipped(f), "system"),
        FlowStep(
            "tracking to channel", "pushed when each shipment is reported", f"{f.tracking_pushed} pushed", "system"
        ),
    ]


def _shipped(f: ChannelFigures) -> str:
    p50 = percentile(f.ship_seconds, 0.5)
    return f"{len(f.ship_seconds)} shipped in full" + ("" if p50 is None else f", time to ship p50 {p50:.0f} s")


def _inventory(channel: ChannelConfig, f: ChannelFigures) -> FlowStep:
    sync = InventorySyncInput(channel_id=channel.id, task_queue="-")
    rate = f"; at most {channel.rate_limit_per_second:g}/s" if channel.rate_limit_per_second else ""
    if channel.inventory_push_every:
        coalesced = f"at most one push every {channel.inventory_push_every.total_seconds():g} s"
    else:
        coalesced = f"changes coalesced {sync.coalesce.total_seconds():g} s"
    configured = (
        f"outbox-driven push ({coalesced}, other processes' "
        f"polled every {sync.poll_interval.total_seconds():g} s{rate}); "
        f"reconciliation every {RECONCILE_EVERY}"
    )
    p99 = percentile(f.push_latencies, 0.99)
    measured = f"{f.pushes_ok} of {f.pushes} pushes accepted" + ("" if p99 is None else f", latency p99 {p99:.2f} s")
    measured += f"; {f.drift_skus} SKU(s) drifted"
    return FlowStep("inventory out", configured, measured, "system")


def _exceptions(config: OrderloopConfig, channel: ChannelConfig, f: ChannelFigures) -> list[FlowStep]:
    steps = []
    kinds = [str(k) for k in ExceptionKind] + sorted(set(f.by_kind) - {str(k) for k in ExceptionKind})
    for kind in kinds:
        book = playbook_for(config.playbooks, channel.id, kind)
        rules = [
            r
            for r in (book.auto_resolve if book else [])
            if (r.when.kinds is None or kind in r.when.kinds)
            and (r.when.channels is None or channel.id in r.when.channels)
        ]
        if rules:
            how = "resolves itself: " + ", ".join(f"rule {r.name} ({r.action}, after {r.when.min_age})" for r in rules)
            actor = "system"
        elif kind in SELF_RESOLVING:
            how, actor = f"resolves itself: {SELF_RESOLVING[ExceptionKind(kind)]}", "system"
        else:
            how, actor = "needs a person", "person"
        configured = f"playbook {book.name if book else '(default)'}; {how}"
        raised = f.by_kind.get(kind, 0)
        resolved = f.resolved_kinds.get(kind, {})
        by_person = resolved.get("operator", 0)
        measured = (
            f"{raised} raised; resolved by rule {resolved.get('rule', 0)}, by the order {resolved.get('order', 0)}, "
            f"by a person {by_person}"
        )
        steps.append(FlowStep(f"exception {kind}", configured, measured, actor, by_person))
    return steps


def flow(config: OrderloopConfig, channel_id: str, f: ChannelFigures) -> list[FlowStep]:
    """The channel's handoffs as configured, with the period's measured counts."""
    channel = config.channel(channel_id)
    if channel.role is not ConnectorRole.SELLING:
        raise KeyError(channel_id)
    return [
        _intake(channel, f),
        *_routing(config, channel, f),
        _inventory(channel, f),
        *_exceptions(config, channel, f),
    ]
