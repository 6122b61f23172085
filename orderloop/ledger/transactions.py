"""How the ledger runs a transaction: every transaction is one synchronous function of a
SQLAlchemy `Connection`, run whole where its database is.

- SQLite (the embedded store): a plain `sqlite3` engine; each transaction is one call on a
  thread, writes on a single writer thread (SQLite admits one writer, so this process's
  writers queue there instead of busy-waiting in SQLite's handler; other processes still wait
  through busy_timeout), reads on a small pool of reader threads. One hop to a thread per
  transaction, where an async driver makes about four per statement. Each of those threads
  keeps its own connection for as long as it lives: a pool check-out and check-in around
  every transaction cost as much CPU as a small transaction's statements.
- PostgreSQL (production): asyncpg through SQLAlchemy's asyncio engine; the same function runs
  inside the event loop with `run_sync`, and many transactions run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError, InterfaceError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from orderloop.ledger.errors import LedgerUnavailable

T = TypeVar("T")
Body = Callable[[Connection], T]

# Long enough to ride out another process's snapshot; SQLite's busy handler waits off the loop.
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_READER_THREADS = 4
_SQLITE_BEGIN = "orderloop_sqlite_begin"
_SQLITE_PRAGMAS = (
    f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA temp_store = MEMORY",
)
# Set on a connection's info while its transaction wrote outbox rows (see `note_outbox_write`).
_OUTBOX_WRITTEN = "orderloop_outbox_written"
# SQLite result codes (by prefix, e.g. SQLITE_IOERR_WRITE) of a store that cannot write now;
# the transaction was rolled back whole.
_SQLITE_CANNOT_WRITE = {
    "SQLITE_FULL": "the disk is full",
    "SQLITE_READONLY": "the file is read-only",
    "SQLITE_CANTOPEN": "the file cannot be opened",
    "SQLITE_IOERR": "writing to the disk failed (full, over quota or over the file-size limit?)",
}


def note_outbox_write(conn: Connection) -> None:
    """Mark the running transaction as one that writes outbox rows, so the ledger wakes this
    process's outbox consumers once it commits."""
    conn.info[_OUTBOX_WRITTEN] = True


def _tracked(body: Body[T], conn: Connection) -> tuple[T, bool]:
    conn.info[_OUTBOX_WRITTEN] = False
    result = body(conn)
    return result, bool(conn.info.pop(_OUTBOX_WRITTEN, False))


class Transactions(Protocol):
    dialect: str

    async def write(self, body: Body[T]) -> tuple[T, bool]:
        """Run `body` in a write transaction; its result, and whether it wrote outbox rows."""

    async def read(self, body: Body[T]) -> T:
        """Run `body` in a read-only transaction that sees one snapshot."""

    async def close(self) -> None: ...


