"""Reservations per order line: reserve, release and commit shipped units, each one
transaction.

Invariants: stock never goes below zero: a reservation is a conditional
`UPDATE ... WHERE on_hand - reserved >= :q` whose row count is checked, with the schema's CHECK
constraint as the backstop, never a row lock (SQLite has none); an order reserves all its lines
or none; idempotent per order line (a retried reserve leaves a line reserved as asked alone)
and per shipment (a repeated commit changes nothing); released or shipped units are never
released again. On PostgreSQL the order's advisory lock is taken first, then stock rows are
changed in (sku, location) order, then the outbox lock, so concurrent orders never deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from orderloop.ledger.base import LedgerBase, event_row, utc_now
from orderloop.ledger.errors import InvalidQuantity, LedgerInvariantError, ReservationConflict, UnknownReservation
from orderloop.ledger.schema import reservations
from orderloop.ledger.statements import (
    INSERT_EVENTS,
    INSERT_RESERVATIONS,
    INSERT_SHIPMENT_COMMITS,
    RESERVATION_ROWS,
    RESERVE_STOCK,
    SET_RESERVATION,
    SHIP_STOCK,
    SHIPMENT_SEEN,
    UNRESERVE_STOCK,
)
from orderloop.ledger.types import (
    Cause,
    EventKind,
    Reservation,
    ReservationLine,
    ReservationState,
    ReserveResult,
    Shortage,
)


@dataclass
class _Abort(Exception):
    """Leaves a write transaction by rolling it back, carrying the answer to return."""

    result: Any


def _state(quantity: int, committed: int, released: int) -> ReservationState:
    if quantity - committed - released > 0:
        return ReservationState.OPEN
    return ReservationState.RELEASED if released else ReservationState.COMMITTED


class Reservations(LedgerBase):
    """Reservations per order line and the stock they hold."""

    async def reserve(self, order_id: str, lines: list[ReservationLine], cause: Cause) -> ReserveResult:
        """Reserve every line of an order or none, in one transaction.

        Idempotent per (order_id, line_id): a line whose open units are reserved as asked is left
        alone, so a retried call returns `reserved=True, already_reserved=True`. A line whose
        earlier reservation is closed (released, or partly shipped and the rest released: a
        reroute of what did not ship) is reserved afresh for `quantity` more units at the new
        location; its shipped and released counts are kept. A line holding open units
        differently raises `ReservationConflict`: release it first.
        """
        ids = [line.line_id for line in lines]
        if len(set(ids)) != len(ids):
            raise ReservationConflict(f"order {order_id!r}: a line id appears twice in one reservation")
        if not lines:
            return ReserveResult(reserved=True)

        def tx(conn: Connection) -> ReserveResult:
            self._lock_order(conn, order_id)
            now = utc_now()
            existing = self._reservation_rows(conn, order_id, ids, lock=False)
            by_line: dict[str, list[Reservation]] = defaultdict(list)
            for row in existing:
                by_line[row.line_id].append(row)
            bundles = self._bundles(conn, {line.sku for line in lines})
            todo: list[ReservationLine] = []
            stale: list[str] = []
            # Closed rows of a line reserved afresh: (committed, released) per component.
            carried: dict[tuple[str, str], tuple[int, int]] = {}
            for line in lines:
                held = by_line.get(line.line_id)
                if not held:
                    todo.append(line)
                elif all(r.open_quantity == 0 for r in held) and all(r.line_sku == line.sku for r in held):
                    stale.append(line.line_id)
                    todo.append(line)
                    carried.update({(r.line_id, r.sku): (r.committed, r.released) for r in held})
                elif not all(
                    r.state is ReservationState.OPEN
                    and r.line_sku == line.sku
                    and r.location_id == line.location_id
                    and r.open_quantity == line.quantity * r.units_per_line
                    for r in held
                ):
                    first = held[0]
                    raise ReservationConflict(
                        f"order {order_id!r} line {line.line_id!r} is already reserved "
                        f"({first.line_sku} x{first.quantity // first.units_per_line} at "
                        f"{first.location_id}, {first.state}); release it before reserving "
                        f"{line.sku} x{line.quantity} at {line.location_id}"
                    )
            if not todo:
                return ReserveResult(reserved=True, already_reserved=True)
            need: dict[tuple[str, str], int] = defaultdict(int)
            need_lines: dict[tuple[str, str], list[str]] = defaultdict(list)
            new_rows: list[dict[str, Any]] = []
            for line in todo:
                for sku, per in (bundles.get(line.sku) or {line.sku: 1}).items():
                    key = (sku, line.location_id)
                    need[key] += line.quantity * per
                    need_lines[key].append(line.line_id)
                    committed, released = carried.get((line.line_id, sku), (0, 0))
                    new_rows.append(
                        {
                            "order_id": order_id,
                            "line_id": line.line_id,
                            "sku": sku,
                            "line_sku": line.sku,
                            "units_per_line": per,
                            "location_id": line.location_id,
                            "quantity": committed + released + line.quantity * per,
                            "committed": committed,
                            "released": released,
                            "state": ReservationState.OPEN.value,
                            "updated_at": now,
                        }
                    )
            short: list[tuple[str, str]] = []
            for sku, loc in sorted(need):
                quantity = need[(sku, loc)]
                updated = conn.execute(RESERVE_STOCK, {"w_sku": sku, "w_location": loc, "w_quantity": quantity})
                if updated.rowcount != 1:
                    short.append((sku, loc))
            if short:
                # The failed rows were not updated, so this reads what they really hold.
                rows = self._stock_rows(conn, [s for s, _ in short], None)
                free = {key: on_hand - reserved for key, (on_hand, reserved) in rows.items()}
                raise _Abort(
                    ReserveResult(
                        reserved=False,
                        shortages=[
                            Shortage(
                                sku=sku,
                                location_id=loc,
                                requested=need[(sku, loc)],
                                available=free.get((sku, loc), 0),
                                line_ids=need_lines[(sku, loc)],
                            )
                            for sku, loc in short
                        ],
                    )
                )
            if stale:
                conn.execute(
                    delete(reservations).where(reservations.c.order_id == order_id, reservations.c.line_id.in_(stale))
                )
            conn.execute(INSERT_RESERVATIONS, new_rows)
            conn.execute(
                INSERT_EVENTS,
                [
                    event_row(
                        EventKind.RESERVE,
                        r["sku"],
                        r["location_id"],
                        r["quantity"] - r["committed"] - r["released"],
                        cause,
                        now,
                    )
                    for r in new_rows
                ],
            )
            self._touch(conn, [sku for sku, _ in need], now)
            return ReserveResult(reserved=True)

        try:
            return await self._write(tx)
        except _Abort as abort:
            result: ReserveResult = abort.result
            return result

    def _reservation_rows(
        self, conn: Connection, order_id: str, line_ids: Sequence[str] | None, *, lock: bool
    ) -> list[Reservation]:
        params: dict[str, Any] = {"order_id": order_id}
        if line_ids is not None:
            if not line_ids:
                return []
            params["line_ids"] = list(line_ids)
        query = RESERVATION_ROWS[(line_ids is not None, lock)]
        return [
            Reservation(
                order_id=row.order_id,
                line_id=row.line_id,
                sku=row.sku,
                line_sku=row.line_sku,
                units_per_line=row.units_per_line,
                location_id=row.location_id,
                quantity=row.quantity,
                committed=row.committed,
                released=row.released,
                state=ReservationState(row.state),
            )
            for row in conn.execute(query, params)
        ]

    async def reservations(self, order_id: str) -> list[Reservation]:
        def tx(conn: Connection) -> list[Reservation]:
            return self._reservation_rows(conn, order_id, None, lock=False)

        return await self._read(tx)

    async def release(self, order_id: str, line_ids: list[str] | None, cause: Cause) -> int:
        """Release the open (unshipped) units of the given lines, or of every line when
        `line_ids` is None; return the stock units released (components for bundles).
        Idempotent: released or shipped units are not released again.
        """

        def tx(conn: Connection) -> int:
            now = utc_now()
            self._lock_order(conn, order_id)
            rows = self._reservation_rows(conn, order_id, line_ids, lock=True)
            open_rows = sorted((r for r in rows if r.open_quantity > 0), key=lambda r: (r.sku, r.location_id))
            total = 0
            for row in open_rows:
                quantity = row.open_quantity
                self._set_reservation(conn, row, row.committed, row.released + quantity, now)
                self._take_reserved(conn, row, quantity, ship=False)
                total += quantity
            if open_rows:
                conn.execute(
                    INSERT_EVENTS,
                    [
                        event_row(EventKind.RELEASE, r.sku, r.location_id, -r.open_quantity, cause, now)
                        for r in open_rows
                    ],
                )
                self._touch(conn, [r.sku for r in open_rows], now)
            return total

        return await self._write(tx)

    def _set_reservation(self, conn: Connection, row: Reservation, committed: int, released: int, at: datetime) -> None:
        result = conn.execute(
            SET_RESERVATION,
            {
                "w_order_id": row.order_id,
                "w_line_id": row.line_id,
                "w_sku": row.sku,
                "w_committed": row.committed,
                "w_released": row.released,
                "to_committed": committed,
                "to_released": released,
                "to_state": _state(row.quantity, committed, released).value,
                "to_updated_at": at,
            },
        )
        if result.rowcount != 1:
            raise LedgerInvariantError(f"reservation {row.order_id}/{row.line_id}/{row.sku} changed during the update")

    def _take_reserved(self, conn: Connection, row: Reservation, quantity: int, *, ship: bool) -> None:
        result = conn.execute(
            SHIP_STOCK if ship else UNRESERVE_STOCK,
            {"w_sku": row.sku, "w_location": row.location_id, "w_quantity": quantity},
        )
        if result.rowcount != 1:
            raise LedgerInvariantError(
                f"stock {row.sku} at {row.location_id} holds less reserved than order "
                f"{row.order_id} line {row.line_id} has open; run check_invariants()"
            )

    async def commit_shipment(
        self, order_id: str, shipment_id: str, items: list[tuple[str, int]], cause: Cause
    ) -> bool:
        """Turn reserved units into shipped ones: on hand and reserved both drop at the line's
        reserved location (components for bundles). Idempotent per (order_id, shipment_id): a
        repeated call returns False and changes nothing.

        Units shipped beyond a line's open reservation are not taken from stock (they may be
        held for other orders); they are recorded as an `overship` event and the fulfillment
        channel's next snapshot settles on hand.
        """
        quantities: dict[str, int] = defaultdict(int)
        for line_id, quantity in items:
            if quantity <= 0:
                raise InvalidQuantity(f"shipment {shipment_id!r} line {line_id!r}: quantity must be positive")
            quantities[line_id] += quantity

        def tx(conn: Connection) -> bool:
            self._lock_order(conn, order_id)
            if self._shipment_seen(conn, order_id, shipment_id):
                return False
            now = utc_now()
            conn.execute(
                INSERT_SHIPMENT_COMMITS,
                [
                    {
                        "order_id": order_id,
                        "shipment_id": shipment_id,
                        "line_id": line_id,
                        "quantity": quantity,
                        "committed_at": now,
                    }
                    for line_id, quantity in sorted(quantities.items())
                ],
            )
            rows = self._reservation_rows(conn, order_id, sorted(quantities), lock=True)
            missing = sorted(set(quantities) - {r.line_id for r in rows})
            if missing:
                raise UnknownReservation(
                    f"order {order_id!r} has no reservation for line(s) {', '.join(missing)}; "
                    "only reserved lines can be committed"
                )
            moves = []
            for row in sorted(rows, key=lambda r: (r.sku, r.location_id, r.line_id)):
                shipped = quantities[row.line_id] * row.units_per_line
                take = min(shipped, row.open_quantity)
                if take:
                    self._set_reservation(conn, row, row.committed + take, row.released, now)
                    self._take_reserved(conn, row, take, ship=True)
                    moves.append(event_row(EventKind.SHIP, row.sku, row.location_id, -take, cause, now))
                if shipped > take:
                    moves.append(
                        event_row(
                            EventKind.OVERSHIP,
                            row.sku,
                            row.location_id,
                            -(shipped - take),
                            cause,
                            now,
                        )
                    )
            if moves:
                conn.execute(INSERT_EVENTS, moves)
            # No outbox row: on hand and reserved drop together, so no channel's available-to-sell
            # changes (the reservation already told them), and nothing needs pushing again.
            return True

        try:
            return await self._write(tx)
        except IntegrityError:
            # Another process committed the same shipment between our check and insert.
            if await self._read(lambda conn: self._shipment_seen(conn, order_id, shipment_id)):
                return False
            raise

    def _shipment_seen(self, conn: Connection, order_id: str, shipment_id: str) -> bool:
        found = conn.execute(SHIPMENT_SEEN, {"order_id": order_id, "shipment_id": shipment_id})
        return found.first() is not None
