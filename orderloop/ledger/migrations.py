"""Versioned schema migrations, applied when a ledger opens.

Two processes may open the same database at once (gateway and worker), so the check-and-apply
runs inside one exclusive transaction: `BEGIN IMMEDIATE` on SQLite, an advisory lock on
PostgreSQL, where DDL is transactional too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from orderloop.ledger.schema import (
    V1_TABLES,
    events_by_kind_and_time,
    metadata,
    outbox_cursors,
    poll_cursors,
    published,
    schema_version,
)

Migration = Callable[[AsyncConnection], Awaitable[None]]


async def _v1_initial(conn: AsyncConnection) -> None:
    await conn.run_sync(lambda sync: metadata.create_all(sync, tables=V1_TABLES, checkfirst=False))


async def _v2_published(conn: AsyncConnection) -> None:
    await conn.run_sync(lambda sync: published.create(sync, checkfirst=False))


async def _v3_outbox_cursors(conn: AsyncConnection) -> None:
    await conn.run_sync(lambda sync: outbox_cursors.create(sync, checkfirst=False))


async def _v4_poll_cursors(conn: AsyncConnection) -> None:
    await conn.run_sync(lambda sync: poll_cursors.create(sync, checkfirst=False))


async def _v5_events_by_kind_and_time(conn: AsyncConnection) -> None:
    # Declared on the events table, so a database created fresh already has it from step 1.
    await conn.run_sync(lambda sync: events_by_kind_and_time.create(sync, checkfirst=True))


# Append only: a released step never changes, a schema change is a new step.
MIGRATIONS: list[tuple[int, str, Migration]] = [
    (1, "stock, reservations, events, outbox, order and delivery dedup", _v1_initial),
    (2, "quantities published to each selling channel", _v2_published),
    (3, "outbox consumers' cursors, for trimming", _v3_outbox_cursors),
    (4, "where each channel's order poll resumes", _v4_poll_cursors),
    (5, "index of events by kind and time (daily capacity)", _v5_events_by_kind_and_time),
]

LATEST = MIGRATIONS[-1][0]


async def migrate(conn: AsyncConnection) -> int:
    """Apply the missing steps inside the caller's write transaction; return the version."""
    if conn.dialect.name == "postgresql":
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || :key))").bindparams(
                key="/orderloop-migrate"
            )
        )
    await conn.run_sync(lambda sync: schema_version.create(sync, checkfirst=True))
    current = (await conn.execute(select(func.max(schema_version.c.version)))).scalar() or 0
    if current > LATEST:
        raise RuntimeError(
            f"ledger schema version {current} is newer than this Orderloop ({LATEST}): upgrade"
        )
    for version, _description, step in MIGRATIONS:
        if version > current:
            await step(conn)
            await conn.execute(
                insert(schema_version).values(version=version, applied_at=datetime.now(UTC))
            )
            current = version
    return current
