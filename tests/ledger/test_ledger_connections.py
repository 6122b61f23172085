"""Pooled SQLite connections: the ledger opens its transactions itself (BEGIN IMMEDIATE or
DEFERRED) and skips the pool's ROLLBACK at every check-in; a connection returned inside a
transaction (an interrupted commit) is still rolled back before anyone else gets it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from orderloop.ledger import Cause, Ledger
from orderloop.ledger.transactions import SQLiteTransactions


async def test_a_connection_returned_inside_a_transaction_is_rolled_back(tmp_path: Path, cause: Cause) -> None:
    ledger = await Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        transactions = ledger._transactions
        assert isinstance(transactions, SQLiteTransactions)
        engine = transactions.engine

        def leave_a_transaction_open() -> None:
            with engine.connect() as conn:
                driver = conn.connection.driver_connection
                assert driver is not None
                driver.execute("BEGIN IMMEDIATE")
                driver.execute("INSERT INTO outbox (sku, created_at) VALUES (?, '2026-01-01')", ("tee",))
                assert driver.in_transaction
                # Returned to the pool without COMMIT or ROLLBACK (SQLAlchemy does not know of it).

        def outbox_rows() -> int:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM outbox WHERE sku = 'tee'")).scalar_one())

        await asyncio.to_thread(leave_a_transaction_open)
        # The next transactions work (SQLite would refuse a BEGIN inside a transaction, and hold
        # its write lock), and the stray insert is gone.
        await ledger.receive("tee", "east", 3, cause)
        assert await asyncio.to_thread(outbox_rows) == 1  # the receive's own outbox row only
        assert [(s.location_id, s.on_hand) for s in await ledger.stock("tee")] == [("east", 3)]
    finally:
        await ledger.close()


async def test_the_earlier_aiosqlite_url_opens_the_same_store(tmp_path: Path, cause: Cause) -> None:
    path = tmp_path / "ledger.db"
    first = await Ledger.open(f"sqlite+aiosqlite:///{path}")
    try:
        await first.receive("tee", "east", 2, cause)
    finally:
        await first.close()
    second = await Ledger.open(f"sqlite:///{path}")
    try:
        assert [(s.location_id, s.on_hand) for s in await second.stock("tee")] == [("east", 2)]
    finally:
        await second.close()
