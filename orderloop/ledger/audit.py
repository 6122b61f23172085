"""Reading the record: the event ledger (latest events, orders reserved per location since a
time) and the invariant audit the reconciliation job runs.

`check_invariants` states the invariants the other parts keep: reserved equals the open
reservations per (sku, location), no stock quantity is negative nor reserved above on hand,
and each reservation's state agrees with its open quantity. It only reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection

from orderloop.ledger.base import LedgerBase
from orderloop.ledger.schema import events, reservations, stock
from orderloop.ledger.types import Cause, CauseKind, EventKind, LedgerEvent, ReservationState


class Audit(LedgerBase):
    """The event ledger's reads and the invariant audit."""

    async def events(self, sku: str | None = None, limit: int = 100) -> list[LedgerEvent]:
        """The latest `limit` events (of one SKU, or all), oldest first."""
        query = select(events).order_by(events.c.id.desc()).limit(limit)
        if sku is not None:
            query = query.where(events.c.sku == sku)
        rows = await self._read(lambda conn: list(conn.execute(query)))
        return [
            LedgerEvent(
                id=row.id,
                kind=EventKind(row.kind),
                sku=row.sku,
                location_id=row.location_id,
                delta=row.delta,
                cause=Cause(kind=CauseKind(row.cause_kind), ref=row.cause_ref),
                at=row.at,
            )
            for row in reversed(rows)
        ]

    async def orders_reserved_since(self, since: datetime, location_ids: Iterable[str] | None = None) -> dict[str, int]:
        """Distinct orders that reserved stock at each location since `since` (routing's daily
        order capacity). Counted from reserve events: a reservation row changes on commit and
        release, its events do not."""
        e = events.c
        query = (
            select(e.location_id, func.count(func.distinct(e.cause_ref)))
            .where(e.kind == EventKind.RESERVE.value, e.cause_kind == CauseKind.ORDER.value, e.at >= since)
            .group_by(e.location_id)
        )
        if location_ids is not None:
            query = query.where(e.location_id.in_(sorted(set(location_ids))))

        def tx(conn: Connection) -> dict[str, int]:
            return {location: int(count) for location, count in conn.execute(query)}

        return await self._read(tx)

    async def check_invariants(self) -> list[str]:
        """Problems in the stored state, empty when consistent: reserved equals the open
        reservations per (sku, location), nothing negative, reservation states agree.
        """
        r = reservations.c
        open_qty = func.sum(r.quantity - r.committed - r.released)
        held = select(r.sku, r.location_id, open_qty.label("open")).group_by(r.sku, r.location_id).subquery()

        def tx(conn: Connection) -> list[str]:
            problems: list[str] = []
            rows = conn.execute(
                select(
                    stock.c.sku,
                    stock.c.location_id,
                    stock.c.reserved,
                    func.coalesce(held.c.open, 0),
                )
                .select_from(
                    stock.outerjoin(
                        held,
                        and_(held.c.sku == stock.c.sku, held.c.location_id == stock.c.location_id),
                    )
                )
                .where(stock.c.reserved != func.coalesce(held.c.open, 0))
            )
            problems += [
                f"stock {sku} at {loc}: reserved {reserved} but open reservations total {total}"
                for sku, loc, reserved, total in rows
            ]
            orphans = conn.execute(
                select(held.c.sku, held.c.location_id, held.c.open)
                .select_from(
                    held.outerjoin(
                        stock,
                        and_(held.c.sku == stock.c.sku, held.c.location_id == stock.c.location_id),
                    )
                )
                .where(stock.c.sku.is_(None), held.c.open != 0)
            )
            problems += [
                f"reservations hold {total} of {sku} at {loc}, which has no stock row" for sku, loc, total in orphans
            ]
            negative = conn.execute(
                select(
                    stock.c.sku,
                    stock.c.location_id,
                    stock.c.on_hand,
                    stock.c.reserved,
                    stock.c.inbound,
                ).where(
                    or_(
                        stock.c.on_hand < 0,
                        stock.c.reserved < 0,
                        stock.c.inbound < 0,
                        stock.c.reserved > stock.c.on_hand,
                    )
                )
            )
            problems += [
                f"stock {sku} at {loc}: on hand {on_hand}, reserved {reserved}, inbound {inbound}"
                for sku, loc, on_hand, reserved, inbound in negative
            ]
            remaining = r.quantity - r.committed - r.released
            states = conn.execute(
                select(r.order_id, r.line_id, r.sku, r.state, remaining).where(
                    or_(
                        remaining < 0,
                        and_(r.state == ReservationState.OPEN.value, remaining == 0),
                        and_(r.state != ReservationState.OPEN.value, remaining != 0),
                    )
                )
            )
            problems += [
                f"reservation {order}/{line}/{sku}: state {state} with {left} open"
                for order, line, sku, state, left in states
            ]
            return problems

        return await self._read(tx)
