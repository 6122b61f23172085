"""Pooled SQLite connections: the ledger opens its transactions itself (BEGIN IMMEDIATE or
DEFERRED) and skips the pool's ROLLBACK at every check-in; a connection returned inside a
transaction (an interrupted commit) is still rolled back before anyone else gets it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from orderloop.ledger import Cause, Ledger


async def test_a_connection_returned_inside_a_transaction_is_rolled_back(tmp_path: Path, cause: Cause) -> None:
    ledger = await Ledger.open(f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}")
    try:
        await returned_inside_a_transaction(ledger, cause, "tee")
    finally:
        await ledger.close()


async def returned_inside_a_transaction(ledger: Ledger, cause: Cause, sku: str) -> None:
    engine = ledger._engine
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        await driver.execute("BEGIN IMMEDIATE")
        await driver.execute("INSERT INTO outbox (sku, created_at) VALUES (?, '2026-01-01')", (sku,))
        assert driver.in_transaction
        # Returned to the pool without COMMIT or ROLLBACK (SQLAlchemy does not know of it).
    # The next transactions work (SQLite would refuse a BEGIN inside a transaction, and hold
    # its write lock), and the stray insert is gone.
    await ledger.receive(sku, "east", 3, cause)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT count(*) FROM outbox WHERE sku = :sku"), {"sku": sku})).scalar()
    assert rows == 1  # the receive's own outbox row only
    assert [(s.location_id, s.on_hand) for s in await ledger.stock(sku)] == [("east", 3)]
