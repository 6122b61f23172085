"""The notice outbox: exception notices waiting for their sink, delivered ones, and dead letters.

Invariants: a notice is queued once per (event id, sink) however often the activity that writes
it is retried (unique key, ON CONFLICT DO NOTHING); the sender claims due notices by a
conditional UPDATE on their status and attempt count, so two workers never deliver the same
attempt twice; a notice that failed `attempts` times is dead (kept for operators, re-sendable).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from orderloop.ledger.base import LedgerBase, utc_now
from orderloop.ledger.schema import notices


class NoticeStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class QueuedNotice(BaseModel):
    """One notice for one sink, as the notify activity queues it."""

    event_id: str
    sink: str
    audience: str
    workflow_id: str
    channel_id: str
    kind: str
    level: str
    # The notice as JSON (`orderloop.notices.model.Notice`).
    body: str


class NoticeRow(QueuedNotice):
    id: int
    status: NoticeStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None = None
    last_error: str | None = None


class Notices(LedgerBase):
    """The notice outbox the notify activity writes and the notice sender drains."""

    async def queue_notices(self, queued: Sequence[QueuedNotice]) -> int:
        """Queue notices for their sinks; returns how many were new."""
        if not queued:
            return 0
        now = utc_now()
        rows = [
            {
                **notice.model_dump(),
                "status": NoticeStatus.PENDING,
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
            for notice in queued
        ]

        def tx(conn: Connection) -> int:
            statement = self._insert(notices).on_conflict_do_nothing(index_elements=["event_id", "sink"])
            return sum(conn.execute(statement, row).rowcount for row in rows)

        return await self._write(tx)

    async def due_notices(self, now: datetime, window: timedelta) -> list[NoticeRow]:
        """The pending notices due now, of every (sink, kind, level) group whose oldest pending
        notice has waited the batch window: the sender delivers each group as one message."""

        def tx(conn: Connection) -> list[NoticeRow]:
            pending = conn.execute(
                select(notices)
                .where(notices.c.status == NoticeStatus.PENDING, notices.c.next_attempt_at <= now)
                .order_by(notices.c.id)
                .limit(5000)
            )
            rows = [NoticeRow.model_validate(row._mapping) for row in pending]
            ready = {
                (row.sink, row.kind, row.level) for row in rows if row.attempts > 0 or row.created_at <= now - window
            }
            return [row for row in rows if (row.sink, row.kind, row.level) in ready]

        return await self._read(tx)

    async def claim_notices(self, rows: Sequence[NoticeRow], hold: timedelta) -> list[int]:
        """Take the rows for one delivery attempt (moving their next attempt `hold` away, so a
        crashed sender's claim expires); the ids this sender won."""
        until = utc_now() + hold

        def tx(conn: Connection) -> list[int]:
            won = []
            for row in rows:
                result = conn.execute(
                    update(notices)
                    .where(
                        notices.c.id == row.id,
                        notices.c.status == NoticeStatus.PENDING,
                        notices.c.attempts == row.attempts,
                        notices.c.next_attempt_at == row.next_attempt_at,
                    )
                    .values(next_attempt_at=until)
                )
                if result.rowcount == 1:
                    won.append(row.id)
            return won

        return await self._write(tx)

    async def notices_delivered(self, ids: Sequence[int]) -> None:
        now = utc_now()

        def tx(conn: Connection) -> None:
            conn.execute(
                update(notices)
                .where(notices.c.id.in_(list(ids)))
                .values(status=NoticeStatus.DELIVERED, delivered_at=now, attempts=notices.c.attempts + 1)
            )

        await self._write(tx)

    async def notices_failed(self, ids: Sequence[int], error: str, retry_at: datetime | None) -> None:
        """One failed attempt: retried at `retry_at`, or dead-lettered when None."""

        def tx(conn: Connection) -> None:
            status = NoticeStatus.DEAD if retry_at is None else NoticeStatus.PENDING
            values: dict[str, object] = {"status": status, "attempts": notices.c.attempts + 1, "last_error": error}
            if retry_at is not None:
                values["next_attempt_at"] = retry_at
            conn.execute(update(notices).where(notices.c.id.in_(list(ids))).values(**values))

        await self._write(tx)

    async def list_notices(self, status: NoticeStatus | None = None, limit: int = 100) -> list[NoticeRow]:
        def tx(conn: Connection) -> list[NoticeRow]:
            query = select(notices).order_by(notices.c.id.desc()).limit(limit)
            if status is not None:
                query = query.where(notices.c.status == status)
            return [NoticeRow.model_validate(row._mapping) for row in conn.execute(query)]

        return await self._read(tx)

    async def resend_notice(self, notice_id: int) -> NoticeRow | None:
        """Queue a dead (or delivered) notice again, with a fresh count of attempts."""
        now = utc_now()

        def tx(conn: Connection) -> NoticeRow | None:
            conn.execute(
                update(notices)
                .where(notices.c.id == notice_id)
                .values(status=NoticeStatus.PENDING, attempts=0, next_attempt_at=now, last_error=None)
            )
            found = conn.execute(select(notices).where(notices.c.id == notice_id)).first()
            return NoticeRow.model_validate(found._mapping) if found is not None else None

        return await self._write(tx)
