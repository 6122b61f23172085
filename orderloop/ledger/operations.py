"""The operations record: one row per order event and per channel inventory event, the
material of `orderloop channels report`, the readiness verdict and the flow audit
(orderloop.channel_report, orderloop.readiness, orderloop.channel_flow).

Written by the intake (order accepted, in the acceptance's own transaction), by activities
(order received, exceptions raised / escalated / resolved, shipped in full, tracking pushed,
inventory pushed, drift found) and by the gateway (operator actions with the operator's
identity), never by workflow code. Invariants: a row is written once per `key`
however often its writer is retried (unique key, ON CONFLICT DO NOTHING), so a writer derives
the key from what a retry repeats (the workflow id and the event's own sequence or time, the
activity's id); rows are read by channel and time (index channel, at) and trimmed by age.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from orderloop.ledger.base import LedgerBase, chunks, utc_now
from orderloop.ledger.schema import operations


class OperationKind(StrEnum):
    # The intake accepted a new order (`via`: webhook or poll), written with the acceptance.
    ACCEPTED = "accepted"
    # An order workflow mapped a channel order (its units and revenue in the detail).
    RECEIVED = "received"
    EXCEPTION_RAISED = "exception_raised"
    EXCEPTION_ESCALATED = "exception_escalated"
    # Resolved, and by what: `by` is rule, operator or order (the order's own progress).
    EXCEPTION_RESOLVED = "exception_resolved"
    # An operator's action through the operator API (retry, reroute, cancel, amend-address,
    # mark-shipped), with the operator's name.
    OPERATOR_ACTION = "operator_action"
    # A reroute: `manual` (an operator) or automatic (a playbook rule).
    REROUTE = "reroute"
    # The shipment commit that left no line of the order open (`seconds`: time to ship).
    SHIPPED = "shipped"
    TRACKING_PUSHED = "tracking_pushed"
    SLA_BREACH = "sla_breach"
    # A channel's inventory push (`latency` seconds of its oldest change, `skus`, `ok`).
    INVENTORY_PUSHED = "inventory_pushed"
    # Reconciliation found published quantities differing from the ledger's (`skus`).
    INVENTORY_DRIFT = "inventory_drift"


class OperationEvent(BaseModel):
    """One event as a writer records it."""

    key: str
    channel_id: str
    kind: OperationKind
    at: datetime
    order_id: str | None = None
    workflow_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class OperationRow(OperationEvent):
    id: int


def operation_rows(events: Iterable[OperationEvent]) -> list[dict[str, Any]]:
    """The table's rows of `events`, for `LedgerBase._record_operation_rows`."""
    rows = [event.model_dump(mode="python") for event in events]
    for row in rows:
        row["kind"] = str(row["kind"])
    return rows


class Operations(LedgerBase):
    """The operations record's writes, reads by channel and period, and its trimming."""

    async def record_operations(self, events: Sequence[OperationEvent]) -> int:
        """Record events; returns how many were new (a repeated key writes nothing)."""
        if not events:
            return 0
        rows = operation_rows(events)

        def tx(conn: Connection) -> int:
            return self._record_operation_rows(conn, rows)

        return await self._write(tx)

    async def operations_between(
        self,
        since: datetime,
        until: datetime | None = None,
        channels: Iterable[str] | None = None,
        kinds: Iterable[OperationKind] | None = None,
    ) -> list[OperationRow]:
        """The events at or after `since` (and before `until`), oldest first."""
        wanted = None if channels is None else sorted(set(channels))
        kind_values = None if kinds is None else sorted({str(k) for k in kinds})

        def tx(conn: Connection) -> list[OperationRow]:
            query = select(operations).where(operations.c.at >= since).order_by(operations.c.at, operations.c.id)
            if until is not None:
                query = query.where(operations.c.at < until)
            if kind_values is not None:
                query = query.where(operations.c.kind.in_(kind_values))
            if wanted is None:
                return [OperationRow.model_validate(row._mapping) for row in conn.execute(query)]
            found: list[OperationRow] = []
            for chunk in chunks(wanted):
                found += [
                    OperationRow.model_validate(row._mapping)
                    for row in conn.execute(query.where(operations.c.channel_id.in_(list(chunk))))
                ]
            return sorted(found, key=lambda r: (r.at, r.id))

        return await self._read(tx)

    async def trim_operations(self, older_than: datetime | None = None) -> int:
        """Delete the events before `older_than` (default: now); returns how many."""
        cutoff = older_than or utc_now()

        def tx(conn: Connection) -> int:
            return conn.execute(delete(operations).where(operations.c.at < cutoff)).rowcount

        return await self._write(tx)
