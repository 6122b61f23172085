"""The inventory ledger: stock per SKU and location, reservations per order line, the event
ledger, the availability outbox and inbound dedup records, on SQLite or PostgreSQL.

Every change is one transaction whose correctness comes from conditional UPDATEs with checked
row counts and the table's CHECK constraints, never from row locks (SQLite has none).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import IntegrityError

from orderloop.ledger.errors import (
    BundleHasNoStock,
    InsufficientStock,
    InvalidQuantity,
    LedgerError,
    LedgerInvariantError,
    ProductDefinitionError,
    ReservationConflict,
    UnknownReservation,
)
from orderloop.ledger.migrations import migrate
from orderloop.ledger.schema import (
    LOCATION,
    SKU,
    UTCDateTime,
    bundle_components,
    events,
    outbox,
    outbox_cursors,
    poll_cursors,
    reservations,
    stock,
)
from orderloop.ledger.schema import products as products_table
from orderloop.ledger.schema import published as published_table
from orderloop.ledger.statements import (
    ACCEPTED_ORDER,
    ADVISORY_LOCK,
    BUNDLE_PARTS,
    BUNDLES_CONTAINING,
    DELIVERY_SEEN,
    INSERT_EVENTS,
    INSERT_OUTBOX,
    INSERT_RESERVATIONS,
    INSERT_SHIPMENT_COMMITS,
    OUTBOX_AFTER,
    RESERVATION_ROWS,
    RESERVE_STOCK,
    SET_RESERVATION,
    SHIP_STOCK,
    SHIPMENT_SEEN,
    STOCK_ROWS,
    STOCK_ROWS_AT,
    UNKNOWN_SKUS,
    UNRESERVE_STOCK,
    DialectStatements,
)
from orderloop.ledger.transactions import (
    AsyncEngineTransactions,
    Body,
    SQLiteTransactions,
    Transactions,
    note_outbox_write,
)
from orderloop.ledger.types import (
    AllocationView,
    Cause,
    CauseKind,
    EventKind,
    InboundSeen,
    LedgerEvent,
    OutboxRow,
    OversoldRow,
    Product,
    Reservation,
    ReservationLine,
    ReservationState,
    ReserveResult,
    Shortage,
    SnapshotResult,
    SnapshotRow,
)
from orderloop.model import StockLevel

# Bind parameters per statement stay well below SQLite's and asyncpg's 32,767 limit.
_CHUNK = 5_000
T = TypeVar("T")

_temp = MetaData()
# Per-connection scratch tables for bulk snapshots, dropped before the transaction ends.
_snapshot_in = Table(
    "ledger_snapshot_in",
    _temp,
    Column("sku", SKU, primary_key=True),
    Column("on_hand", Integer, nullable=False),
    Column("inbound", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
_snapshot_diff = Table(
    "ledger_snapshot_diff",
    _temp,
    Column("sku", SKU, primary_key=True),
    Column("reported", Integer, nullable=False),
    Column("inbound", Integer, nullable=False),
    Column("old_on_hand", Integer),
    Column("old_inbound", Integer),
    Column("reserved", Integer, nullable=False),
    Column("new_on_hand", Integer, nullable=False),
    Column("changed", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)


def _create_scratch(sync: Connection) -> None:
    # A leftover from an earlier failure on this pooled connection would break CREATE.
    _temp.drop_all(sync, checkfirst=True)
    _temp.create_all(sync)


def _drop_scratch(sync: Connection) -> None:
    _temp.drop_all(sync)


def _now() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _Abort(Exception):
    """Leaves a write transaction by rolling it back, carrying the answer to return."""

    result: Any


def _event(kind: EventKind, sku: str, location_id: str, delta: int, cause: Cause, at: datetime) -> dict[str, Any]:
    return {
        "kind": kind.value,
        "sku": sku,
        "location_id": location_id,
        "delta": delta,
        "cause_kind": cause.kind.value,
        "cause_ref": cause.ref,
        "at": at,
    }


def _state(quantity: int, committed: int, released: int) -> ReservationState:
    if quantity - committed - released > 0:
        return ReservationState.OPEN
    return ReservationState.RELEASED if released else ReservationState.COMMITTED


class Ledger:
    """The ledger over one database; open it with `await Ledger.open(url)`."""

    def __init__(self, transactions: Transactions) -> None:
        self._transactions = transactions
        self._dialect = transactions.dialect
        self._statements = DialectStatements(self._dialect)
        # Set when a transaction of this process that wrote outbox rows commits, so consumers
        # here wake at once; changes by other processes are found by their polling.
        self._outbox_event = asyncio.Event()

    @classmethod
    async def open(cls, url: str, *, schema: str | None = None) -> Ledger:
        """Connect and apply migrations. SQLite: `sqlite:///path/ledger.db` (or the earlier
        `sqlite+aiosqlite:///...`, the same store). PostgreSQL: `postgresql+asyncpg://...`;
        `schema` (or `?schema=` in its URL) sets the search_path, so several ledgers can share
        one PostgreSQL database.
        """
        sa_url = make_url(url)
        backend = sa_url.get_backend_name()
        transactions: Transactions
        if backend == "sqlite":
            database = sa_url.database
            if sa_url.get_driver_name() not in ("pysqlite", "aiosqlite"):
                raise LedgerError(f"unsupported SQLite driver {sa_url.drivername!r}: use sqlite:///path/ledger.db")
            if not database or database == ":memory:":
                raise LedgerError("the SQLite ledger needs a file: sqlite:///path/ledger.db")
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            transactions = SQLiteTransactions(sa_url)
        elif backend == "postgresql":
            if sa_url.get_driver_name() != "asyncpg":
                raise LedgerError("use a postgresql+asyncpg:// URL for the PostgreSQL ledger")
            query_schema = sa_url.query.get("schema")
            if isinstance(query_schema, str):
                schema = schema or query_schema
            sa_url = sa_url.difference_update_query(["schema"])
            connect_args = {"server_settings": {"search_path": schema}} if schema else {}
            transactions = AsyncEngineTransactions(sa_url, connect_args)
        else:
            raise LedgerError(
                f"unsupported ledger database {backend!r}: use sqlite:///path/ledger.db or postgresql+asyncpg://"
            )
        ledger = cls(transactions)
        try:
            await ledger._write(migrate)
        except BaseException:
            await transactions.close()
            raise
        return ledger

    async def close(self) -> None:
        await self._transactions.close()

    @property
    def dialect(self) -> str:
        return self._dialect

    # -- transactions ---------------------------------------------------------------------

    async def _write(self, body: Body[T]) -> T:
        """Run `body` as one write transaction (see orderloop.ledger.transactions)."""
        result, wrote_outbox = await self._transactions.write(body)
        if wrote_outbox:
            self._outbox_event.set()
            self._outbox_event = asyncio.Event()
        return result

    async def _read(self, body: Body[T]) -> T:
        """Run `body` as one read transaction that sees a single snapshot."""
        return await self._transactions.read(body)

    def _insert(self, table: Table) -> Any:
        """INSERT with the dialect's ON CONFLICT support (same API on both)."""
        return (postgresql.insert if self._dialect == "postgresql" else sqlite.insert)(table)

    def _touch(self, conn: Connection, skus: Iterable[str], at: datetime) -> None:
        """Write one outbox row per changed SKU and per bundle containing it."""
        changed = sorted(set(skus))
        if not changed:
            return
        self._lock_outbox(conn)
        bundles: set[str] = set()
        for chunk in _chunks(changed):
            bundles.update(conn.execute(BUNDLES_CONTAINING, {"skus": list(chunk)}).scalars())
        conn.execute(INSERT_OUTBOX, [{"sku": sku, "created_at": at} for sku in sorted({*changed, *bundles})])

    def _lock_outbox(self, conn: Connection) -> None:
        # PostgreSQL hands out sequence values before commit, so a reader could see id 12
        # committed while 11 is still in flight and move its cursor past 11 for good.
        # Serialising outbox writers until commit makes ids commit in order. Taken last in
        # every transaction, after row locks, so it adds no lock-order cycle. SQLite's single
        # writer already gives this.
        note_outbox_write(conn)  # every outbox writer takes this lock first
        if self._dialect == "postgresql":
            conn.execute(ADVISORY_LOCK, {"key": "/orderloop-outbox"})

    def _lock_order(self, conn: Connection, order_id: str) -> None:
        # PostgreSQL: a retried activity can run beside the attempt it retries. Serialising
        # work on one order makes the second see the first's rows and answer idempotently.
        # Always the first lock a transaction takes, so it cannot join a lock-order cycle.
        if self._dialect == "postgresql":
            conn.execute(ADVISORY_LOCK, {"key": f"/orderloop-order/{order_id}"})

    def _bundles(self, conn: Connection, skus: Iterable[str]) -> dict[str, dict[str, int]]:
        wanted = sorted(set(skus))
        found: dict[str, dict[str, int]] = defaultdict(dict)
        for chunk in _chunks(wanted):
            for bundle, component, quantity in conn.execute(BUNDLE_PARTS, {"skus": list(chunk)}):
                found[bundle][component] = quantity
        return dict(found)

    def _refuse_bundle(self, conn: Connection, sku: str) -> None:
        if self._bundles(conn, [sku]):
            raise BundleHasNoStock(sku)

    # -- products -------------------------------------------------------------------------

    async def define_products(self, products: list[Product]) -> None:
        """Create or replace products; a product's components replace its previous ones."""
        if not products:
            return
        skus = [p.sku for p in products]
        if len(set(skus)) != len(skus):
            raise ProductDefinitionError("a SKU appears twice in one product definition")
        for product in products:
            bad = {c: q for c, q in product.components.items() if q <= 0}
            if bad:
                raise ProductDefinitionError(f"bundle {product.sku!r}: component quantities {bad} must be positive")
            if product.sku in product.components:
                raise ProductDefinitionError(f"bundle {product.sku!r} cannot contain itself")

        def tx(conn: Connection) -> None:
            now = _now()
            rows = conn.execute(
                select(
                    bundle_components.c.bundle_sku,
                    bundle_components.c.component_sku,
                    bundle_components.c.quantity,
                )
            )
            before: dict[str, dict[str, int]] = defaultdict(dict)
            for bundle, component, quantity in rows:
                before[bundle][component] = quantity
            after = {b: c for b, c in before.items() if b not in set(skus)}
            after.update({p.sku: dict(p.components) for p in products if p.components})
            components = {c for parts in after.values() for c in parts}
            nested = sorted(components & after.keys())
            if nested:
                raise ProductDefinitionError(f"bundles cannot contain bundles: {', '.join(nested)} is both")
            new_bundles = sorted(b for b in after if b not in before)
            if new_bundles:
                held = conn.execute(
                    select(stock.c.sku)
                    .where(stock.c.sku.in_(new_bundles), or_(stock.c.on_hand > 0, stock.c.reserved > 0))
                    .distinct()
                )
                stocked = sorted(held.scalars())
                if stocked:
                    raise ProductDefinitionError(
                        f"{', '.join(stocked)} hold stock of their own and cannot become bundles"
                    )
            upsert = self._insert(products_table)
            conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=[products_table.c.sku], set_={"name": upsert.excluded.name}
                ),
                [{"sku": p.sku, "name": p.name} for p in products],
            )
            for chunk in _chunks(skus):
                conn.execute(delete(bundle_components).where(bundle_components.c.bundle_sku.in_(chunk)))
            parts = [
                {"bundle_sku": p.sku, "component_sku": c, "quantity": q}
                for p in products
                for c, q in sorted(p.components.items())
            ]
            if parts:
                conn.execute(insert(bundle_components), parts)
            redefined = [b for b in {*before, *after} if before.get(b) != after.get(b)]
            if redefined:
                self._lock_outbox(conn)
                conn.execute(insert(outbox), [{"sku": b, "created_at": now} for b in sorted(redefined)])

        return await self._write(tx)

    async def unknown_skus(self, skus: Iterable[str]) -> set[str]:
        """The SKUs that are neither a product nor stocked anywhere."""

        def tx(conn: Connection) -> set[str]:
            return self._unknown(conn, skus)

        return await self._read(tx)

    def _unknown(self, conn: Connection, skus: Iterable[str]) -> set[str]:
        wanted = sorted(set(skus))
        known: set[str] = set()
        for chunk in _chunks(wanted):
            known.update(conn.execute(UNKNOWN_SKUS, {"skus": list(chunk)}).scalars())
        return set(wanted) - known

    async def allocation_view(
        self, order_id: str, skus: Iterable[str], location_ids: Iterable[str] | None
    ) -> AllocationView:
        """What allocating an order reads, from one snapshot: the order's reservations, the SKUs
        the ledger does not know, and the free units of `skus` at `location_ids`."""
        wanted = set(skus)

        def tx(conn: Connection) -> AllocationView:
            return AllocationView(
                reservations=self._reservation_rows(conn, order_id, None, lock=False),
                unknown=self._unknown(conn, wanted),
                available=self._available(conn, wanted, location_ids),
            )

        return await self._read(tx)

    # -- stock movements ------------------------------------------------------------------

    async def receive(self, sku: str, location_id: str, quantity: int, cause: Cause) -> None:
        """Add received units to on hand."""
        if quantity <= 0:
            raise InvalidQuantity(f"receive {sku!r}: quantity must be positive, got {quantity}")

        def tx(conn: Connection) -> None:
            self._refuse_bundle(conn, sku)
            now = _now()
            self._add_on_hand(conn, sku, location_id, quantity)
            conn.execute(insert(events), [_event(EventKind.RECEIVE, sku, location_id, quantity, cause, now)])
            self._touch(conn, [sku], now)

        return await self._write(tx)

    def _add_on_hand(self, conn: Connection, sku: str, location_id: str, quantity: int) -> None:
        upsert = self._insert(stock).values(sku=sku, location_id=location_id, on_hand=quantity, reserved=0, inbound=0)
        conn.execute(
            upsert.on_conflict_do_update(
                index_elements=[stock.c.sku, stock.c.location_id],
                set_={"on_hand": stock.c.on_hand + upsert.excluded.on_hand},
            )
        )

    async def adjust(self, sku: str, location_id: str, delta: int, cause: Cause) -> None:
        """Correct on hand by `delta`; refused with `InsufficientStock` if it would go below
        zero or below the reserved quantity.
        """
        if delta == 0:
            raise InvalidQuantity(f"adjust {sku!r}: delta must not be zero")

        def tx(conn: Connection) -> None:
            self._refuse_bundle(conn, sku)
            now = _now()
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
            conn.execute(insert(events), [_event(EventKind.ADJUST, sku, location_id, delta, cause, now)])
            self._touch(conn, [sku], now)

        return await self._write(tx)

    async def set_inbound(self, sku: str, location_id: str, inbound: int, cause: Cause) -> None:
        """Record the inbound (expected, not yet sellable) units a fulfillment channel reports."""
        if inbound < 0:
            raise InvalidQuantity(f"set_inbound {sku!r}: inbound must not be negative, got {inbound}")

        def tx(conn: Connection) -> None:
            self._refuse_bundle(conn, sku)
            now = _now()
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
                [_event(EventKind.INBOUND, sku, location_id, inbound - (old or 0), cause, now)],
            )
            self._touch(conn, [sku], now)

        return await self._write(tx)

    async def apply_snapshot(self, location_id: str, rows: list[SnapshotRow], cause: Cause) -> SnapshotResult:
        """Set on hand and inbound absolutely for the SKUs a fulfillment channel reports at one
        location, in one bulk operation; SKUs it does not mention are left as they are.

        On hand never drops below what is reserved (the CHECK constraint): where the report is
        lower, on hand stays at the reserved quantity so nothing more is sold, and the row is
        returned in `oversold` for an operator or the reconciliation job; reservations are kept.
        Bundle SKUs hold no stock and are skipped (listed in `ignored_bundles`).
        """
        skus = [r.sku for r in rows]
        if len(set(skus)) != len(skus):
            dupes = sorted({s for s in skus if skus.count(s) > 1})[:10]
            raise InvalidQuantity(f"snapshot for {location_id!r} lists SKUs twice: {', '.join(dupes)}")

        def tx(conn: Connection) -> SnapshotResult:
            now = _now()
            all_bundles = set(conn.execute(select(bundle_components.c.bundle_sku).distinct()).scalars())
            ignored = sorted(all_bundles.intersection(skus))
            kept = [r for r in rows if r.sku not in all_bundles] if ignored else rows
            _create_scratch(conn)
            for chunk in _chunks(kept, 20_000):
                conn.execute(
                    insert(_snapshot_in),
                    [{"sku": r.sku, "on_hand": r.on_hand, "inbound": r.inbound} for r in chunk],
                )
            self._fill_snapshot_diff(conn, location_id)
            d = _snapshot_diff.c
            changed = d.changed == 1
            at = literal(now, UTCDateTime())
            loc = literal(location_id, LOCATION)
            event_cols = ["kind", "sku", "location_id", "delta", "cause_kind", "cause_ref", "at"]
            kind, ref = literal(cause.kind.value), literal(cause.ref)
            conn.execute(
                insert(events).from_select(
                    event_cols,
                    select(
                        literal(EventKind.SNAPSHOT.value),
                        d.sku,
                        loc,
                        d.new_on_hand - func.coalesce(d.old_on_hand, 0),
                        kind,
                        ref,
                        at,
                    ).where(changed, or_(d.old_on_hand.is_(None), d.old_on_hand != d.new_on_hand)),
                )
            )
            conn.execute(
                insert(events).from_select(
                    event_cols,
                    select(
                        literal(EventKind.INBOUND.value),
                        d.sku,
                        loc,
                        d.inbound - func.coalesce(d.old_inbound, 0),
                        kind,
                        ref,
                        at,
                    ).where(changed, func.coalesce(d.old_inbound, 0) != d.inbound),
                )
            )
            count = select(func.count()).select_from(_snapshot_diff).where(changed)
            changed_count = conn.execute(count).scalar_one()
            conn.execute(
                update(stock)
                .where(
                    stock.c.sku == d.sku,
                    stock.c.location_id == location_id,
                    changed,
                    d.old_on_hand.is_not(None),
                )
                .values(
                    # Live values: on SQLite nothing ran since the diff; on PostgreSQL the rows
                    # are locked, so this equals the diff's new_on_hand.
                    on_hand=case((stock.c.reserved > d.reported, stock.c.reserved), else_=d.reported),
                    inbound=d.inbound,
                )
            )
            new_rows = self._insert(stock).from_select(
                ["sku", "location_id", "on_hand", "reserved", "inbound"],
                select(d.sku, loc, d.reported, literal(0), d.inbound).where(d.old_on_hand.is_(None)),
            )
            conn.execute(new_rows.on_conflict_do_nothing())
            # Last: the outbox lock is taken after every row lock (see _lock_outbox).
            if changed_count:
                self._lock_outbox(conn)
                touched = union(
                    select(d.sku).where(changed),
                    select(bundle_components.c.bundle_sku)
                    .join(_snapshot_diff, bundle_components.c.component_sku == d.sku)
                    .where(changed),
                ).subquery()
                conn.execute(
                    insert(outbox).from_select(["sku", "created_at"], select(touched.c[0], at).order_by(touched.c[0]))
                )
            oversold = [
                OversoldRow(sku=sku, location_id=location_id, reported_on_hand=reported, reserved=reserved)
                for sku, reported, reserved in conn.execute(
                    select(d.sku, d.reported, d.reserved).where(d.reserved > d.reported).order_by(d.sku)
                )
            ]
            _drop_scratch(conn)
            return SnapshotResult(
                changed=changed_count,
                unchanged=len(kept) - changed_count,
                oversold=oversold,
                ignored_bundles=ignored,
            )

        return await self._write(tx)

    def _fill_snapshot_diff(self, conn: Connection, location_id: str) -> None:
        """Copy the reported rows that change something (or are oversold) into the diff table,
        with the values they replace. On PostgreSQL the existing rows are locked as they are
        read, in the (sku, location) byte order reserve and commit use, so a snapshot and an
        order never deadlock and nothing changes between this read and the writes.
        """
        i = _snapshot_in.c
        columns = [
            "sku",
            "reported",
            "inbound",
            "old_on_hand",
            "old_inbound",
            "reserved",
            "new_on_hand",
            "changed",
        ]
        new_on_hand = case((stock.c.reserved > i.on_hand, stock.c.reserved), else_=i.on_hand)
        changed = or_(stock.c.on_hand != new_on_hand, stock.c.inbound != i.inbound)
        existing = (
            select(
                i.sku,
                i.on_hand,
                i.inbound,
                stock.c.on_hand,
                stock.c.inbound,
                stock.c.reserved,
                new_on_hand,
                case((changed, 1), else_=0),
            )
            .join_from(
                _snapshot_in,
                stock,
                and_(stock.c.sku == i.sku, stock.c.location_id == location_id),
            )
            .where(or_(changed, stock.c.reserved > i.on_hand))
        )
        if self._dialect == "postgresql":
            existing = existing.order_by(stock.c.sku.collate("C")).with_for_update(of=stock)
        conn.execute(insert(_snapshot_diff).from_select(columns, existing))
        absent = ~(select(stock.c.sku).where(stock.c.sku == i.sku, stock.c.location_id == location_id).exists())
        none = literal(None, Integer)
        fresh = select(i.sku, i.on_hand, i.inbound, none, none, literal(0), i.on_hand, literal(1)).where(absent)
        conn.execute(insert(_snapshot_diff).from_select(columns, fresh))

    # -- reading stock --------------------------------------------------------------------

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

    def _stock_rows(
        self, conn: Connection, skus: Sequence[str], location_ids: Sequence[str] | None
    ) -> dict[tuple[str, str], tuple[int, int]]:
        found: dict[tuple[str, str], tuple[int, int]] = {}
        locations = None if location_ids is None else list(location_ids)
        for chunk in _chunks(sorted(set(skus))):
            if locations is None:
                rows = conn.execute(STOCK_ROWS, {"skus": list(chunk)})
            elif not locations:
                break  # no location asked for: nothing to read
            else:
                rows = conn.execute(STOCK_ROWS_AT, {"skus": list(chunk), "locations": locations})
            for sku, loc, on_hand, reserved in rows:
                found[(sku, loc)] = (on_hand, reserved)
        return found

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

    # -- reservations ---------------------------------------------------------------------

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
            now = _now()
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
                    _event(
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
            now = _now()
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
                    [_event(EventKind.RELEASE, r.sku, r.location_id, -r.open_quantity, cause, now) for r in open_rows],
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
            now = _now()
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
                    moves.append(_event(EventKind.SHIP, row.sku, row.location_id, -take, cause, now))
                if shipped > take:
                    moves.append(
                        _event(
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

    # -- inbound dedup ------------------------------------------------------------------

    async def record_accepted_order(
        self, channel_id: str, external_id: str, workflow_id: str, delivery_id: str | None = None
    ) -> bool:
        """Remember an accepted order, and the webhook delivery that brought it in the same
        transaction (one write for the gateway, not two); True the first time, False for a
        duplicate order."""

        def tx(conn: Connection) -> bool:
            result = conn.execute(
                self._statements.accept_order,
                {
                    "channel_id": channel_id,
                    "external_id": external_id,
                    "workflow_id": workflow_id,
                    "accepted_at": _now(),
                },
            )
            if delivery_id is not None:
                self._record_delivery(conn, channel_id, delivery_id)
            return bool(result.rowcount == 1)

        return await self._write(tx)

    async def accepted_order(self, channel_id: str, external_id: str) -> str | None:
        """The workflow id an order was accepted under, or None."""

        def tx(conn: Connection) -> str | None:
            found = conn.execute(ACCEPTED_ORDER, {"channel_id": channel_id, "external_id": external_id})
            return found.scalar()

        return await self._read(tx)

    async def record_delivery(self, channel_id: str, event_id: str) -> bool:
        """Remember a vendor's webhook delivery id; True the first time it is seen."""

        def tx(conn: Connection) -> bool:
            return self._record_delivery(conn, channel_id, event_id)

        return await self._write(tx)

    def _record_delivery(self, conn: Connection, channel_id: str, event_id: str) -> bool:
        result = conn.execute(
            self._statements.record_delivery, {"channel_id": channel_id, "event_id": event_id, "received_at": _now()}
        )
        return bool(result.rowcount == 1)

    async def delivery_seen(self, channel_id: str, event_id: str) -> bool:
        """Whether a vendor's webhook delivery id was recorded (processed) before."""
        return (await self.inbound_seen(channel_id, event_id, None)).delivery

    async def inbound_seen(self, channel_id: str, event_id: str | None, external_id: str | None) -> InboundSeen:
        """In one read: whether the delivery `event_id` was processed before, and the workflow id
        the order `external_id` was accepted under (each only when given)."""

        def tx(conn: Connection) -> InboundSeen:
            delivery = accepted = None
            if event_id is not None:
                delivery = conn.execute(DELIVERY_SEEN, {"channel_id": channel_id, "event_id": event_id}).scalar()
            if external_id is not None:
                accepted = conn.execute(ACCEPTED_ORDER, {"channel_id": channel_id, "external_id": external_id}).scalar()
            return InboundSeen(delivery=delivery is not None, accepted_workflow_id=accepted)

        return await self._read(tx)

    async def ping(self) -> None:
        """Raise if the database cannot be reached (readiness checks)."""

        def tx(conn: Connection) -> None:
            conn.execute(select(1))

        return await self._read(tx)

    # -- published quantities ---------------------------------------------------------------

    async def record_published(self, channel_id: str, quantities: dict[str, int]) -> None:
        """Remember what a selling channel was last told for each SKU, and when."""
        if not quantities:
            return
        at = _now()

        def tx(conn: Connection) -> None:
            conn.execute(
                self._statements.publish,
                [
                    {"channel_id": channel_id, "sku": sku, "quantity": q, "pushed_at": at}
                    for sku, q in quantities.items()
                ],
            )

        return await self._write(tx)

    async def published(self, channel_id: str) -> dict[str, int]:
        """Every SKU's quantity as last pushed to a channel."""

        def tx(conn: Connection) -> dict[str, int]:
            rows = conn.execute(
                select(published_table.c.sku, published_table.c.quantity).where(
                    published_table.c.channel_id == channel_id
                )
            )
            return {sku: quantity for sku, quantity in rows}

        return await self._read(tx)

    async def published_for(self, sku: str) -> list[tuple[str, int, datetime]]:
        """(channel id, quantity, pushed at) for one SKU on every channel it was pushed to."""

        def tx(conn: Connection) -> list[tuple[str, int, datetime]]:
            rows = conn.execute(
                select(published_table.c.channel_id, published_table.c.quantity, published_table.c.pushed_at)
                .where(published_table.c.sku == sku)
                .order_by(published_table.c.channel_id)
            )
            return [(channel, quantity, at) for channel, quantity, at in rows]

        return await self._read(tx)

    async def all_skus(self) -> list[str]:
        """Every SKU the ledger knows: products and SKUs with stock anywhere."""

        def tx(conn: Connection) -> list[str]:
            found = set(conn.execute(select(products_table.c.sku)).scalars())
            found.update(conn.execute(select(stock.c.sku).distinct()).scalars())
            return sorted(found)

        return await self._read(tx)

    # -- events and outbox ----------------------------------------------------------------

    async def outbox_head(self) -> int:
        """The id of the newest outbox row (0 when empty): a new consumer's starting cursor."""

        def tx(conn: Connection) -> int:
            return int(conn.execute(select(func.max(outbox.c.id))).scalar() or 0)

        return await self._read(tx)

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

    async def outbox_after(self, after_id: int, limit: int) -> list[OutboxRow]:
        """Outbox rows with an id above the consumer's cursor, oldest first."""

        def tx(conn: Connection) -> list[OutboxRow]:
            rows = conn.execute(OUTBOX_AFTER, {"after": after_id, "limit": limit})
            return [OutboxRow(id=row.id, sku=row.sku, created_at=row.created_at) for row in rows]

        return await self._read(tx)

    async def next_outbox_rows(
        self, after_id: int, limit: int, *, not_before: float, poll_interval: timedelta
    ) -> list[OutboxRow]:
        """What an outbox consumer reads next: the rows after its cursor, read no earlier than
        `not_before` (a `time.monotonic()`; what arrives meanwhile joins the batch). With none
        yet, waits for this process's next outbox commit or `poll_interval` (other processes'
        writes) and returns [] so the consumer can heartbeat and check its deadline."""
        wait = not_before - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        changed = self._outbox_event
        rows = await self.outbox_after(after_id, limit)
        if not rows:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), poll_interval.total_seconds())
        return rows

    async def save_outbox_cursor(self, consumer: str, cursor: int) -> None:
        """Remember how far `consumer` has read (rows up to `cursor` are done for it)."""

        def tx(conn: Connection) -> None:
            statement = self._insert(outbox_cursors).values(consumer=consumer, cursor=cursor, updated_at=_now())
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[outbox_cursors.c.consumer],
                    set_={"cursor": statement.excluded.cursor, "updated_at": statement.excluded.updated_at},
                )
            )

        return await self._write(tx)

    async def outbox_cursors(self) -> dict[str, int]:
        def tx(conn: Connection) -> dict[str, int]:
            rows = conn.execute(select(outbox_cursors.c.consumer, outbox_cursors.c.cursor))
            return {consumer: int(cursor) for consumer, cursor in rows}

        return await self._read(tx)

    async def trim_outbox_for(self, consumers: Iterable[str]) -> int:
        """Delete the rows every one of `consumers` has read; nothing while one of them has
        never saved a cursor (it may still need them). Returns how many rows went."""
        wanted = set(consumers)
        cursors = await self.outbox_cursors()
        if not wanted or not wanted <= cursors.keys():
            return 0
        return await self.outbox_trim(min(cursors[c] for c in wanted))

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

    async def poll_cursor(self, channel_id: str) -> datetime | None:
        """Until when a channel's orders were last polled successfully (None: never)."""

        def tx(conn: Connection) -> datetime | None:
            return (
                conn.execute(select(poll_cursors.c.polled_until).where(poll_cursors.c.channel_id == channel_id))
            ).scalar()

        return await self._read(tx)

    async def save_poll_cursor(self, channel_id: str, polled_until: datetime) -> None:
        def tx(conn: Connection) -> None:
            statement = self._insert(poll_cursors).values(
                channel_id=channel_id, polled_until=polled_until, updated_at=_now()
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[poll_cursors.c.channel_id],
                    set_={"polled_until": statement.excluded.polled_until, "updated_at": statement.excluded.updated_at},
                )
            )

        return await self._write(tx)

    async def outbox_trim(self, up_to_id: int) -> int:
        """Delete outbox rows up to an id every consumer has passed; return how many."""

        def tx(conn: Connection) -> int:
            result = conn.execute(delete(outbox).where(outbox.c.id <= up_to_id))
            return int(result.rowcount)

        return await self._write(tx)

    # -- reconciliation -------------------------------------------------------------------

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
