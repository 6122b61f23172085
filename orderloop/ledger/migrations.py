"""Versioned schema migrations, applied when a ledger opens.

Two processes may open the same database at once (gateway and worker), so the check-and-apply
runs inside one exclusive transaction: `BEGIN IMMEDIATE` on SQLite, an advisory lock on
PostgreSQL, where DDL is transactional too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection

from orderloop.ledger.schema import (
    EDI_ACK_TABLES,
    EDI_TABLES,
    RETURN_TABLES,
    V1_TABLES,
    channel_holds,
    channel_holds_by_seen,
    channel_rollouts,
    events_by_kind_and_time,
    exchange_files,
    exchange_rows,
    exchanges,
    metadata,
    notices,
    notices_due,
    operations,
    operators,
    outbox_cursors,
    poll_cursors,
    published,
    rollout_changes,
    schema_version,
)

Migration = Callable[[Connection], None]


def _v1_initial(conn: Connection) -> None:
    metadata.create_all(conn, tables=V1_TABLES, checkfirst=False)


def _v2_published(conn: Connection) -> None:
    published.create(conn, checkfirst=False)


def _v3_outbox_cursors(conn: Connection) -> None:
    outbox_cursors.create(conn, checkfirst=False)


def _v4_poll_cursors(conn: Connection) -> None:
    poll_cursors.create(conn, checkfirst=False)


def _v5_events_by_kind_and_time(conn: Connection) -> None:
    # Declared on the events table, so a database created fresh already has it from step 1.
    events_by_kind_and_time.create(conn, checkfirst=True)


def _v6_notices(conn: Connection) -> None:
    notices.create(conn, checkfirst=False)
    notices_due.create(conn, checkfirst=True)


def _v7_returns(conn: Connection) -> None:
    metadata.create_all(conn, tables=RETURN_TABLES, checkfirst=False)


def _v8_channel_holds(conn: Connection) -> None:
    channel_holds.create(conn, checkfirst=False)
    channel_holds_by_seen.create(conn, checkfirst=True)


def _v9_operators(conn: Connection) -> None:
    operators.create(conn, checkfirst=False)


def _v10_rollouts(conn: Connection) -> None:
    metadata.create_all(conn, tables=[channel_rollouts, rollout_changes], checkfirst=False)


def _v11_operations(conn: Connection) -> None:
    operations.create(conn, checkfirst=False)


def _v12_exchanges(conn: Connection) -> None:
    exchanges.create(conn, checkfirst=False)


def _v13_exchange_files(conn: Connection) -> None:
    metadata.create_all(conn, tables=[exchange_files, exchange_rows], checkfirst=False)


def _v14_edi(conn: Connection) -> None:
    # The indexes are declared on their tables, so create_all makes them too.
    metadata.create_all(conn, tables=EDI_TABLES, checkfirst=False)


def _v15_edi_acknowledgements(conn: Connection) -> None:
    metadata.create_all(conn, tables=EDI_ACK_TABLES, checkfirst=False)


# Append only: a released step never changes, a schema change is a new step.
MIGRATIONS: list[tuple[int, str, Migration]] = [
    (1, "stock, reservations, events, outbox, order and delivery dedup", _v1_initial),
    (2, "quantities published to each selling channel", _v2_published),
    (3, "outbox consumers' cursors, for trimming", _v3_outbox_cursors),
    (4, "where each channel's order poll resumes", _v4_poll_cursors),
    (5, "index of events by kind and time (daily capacity)", _v5_events_by_kind_and_time),
    (6, "exception notices per sink: outbox, retries and dead letters", _v6_notices),
    (7, "returns, their lines and receipts, non-sellable units", _v7_returns),
    (8, "orders the selling channels hold back, until started or cancelled", _v8_channel_holds),
    (9, "operator credentials: token hashes, roles, revocations", _v9_operators),
    (10, "selling channels' go-live rollouts (stage, SKUs) and their audit", _v10_rollouts),
    (11, "the operations record: order events per channel and time", _v11_operations),
    (12, "the exchange log: vendor calls, polls and webhooks with the vendor's answer", _v12_exchanges),
    (13, "inbound files of file-speaking channels and what each row applied", _v13_exchange_files),
    (14, "EDI partners: interchanges, purchase orders, control numbers, documents sent, parcels", _v14_edi),
    (15, "EDI partners' 997s and TA1s about Orderloop's documents, each document's status", _v15_edi_acknowledgements),
]

LATEST = MIGRATIONS[-1][0]


def migrate(conn: Connection) -> int:
    """Apply the missing steps inside the caller's write transaction; return the version."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || :key))").bindparams(
                key="/orderloop-migrate"
            )
        )
    schema_version.create(conn, checkfirst=True)
    current = conn.execute(select(func.max(schema_version.c.version))).scalar() or 0
    if current > LATEST:
        raise RuntimeError(f"ledger schema version {current} is newer than this Orderloop ({LATEST}): upgrade")
    for version, _description, step in MIGRATIONS:
        if version > current:
            step(conn)
            conn.execute(insert(schema_version).values(version=version, applied_at=datetime.now(UTC)))
            current = version
    return current
