"""Stock movements and stock reads: received units, adjustments, the inbound quantity a
fulfillment channel reports, and what is on hand, reserved and available per location (bundles
as whole bundles, the minimum over their components).

Invariants: on hand never drops below zero nor below what is reserved (a conditional UPDATE
whose row count is checked, the schema's CHECK as the backstop); bundles hold no stock, so a
movement of a bundle SKU is refused; every movement writes its event and, when what may be
sold changes, its outbox rows in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from orderloop.ledger.base import LedgerBase, event_row, utc_now
from orderloop.ledger.errors import InsufficientStock, InvalidQuantity
from orderloop.ledger.schema import events, stock
from orderloop.ledger.types import Cause, EventKind
from orderloop.model import StockLevel


class Stock(LedgerBase):
    """Stock movements per SKU and location, and the reads of stock and availability."""

    async def receive(self, sku: str, location_id: str, quantity: int, cause: Cause) -> None:
        """Add received units to on hand."""
        if quantity <= 0:
            raise InvalidQuantity(f"receive {sku!r}: quantity must be positive, got {quantity}")

        def tx(conn: Connection) -> None:
            self._refuse_bundle(conn, sku)
            now = utc_now()
            self._add_on_hand(conn, sku, location_id, quantity)
            conn.execute(insert(events), [event_row(EventKind.RECEIVE, sku, location_id, quantity, cause, now)])
            self._touch(conn, [sku], now)

        return await self._write(tx)

    async def adjust(self, sku: str, location_id: str, delta: int, cause: Cause) -> None:
        """Correct on hand by `delta`; refused with `InsufficientStock` if it would go below
        zero or below the reserved quantity.
        """
        if delta == 0:
            raise InvalidQuantity(f"adjust {sku!r}: delta must not be zero")

        def tx(conn: Connection) -> None:
            self._refuse_bundle(conn, sku)
            now = utc_now()
            if delta > 0:
                self._add_on_hand(conn, sku, location_id, delta)
            else:
                result = conn.execute(
                    update(stock)
                    .where(
                        stock.c.sku == sku,
                        stock.c.location_id == location_id,
                        stock.c.on_hand + delta >= stock.c.reserved,
                    )
                    .values(on_hand=stock.c.on_hand + delta)
                )
                if result.rowcount != 1:
                    row = (
                        conn.execute(
                            select(stock.c.on_hand, stock.c.reserved).where(
                                stock.c.sku == sku, stock.c.location_id == location_id
                            )
                        )
                    ).first()
                    on_hand, reserved = (row[0], row[1]) if row else (0, 0)
                    raise InsufficientStock(sku, location_id, on_hand, reserved, delta)
            conn.execute(insert(events), [event_row(EventKind.ADJUST, sku, location_id, delta, cause, now)])
            self._touch(conn, [sku], now)

        return await self._write(tx)

    async def set_inbound(self, sku: str, location_id: str, inbound: int, cause: Cause) -> None:
        """Record the inbound (expected, not yet sellable) units a fulfillment channel reports."""
        if inbound < 0:
            raise InvalidQuantity(f"set_inbound {sku!r}: inbound must not be negative, got {inbound}")

        def tx(conn: Connection) -> None:
            self._refuse_bundle(conn, sku)
            now = utc_now()
            old = (
                conn.execute(
                    select(stock.c.inbound)
                    .where(stock.c.sku == sku, stock.c.location_id == location_id)
                    .with_for_update()
                )
            ).scalar()
            if (old or 0) == inbound:
                return
            upsert = self._insert(stock).values(
                sku=sku, location_id=location_id, on_hand=0, reserved=0, inbound=inbound
            )
            conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=[stock.c.sku, stock.c.location_id],
                    set_={"inbound": upsert.excluded.inbound},
                )
            )
            conn.execute(
                insert(events),
                [event_row(EventKind.INBOUND, sku, location_id, inbound - (old or 0), cause, now)],
            )
            self._touch(conn, [sku], now)

        return await self._write(tx)

    async def stock(self, sku: str) -> list[StockLevel]:
        """Per location: on hand, reserved, available. A bundle shows whole bundles: on hand and
        available are the minimum over components, reserved the difference.
        """

        def tx(conn: Connection) -> tuple[dict[str, int] | None, dict[tuple[str, str], tuple[int, int]]]:
            parts = self._bundles(conn, [sku]).get(sku)
            return parts, self._stock_rows(conn, list(parts) if parts else [sku], None)

        parts, rows = await self._read(tx)
        if not parts:
            return [
                StockLevel(
                    sku=s,
                    location_id=loc,
                    on_hand=on_hand,
                    reserved=reserved,
                    available=on_hand - reserved,
                )
                for (s, loc), (on_hand, reserved) in sorted(rows.items())
            ]
        levels = []
        for loc in sorted({loc for _, loc in rows}):
            on_hand = min(rows.get((c, loc), (0, 0))[0] // q for c, q in parts.items())
            available = min(
                (rows.get((c, loc), (0, 0))[0] - rows.get((c, loc), (0, 0))[1]) // q for c, q in parts.items()
            )
            levels.append(
                StockLevel(
                    sku=sku,
                    location_id=loc,
                    on_hand=on_hand,
                    reserved=on_hand - available,
                    available=available,
                )
            )
        return levels

    async def available(
        self, skus: Iterable[str], location_ids: Iterable[str] | None = None
    ) -> dict[tuple[str, str], int]:
        """(sku, location) -> on hand - reserved, for the locations where the SKU (or, for a
        bundle, any of its components) has a stock row; a missing pair means 0. A bundle has
        the minimum over its components of whole bundles.
        """

        def tx(conn: Connection) -> dict[tuple[str, str], int]:
            return self._available(conn, skus, location_ids)

        return await self._read(tx)

    def _available(
        self, conn: Connection, skus: Iterable[str], location_ids: Iterable[str] | None
    ) -> dict[tuple[str, str], int]:
        wanted = set(skus)
        locations = None if location_ids is None else sorted(set(location_ids))
        bundles = self._bundles(conn, wanted)
        needed = (wanted - bundles.keys()) | {c for parts in bundles.values() for c in parts}
        rows = self._stock_rows(conn, sorted(needed), locations)
        free = {key: on_hand - reserved for key, (on_hand, reserved) in rows.items()}
        result = {key: qty for key, qty in free.items() if key[0] in wanted}
        by_sku: dict[str, set[str]] = defaultdict(set)
        for sku, loc in free:
            by_sku[sku].add(loc)
        for bundle, parts in bundles.items():
            for loc in sorted(set().union(*(by_sku[c] for c in parts))):
                result[(bundle, loc)] = min(free.get((c, loc), 0) // q for c, q in parts.items())
        return result
