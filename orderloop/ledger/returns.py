"""Returns in the ledger: the record of every return (joined to its order by the order's
workflow id), the check that a line is never returned beyond what it shipped, and a receipt's
units put where the policy says in one transaction: sellable ones back on hand at the receiving
location (a `receive` event whose cause is the return, and outbox rows, so every selling channel
learns the new availability), damaged or wrong ones into the location's non-sellable quantity,
which no availability read ever counts.

A return's lines claim shipped units while the return is live; a rejected or cancelled return
claims none, so the customer may ask again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from orderloop.ledger.base import LedgerBase, event_row, utc_now
from orderloop.ledger.errors import InvalidQuantity, LedgerError
from orderloop.ledger.schema import (
    events,
    non_sellable,
    reservations,
    return_lines,
    return_receipts,
    returns,
    shipment_commits,
)
from orderloop.ledger.types import (
    Cause,
    CauseKind,
    EventKind,
    ReceiptRow,
    ReturnRecord,
    ReturnRecordLine,
    ShippedLine,
)
from orderloop.returns_model import Disposition, ReturnStatus

# Statuses whose lines no longer claim shipped units.
_RELEASED = (ReturnStatus.REJECTED.value, ReturnStatus.CANCELLED.value)


class UnknownReturn(LedgerError):
    """A receipt or a status for a return the ledger has no record of."""


class Returns(LedgerBase):
    """Return records, the beyond-shipped check, and receipts."""

    async def shipped_lines(self, order_id: str, *, excluding: str | None = None) -> list[ShippedLine]:
        """Per order line: the units shipped (from the committed shipments), where from, and what
        live returns other than `excluding` already claim."""

        def tx(conn: Connection) -> list[ShippedLine]:
            return self._shipped_lines(conn, order_id, excluding)

        return await self._read(tx)

    def _shipped_lines(self, conn: Connection, order_id: str, excluding: str | None) -> list[ShippedLine]:
        sc = shipment_commits.c
        shipped = conn.execute(
            select(sc.line_id, func.sum(sc.quantity), func.max(sc.committed_at))
            .where(sc.order_id == order_id)
            .group_by(sc.line_id)
        ).all()
        if not shipped:
            return []
        r = reservations.c
        where: dict[str, tuple[str, str]] = {}
        for line_id, line_sku, location_id in conn.execute(
            select(r.line_id, r.line_sku, r.location_id).where(r.order_id == order_id).order_by(r.line_id, r.sku)
        ):
            where.setdefault(line_id, (line_sku, location_id))
        rl, rt = return_lines.c, returns.c
        claimed_query = (
            select(rl.order_line_id, func.sum(rl.quantity))
            .join(returns, rt.return_id == rl.return_id)
            .where(rt.order_id == order_id, rt.status.not_in(_RELEASED))
            .group_by(rl.order_line_id)
        )
        if excluding is not None:
            claimed_query = claimed_query.where(rt.return_id != excluding)
        claimed = {line_id: quantity for line_id, quantity in conn.execute(claimed_query)}
        lines = []
        for line_id, quantity, at in sorted(shipped):
            sku, location_id = where.get(line_id, ("", ""))
            lines.append(
                ShippedLine(
                    line_id=line_id,
                    sku=sku,
                    location_id=location_id,
                    shipped=int(quantity),
                    returned=int(claimed.get(line_id, 0)),
                    last_shipped_at=at,
                )
            )
        return lines

    async def record_return(
        self,
        return_id: str,
        channel_id: str,
        external_id: str,
        order_id: str | None,
        lines: list[ReturnRecordLine],
        *,
        status: ReturnStatus,
        location_id: str | None = None,
        reason: str | None = None,
    ) -> ReturnRecord:
        """Record a return once (a repeated call answers the record as it stands).

        For a known order each line is checked against what it shipped less what other live
        returns claim: a line beyond it records the return as `rejected` with the reason (the
        record is kept, the units are not claimed). `order_id` None: an order Orderloop never
        saw, recorded as asked (the workflow holds it in an exception); no `lines`: a request
        that could not be mapped, kept for the operator."""

        def tx(conn: Connection) -> ReturnRecord:
            if order_id is not None:
                self._lock_order(conn, order_id)
            existing = self._record(conn, return_id)
            if existing is not None:
                return existing
            final_status, final_reason = status, reason
            if order_id is not None:
                refusal = _beyond_shipped(lines, self._shipped_lines(conn, order_id, None))
                if refusal is not None:
                    final_status, final_reason = ReturnStatus.REJECTED, refusal
            now = utc_now()
            conn.execute(
                insert(returns).values(
                    return_id=return_id,
                    channel_id=channel_id,
                    external_id=external_id,
                    order_id=order_id,
                    location_id=location_id,
                    shipment_ids=self._shipment_ids(conn, order_id),
                    status=final_status.value,
                    reason=final_reason,
                    created_at=now,
                    updated_at=now,
                )
            )
            if lines:
                conn.execute(
                    insert(return_lines),
                    [{"return_id": return_id, **line.model_dump()} for line in lines],
                )
            record = self._record(conn, return_id)
            assert record is not None
            return record

        return await self._write(tx)

    def _shipment_ids(self, conn: Connection, order_id: str | None) -> list[str]:
        if order_id is None:
            return []
        sc = shipment_commits.c
        found = conn.execute(select(sc.shipment_id).where(sc.order_id == order_id).distinct()).scalars()
        return sorted(found)

    async def set_return_status(
        self, return_id: str, status: ReturnStatus, reason: str | None = None, location_id: str | None = None
    ) -> None:
        """Follow the workflow's status (and, once known, where it is received)."""
        values: dict[str, Any] = {"status": status.value, "updated_at": utc_now()}
        if reason is not None:
            values["reason"] = reason
        if location_id is not None:
            values["location_id"] = location_id

        def tx(conn: Connection) -> None:
            done = conn.execute(update(returns).where(returns.c.return_id == return_id).values(**values))
            if done.rowcount != 1:
                raise UnknownReturn(f"no return {return_id!r} in the ledger")

        await self._write(tx)

    async def receive_return(self, return_id: str, location_id: str, rows: list[ReceiptRow]) -> bool:
        """Apply a return's receipt in one transaction: `restock` units back on hand at
        `location_id` (a bundle's components), `non_sellable` units into the location's
        non-sellable quantity, `discard` units recorded only. Once per return: a repeated call
        returns False and changes nothing."""
        merged: dict[tuple[str, str], ReceiptRow] = {}
        for row in rows:
            key = (row.sku, row.condition)
            if key in merged:
                row = row.model_copy(update={"quantity": merged[key].quantity + row.quantity})
            merged[key] = row
        if not merged:
            raise InvalidQuantity(f"return {return_id!r}: a receipt needs at least one line")
        cause = Cause(kind=CauseKind.RETURN, ref=return_id)

        def tx(conn: Connection) -> bool:
            record = self._record(conn, return_id)
            if record is None:
                raise UnknownReturn(f"no return {return_id!r} in the ledger")
            if record.order_id is not None:
                self._lock_order(conn, record.order_id)
            if record.receipt:
                return False
            now = utc_now()
            restock: dict[str, int] = defaultdict(int)
            apart: dict[tuple[str, str], int] = defaultdict(int)
            moves = []
            for row in sorted(merged.values(), key=lambda r: (r.sku, r.condition)):
                disposition = Disposition(row.disposition)
                parts = self._bundles(conn, [row.sku]).get(row.sku) or {row.sku: 1}
                for sku, per in sorted(parts.items()):
                    units = row.quantity * per
                    if disposition is Disposition.RESTOCK:
                        restock[sku] += units
                        moves.append(event_row(EventKind.RECEIVE, sku, location_id, units, cause, now))
                    elif disposition is Disposition.NON_SELLABLE:
                        apart[(sku, row.condition)] += units
                        moves.append(event_row(EventKind.NON_SELLABLE, sku, location_id, units, cause, now))
            conn.execute(
                insert(return_receipts),
                [
                    {
                        "return_id": return_id,
                        "sku": row.sku,
                        "condition": row.condition,
                        "disposition": row.disposition,
                        "location_id": location_id,
                        "quantity": row.quantity,
                        "received_at": now,
                    }
                    for row in merged.values()
                ],
            )
            for sku, units in sorted(restock.items()):
                self._add_on_hand(conn, sku, location_id, units)
            for (sku, condition), units in sorted(apart.items()):
                upsert = self._insert(non_sellable).values(
                    sku=sku, location_id=location_id, condition=condition, quantity=units
                )
                conn.execute(
                    upsert.on_conflict_do_update(
                        index_elements=[non_sellable.c.sku, non_sellable.c.location_id, non_sellable.c.condition],
                        set_={"quantity": non_sellable.c.quantity + upsert.excluded.quantity},
                    )
                )
            if moves:
                conn.execute(insert(events), moves)
            conn.execute(
                update(returns)
                .where(returns.c.return_id == return_id)
                .values(status=ReturnStatus.RECEIVED.value, location_id=location_id, updated_at=now)
            )
            # Only sellable units change what may be sold: the outbox carries them to every channel.
            self._touch(conn, restock, now)
            return True

        return await self._write(tx)

    async def non_sellable(self, sku: str) -> dict[tuple[str, str], int]:
        """(location, condition) -> non-sellable units of `sku`."""

        def tx(conn: Connection) -> dict[tuple[str, str], int]:
            n = non_sellable.c
            rows = conn.execute(select(n.location_id, n.condition, n.quantity).where(n.sku == sku, n.quantity > 0))
            return {(loc, condition): qty for loc, condition, qty in rows}

        return await self._read(tx)

    async def return_record(self, return_id: str) -> ReturnRecord | None:
        return await self._read(lambda conn: self._record(conn, return_id))

    async def returns_for_order(self, order_id: str) -> list[ReturnRecord]:
        """The returns of one order, oldest first (the order view lists them)."""
        return await self._records(returns.c.order_id == order_id)

    async def list_returns(
        self, channel_id: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[ReturnRecord]:
        """Returns, newest first, optionally of one channel or in one status."""
        where = []
        if channel_id is not None:
            where.append(returns.c.channel_id == channel_id)
        if status is not None:
            where.append(returns.c.status == status)
        records = await self._records(*where, newest_first=True, limit=limit)
        return records

    async def _records(self, *where: Any, newest_first: bool = False, limit: int | None = None) -> list[ReturnRecord]:
        order = returns.c.created_at.desc() if newest_first else returns.c.created_at

        def tx(conn: Connection) -> list[ReturnRecord]:
            query = select(returns.c.return_id).where(*where).order_by(order, returns.c.return_id)
            if limit is not None:
                query = query.limit(limit)
            ids = conn.execute(query).scalars().all()
            found = [self._record(conn, return_id) for return_id in ids]
            return [r for r in found if r is not None]

        return await self._read(tx)

    def _record(self, conn: Connection, return_id: str) -> ReturnRecord | None:
        row = conn.execute(select(returns).where(returns.c.return_id == return_id)).mappings().first()
        if row is None:
            return None
        rl, rr = return_lines.c, return_receipts.c
        lines = conn.execute(
            select(rl.line_id, rl.order_line_id, rl.sku, rl.quantity)
            .where(rl.return_id == return_id)
            .order_by(rl.line_id)
        ).mappings()
        receipt = conn.execute(
            select(rr.sku, rr.condition, rr.disposition, rr.quantity, rr.location_id)
            .where(rr.return_id == return_id)
            .order_by(rr.sku, rr.condition)
        ).mappings()
        return ReturnRecord(
            **{k: row[k] for k in ("return_id", "channel_id", "external_id", "order_id", "location_id", "status")},
            reason=row["reason"],
            shipment_ids=list(row["shipment_ids"] or []),
            lines=[ReturnRecordLine(**line) for line in lines],
            receipt=[ReceiptRow(**r) for r in receipt],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


def _beyond_shipped(lines: Iterable[ReturnRecordLine], shipped: list[ShippedLine]) -> str | None:
    """Why the lines ask for more than their order lines shipped (less live returns), or None."""
    by_line = {line.line_id: line for line in shipped}
    asked: dict[str, int] = defaultdict(int)
    skus: dict[str, str] = {}
    for line in lines:
        asked[line.order_line_id] += line.quantity
        skus[line.order_line_id] = line.sku
    problems = []
    for line_id, quantity in sorted(asked.items()):
        got = by_line.get(line_id)
        if got is None:
            problems.append(f"order line {line_id} ({skus[line_id]}) never shipped")
        elif got.sku and skus[line_id] != got.sku:
            problems.append(f"order line {line_id} shipped {got.sku}, not {skus[line_id]}")
        elif quantity > got.returnable:
            already = f", {got.returned} already returned" if got.returned else ""
            problems.append(
                f"order line {line_id} ({got.sku}): {quantity} to return but {got.shipped} shipped{already}"
            )
    if not problems:
        return None
    return "cannot return beyond what shipped: " + "; ".join(problems)
