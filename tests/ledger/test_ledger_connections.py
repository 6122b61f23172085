"""SQLite connections: each ledger thread keeps one (a broken one is replaced); the ledger opens
its transactions itself (BEGIN IMMEDIATE or DEFERRED) and skips the pool's ROLLBACK at every
check-in; a connection returned inside a transaction (an interrupted commit) is still rolled
back before anyone else gets it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
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


async def test_each_thread_keeps_one_connection_and_a_broken_one_is_replaced(tmp_path: Path, cause: Cause) -> None:
    ledger = await Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    transactions = ledger._transactions
    assert isinstance(transactions, SQLiteTransactions)
    try:
        for _ in range(20):
            await ledger.receive("tee", "east", 1, cause)
            await ledger.stock("tee")
        # One writer thread and at most the reader threads: one connection each, not one per call.
        kept = list(transactions._opened)
        assert 2 <= len(kept) <= 5

        def break_it(conn: Any) -> None:
            conn.invalidate()  # as SQLAlchemy does when the driver reports a lost connection
            raise RuntimeError("connection lost")

        with pytest.raises(RuntimeError, match="connection lost"):
            await ledger._write(break_it)
        await ledger.receive("tee", "east", 1, cause)  # on a new connection
        assert [(s.location_id, s.on_hand) for s in await ledger.stock("tee")] == [("east", 21)]
        now = transactions._opened
        assert len(now) == len(kept) and len(set(map(id, now)) - set(map(id, kept))) == 1
    finally:
        await ledger.close()
    assert transactions._opened == []
