"""The ledger's base: opening and closing the store, running one transaction per operation, and
the helpers every part of the ledger shares (dialect-aware INSERT, the outbox and per-order
locks, bundle and stock-row reads, event rows, chunking).

Invariants every part relies on:
- an operation is one call of `_write` or `_read`, whose body is a synchronous function of one
  `Connection` (see orderloop.ledger.transactions); nothing awaits inside a transaction;
- correctness comes from conditional UPDATEs with checked row counts and the schema's CHECK
  constraints, never from row locks (SQLite has none);
- on PostgreSQL the per-order advisory lock is the first lock a transaction takes and the
  outbox lock the last, so neither joins a lock-order cycle with the row locks in between;
- every change of what a channel may sell writes its outbox rows (`_touch`) in the same
  transaction, and this process's outbox consumers wake when it commits.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TypeVar

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url

from orderloop.ledger.errors import BundleHasNoStock, LedgerError
from orderloop.ledger.migrations import migrate
from orderloop.ledger.schema import operations, stock
from orderloop.ledger.statements import (
    ADVISORY_LOCK,
    BUNDLE_PARTS,
    BUNDLES_CONTAINING,
    INSERT_OUTBOX,
    STOCK_ROWS,
    STOCK_ROWS_AT,
    DialectStatements,
)
from orderloop.ledger.transactions import (
    AsyncEngineTransactions,
    Body,
    SQLiteTransactions,
    Transactions,
    note_outbox_write,
)
from orderloop.ledger.types import Cause, EventKind

# Bind parameters per statement stay well below SQLite's and asyncpg's 32,767 limit.
CHUNK = 5_000
T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def event_row(kind: EventKind, sku: str, location_id: str, delta: int, cause: Cause, at: datetime) -> dict[str, Any]:
    """One row of the event ledger."""
    return {
        "kind": kind.value,
        "sku": sku,
        "location_id": location_id,
        "delta": delta,
        "cause_kind": cause.kind.value,
        "cause_ref": cause.ref,
        "at": at,
    }


class LedgerBase:
    """What every part of the ledger stands on; `orderloop.ledger.store.Ledger` assembles the parts."""

    def __init__(self, transactions: Transactions) -> None:
        self._transactions = transactions
        self._dialect = transactions.dialect
        self._statements = DialectStatements(self._dialect)
        # Set when a transaction of this process that wrote outbox rows commits, so consumers
        # here wake at once; changes by other processes are found by their polling.
        self._outbox_event = asyncio.Event()

    @classmethod
    async def open(cls, url: str, *, schema: str | None = None) -> Self:
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

    async def ping(self) -> None:
        """Raise if the database cannot be reached (readiness checks)."""

        def tx(conn: Connection) -> None:
            conn.execute(select(1))

        return await self._read(tx)

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
        for chunk in chunks(changed):
            bundles.update(conn.execute(BUNDLES_CONTAINING, {"skus": list(chunk)}).scalars())
        conn.execute(INSERT_OUTBOX, [{"sku": sku, "created_at": at} for sku in sorted({*changed, *bundles})])

    def _record_operation_rows(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
        """Insert operations-record rows (orderloop.ledger.operations) inside the caller's
        transaction, each once per key; how many were new."""
        statement = self._insert(operations).on_conflict_do_nothing(index_elements=["key"])
        return sum(conn.execute(statement, row).rowcount for row in rows)

    def _add_on_hand(self, conn: Connection, sku: str, location_id: str, quantity: int) -> None:
        """Add units to on hand, creating the stock row when the location had none of the SKU."""
        upsert = self._insert(stock).values(sku=sku, location_id=location_id, on_hand=quantity, reserved=0, inbound=0)
        conn.execute(
            upsert.on_conflict_do_update(
                index_elements=[stock.c.sku, stock.c.location_id],
                set_={"on_hand": stock.c.on_hand + upsert.excluded.on_hand},
            )
        )

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
        for chunk in chunks(wanted):
            for bundle, component, quantity in conn.execute(BUNDLE_PARTS, {"skus": list(chunk)}):
                found[bundle][component] = quantity
        return dict(found)

    def _refuse_bundle(self, conn: Connection, sku: str) -> None:
        if self._bundles(conn, [sku]):
            raise BundleHasNoStock(sku)

    def _stock_rows(
        self, conn: Connection, skus: Sequence[str], location_ids: Sequence[str] | None
    ) -> dict[tuple[str, str], tuple[int, int]]:
        found: dict[tuple[str, str], tuple[int, int]] = {}
        locations = None if location_ids is None else list(location_ids)
        for chunk in chunks(sorted(set(skus))):
            if locations is None:
                rows = conn.execute(STOCK_ROWS, {"skus": list(chunk)})
            elif not locations:
                break  # no location asked for: nothing to read
            else:
                rows = conn.execute(STOCK_ROWS_AT, {"skus": list(chunk), "locations": locations})
            for sku, loc, on_hand, reserved in rows:
                found[(sku, loc)] = (on_hand, reserved)
        return found
