"""The operations record's events as their writers build them (orderloop.ledger.operations):
pure functions of what an activity or the gateway has in hand, each with the idempotency key a
retry of that writer repeats.

- `received`: the ingest activity's mapped order (units, revenue, currency);
- `from_notification`: the notify activity's notice: exception raised (and an SLA breach),
  escalated, resolved (by a rule, an operator or the order's own progress; a rule whose action
  is a reroute adds an automatic reroute);
- `shipped`: the shipment commit that left no line open (time to ship from the acceptance);
- `tracking_pushed`, `inventory_pushed`, `inventory_drift`: channel calls and reconciliation;
- `operator_action`: the gateway's accepted operator action (a reroute adds a manual reroute).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from orderloop.activity_models import Notification, NotificationLevel
from orderloop.config import OrderloopConfig
from orderloop.contracts import Updates
from orderloop.ledger.operations import OperationEvent, OperationKind
from orderloop.model import ExceptionKind, Order
from orderloop.playbooks import RuleAction

RULE_PREFIX = "rule "
OPERATOR_PREFIX = "operator "


def order_revenue(order: Order) -> Decimal:
    """The order's total as the channel sent it, or its lines' totals when it sent none."""
    if order.total_price is not None:
        return Decimal(order.total_price)
    total = Decimal(0)
    for line in order.line_items:
        if line.total_price is not None:
            total += Decimal(line.total_price)
        elif line.unit_price is not None:
            total += Decimal(line.unit_price) * line.quantity
    return total


def received(order: Order, channel_id: str, external_id: str, at: datetime) -> OperationEvent:
    return OperationEvent(
        key=f"{order.id}/received",
        channel_id=channel_id,
        order_id=external_id,
        workflow_id=order.id,
        kind=OperationKind.RECEIVED,
        at=at,
        detail={
            "units": sum(line.quantity for line in order.line_items),
            "revenue": str(order_revenue(order)),
            "currency": order.currency,
        },
    )


def resolver(resolved_by: str | None) -> tuple[str, str | None]:
    """What resolved an exception: ("rule", name), ("operator", name) or ("order", None)."""
    if resolved_by and resolved_by.startswith(RULE_PREFIX):
        return "rule", resolved_by.removeprefix(RULE_PREFIX)
    if resolved_by and resolved_by.startswith(OPERATOR_PREFIX):
        return "operator", resolved_by.removeprefix(OPERATOR_PREFIX)
    return "order", None


def rule_action(config: OrderloopConfig, name: str) -> RuleAction | None:
    for book in config.playbooks:
        for rule in book.auto_resolve:
            if rule.name == name:
                return rule.action
    return None


def notification_key(note: Notification) -> str:
    """The notice's own id where the workflow minted one, else what its retries repeat (the
    workflow's time of the notice is part of its history)."""
    if note.event_id:
        return f"{note.event_id}/record"
    kind = note.channel_kind or str(note.kind)
    return f"{note.workflow_id}#{note.level}.{kind}.{note.at.isoformat()}"


_LEVELS = {
    NotificationLevel.EXCEPTION: OperationKind.EXCEPTION_RAISED,
    NotificationLevel.ESCALATION: OperationKind.EXCEPTION_ESCALATED,
    NotificationLevel.RESOLVED: OperationKind.EXCEPTION_RESOLVED,
}


def from_notification(note: Notification, config: OrderloopConfig) -> list[OperationEvent]:
    kind = _LEVELS.get(note.level)
    if kind is None:
        return []  # a warning is about an exception not raised yet
    key = notification_key(note)
    detail: dict[str, Any] = {"exceptionKind": str(note.kind)}
    if note.channel_kind:
        detail["channelKind"] = note.channel_kind
    if note.playbook:
        detail["playbook"] = note.playbook
    events = []
    base = {"channel_id": note.channel_id, "order_id": note.external_id, "workflow_id": note.workflow_id, "at": note.at}
    if kind is OperationKind.EXCEPTION_RESOLVED:
        by, name = resolver(note.resolved_by)
        detail.update(by=by, name=name, resolution=note.message[:500])
        if by == "rule" and name is not None and rule_action(config, name) is RuleAction.REROUTE:
            events.append(
                OperationEvent(
                    key=f"{key}/reroute", kind=OperationKind.REROUTE, detail={"manual": False, "rule": name}, **base
                )
            )
    else:
        detail["message"] = note.message[:500]
    events.insert(0, OperationEvent(key=key, kind=kind, detail=detail, **base))
    if note.level is NotificationLevel.EXCEPTION and note.kind == ExceptionKind.SLA_BREACH:
        events.append(OperationEvent(key=f"{key}/sla", kind=OperationKind.SLA_BREACH, detail={}, **base))
    return events


def shipped(
    workflow_id: str, channel_id: str, external_id: str, accepted_at: datetime | None, at: datetime, units: int
) -> OperationEvent:
    seconds = None if accepted_at is None else max(0.0, (at - accepted_at).total_seconds())
    return OperationEvent(
        key=f"{workflow_id}/shipped",
        channel_id=channel_id,
        order_id=external_id,
        workflow_id=workflow_id,
        kind=OperationKind.SHIPPED,
        at=at,
        detail={"seconds": seconds, "units": units},
    )


def tracking_pushed(
    workflow_id: str, channel_id: str, external_id: str, shipment_id: str, at: datetime
) -> OperationEvent:
    return OperationEvent(
        key=f"{workflow_id}/tracking/{shipment_id}",
        channel_id=channel_id,
        order_id=external_id,
        workflow_id=workflow_id,
        kind=OperationKind.TRACKING_PUSHED,
        at=at,
        detail={"shipment": shipment_id},
    )


def inventory_pushed(
    key: str, channel_id: str, at: datetime, skus: int, latency: float | None, ok: bool
) -> OperationEvent:
    return OperationEvent(
        key=key,
        channel_id=channel_id,
        kind=OperationKind.INVENTORY_PUSHED,
        at=at,
        detail={"skus": skus, "latency": latency, "ok": ok},
    )


def inventory_drift(key: str, channel_id: str, at: datetime, skus: list[str]) -> OperationEvent:
    return OperationEvent(
        key=key, channel_id=channel_id, kind=OperationKind.INVENTORY_DRIFT, at=at, detail={"skus": sorted(skus)}
    )


def operator_action(
    key: str,
    action: Updates,
    operator: str,
    workflow_id: str,
    channel_id: str,
    external_id: str,
    at: datetime,
    exception_kind: str | None,
) -> list[OperationEvent]:
    base = {"channel_id": channel_id, "order_id": external_id, "workflow_id": workflow_id, "at": at}
    detail = {"action": str(action), "operator": operator, "exceptionKind": exception_kind}
    events = [OperationEvent(key=key, kind=OperationKind.OPERATOR_ACTION, detail=detail, **base)]
    if action is Updates.REROUTE:
        events.append(
            OperationEvent(
                key=f"{key}/reroute", kind=OperationKind.REROUTE, detail={"manual": True, "operator": operator}, **base
            )
        )
    return events