class SQLiteTransactions:
    dialect = "sqlite"

    def __init__(self, url: URL) -> None:
        # pool_reset_on_return=None: see _on_reset.
        self.engine: Engine = create_engine(url.set(drivername="sqlite"), pool_reset_on_return=None)
        _configure_sqlite(self.engine)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="ledger-write")
        self._readers = ThreadPoolExecutor(SQLITE_READER_THREADS, thread_name_prefix="ledger-read")
        self._held = threading.local()  # the connection of the thread that runs a transaction
        self._opened: list[Connection] = []  # every thread's, to close with the ledger
        self._opened_lock = threading.Lock()

    async def write(self, body: Body[T]) -> tuple[T, bool]:
        return await asyncio.get_running_loop().run_in_executor(self._writer, self._write, body)

    async def read(self, body: Body[T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._readers, self._read, body)

    def _write(self, body: Body[T]) -> tuple[T, bool]:
        return self._run("IMMEDIATE", partial(_tracked, body))

    def _read(self, body: Body[T]) -> T:
        # A deferred transaction reads one WAL snapshot without blocking writers.
        return self._run("DEFERRED", body)

    def _run(self, begin: str, body: Body[T]) -> T:
        conn = self._connection(begin)
        try:
            with conn.begin():
                return body(conn)
        except DBAPIError as exc:
            name = str(getattr(exc.orig, "sqlite_errorname", ""))
            for prefix, reason in _SQLITE_CANNOT_WRITE.items():
                if name.startswith(prefix):
                    where = self.engine.url.database
                    raise LedgerUnavailable(
                        f"the SQLite ledger {where} cannot write: {reason} ({name}: {exc.orig}); nothing was changed"
                    ) from exc
            raise
        finally:
            # A connection SQLAlchemy gave up on, or one an interrupted COMMIT or ROLLBACK left
            # inside its transaction (as SQLAlchemy or the driver sees it), is not used again:
            # the next transaction opens another.
            if conn.invalidated or conn.in_transaction() or _driver_in_transaction(conn):
                self._held.conn = None
                self._forget(conn)

    def _connection(self, begin: str) -> Connection:
        conn: Connection | None = getattr(self._held, "conn", None)
        if conn is None:
            conn = self.engine.connect().execution_options(**{_SQLITE_BEGIN: begin})
            self._held.conn = conn
            with self._opened_lock:
                self._opened.append(conn)
        return conn

    def _forget(self, conn: Connection) -> None:
        with self._opened_lock:
            if conn in self._opened:
                self._opened.remove(conn)
        with contextlib.suppress(Exception):
            conn.close()  # back to the pool, which rolls back a connection left in a transaction

    async def close(self) -> None:
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self.engine.dispose()


class AsyncEngineTransactions:
    def __init__(self, url: URL, connect_args: dict[str, Any]) -> None:
        self.engine: AsyncEngine = create_async_engine(url, connect_args=connect_args)
        self.dialect = self.engine.dialect.name

    async def write(self, body: Body[T]) -> tuple[T, bool]:
        try:
            async with self.engine.begin() as conn:
                return await conn.run_sync(partial(_tracked, body))
        except Exception as exc:
            _raise_if_unreachable(exc)
            raise

    async def read(self, body: Body[T]) -> T:
        try:
            async with self.engine.connect() as conn, conn.begin():
                return await conn.run_sync(body)
        except Exception as exc:
            _raise_if_unreachable(exc)
            raise

    async def close(self) -> None:
        await self.engine.dispose()


def _raise_if_unreachable(exc: Exception) -> None:
    """A lost or refused database connection as `LedgerUnavailable`: asyncpg's own errors while
    connecting (reset, refused, lost), or SQLAlchemy's for a connection found dead."""
    lost = isinstance(exc, InterfaceError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)
    if lost or isinstance(exc, OSError | TimeoutError):
        raise LedgerUnavailable(f"the ledger database is unreachable: {exc}") from exc


def _driver_in_transaction(conn: Connection) -> bool:
    driver = conn.connection.driver_connection
    return bool(driver is not None and driver.in_transaction)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's implicit BEGIN is deferred; we emit our own (IMMEDIATE for writes) so a
        # writer takes the lock up front instead of failing to upgrade a read lock later.
        dbapi_connection.isolation_level = None
        with contextlib.closing(dbapi_connection.cursor()) as cursor:
            for pragma in _SQLITE_PRAGMAS:
                _execute_when_unlocked(cursor, pragma)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # On the driver's connection: through SQLAlchemy's execution path this one statement
        # cost as much CPU as the transaction's own queries.
        statement = f"BEGIN {conn.get_execution_options().get(_SQLITE_BEGIN, 'IMMEDIATE')}"
        try:
            conn.connection.driver_connection.execute(statement)
        except sqlite3.Error as err:  # as SQLAlchemy raises it (e.g. OperationalError: locked)
            raise DBAPIError.instance(statement, None, err, sqlite3.Error) from err

    @event.listens_for(engine, "reset")
    def _on_reset(dbapi_connection: Any, record: Any, _state: Any) -> None:
        # Instead of the pool's ROLLBACK at every check-in: every ledger transaction ends in
        # COMMIT or ROLLBACK, so only a connection left inside one (an interrupted commit) is
        # rolled back.
        if record.driver_connection is not None and record.driver_connection.in_transaction:
            dbapi_connection.rollback()


def _execute_when_unlocked(cursor: Any, statement: str) -> None:
    """Switching a new database to WAL needs a lock SQLite does not wait for (no busy handler):
    when several processes open a new ledger at once, the others retry until the first is done."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            cursor.execute(statement)
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
