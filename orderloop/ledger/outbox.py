"""The availability outbox and published quantities: what each selling channel was last told,
the outbox rows its sync reads after its cursor, the consumers' cursors, and trimming what
every consumer has read.

Invariants: outbox rows are written in the transaction of the change they announce (see
`LedgerBase._touch`) and their ids commit in order (the outbox lock), so a consumer that moves
its cursor past an id never misses a row below it; a row is trimmed only once every named
consumer has saved a cursor past it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection

from orderloop.ledger.base import LedgerBase, utc_now
from orderloop.ledger.operations import OperationEvent, operation_rows
from orderloop.ledger.schema import outbox, outbox_cursors
from orderloop.ledger.schema import published as published_table
from orderloop.ledger.statements import OUTBOX_AFTER
from orderloop.ledger.types import OutboxRow


class Outbox(LedgerBase):
    """The availability outbox, its consumers' cursors, and the quantities published."""

    async def record_published(
        self, channel_id: str, quantities: dict[str, int], record: Sequence[OperationEvent] = ()
    ) -> None:
        """Remember what a selling channel was last told for each SKU, and when; `record`: the
        push's operations-record rows, written in the same transaction."""
        if not quantities:
            return
        at = utc_now()
        rows = operation_rows(record)

        def tx(conn: Connection) -> None:
            conn.execute(
                self._statements.publish,
                [
                    {"channel_id": channel_id, "sku": sku, "quantity": q, "pushed_at": at}
                    for sku, q in quantities.items()
                ],
            )
            self._record_operation_rows(conn, rows)

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

    async def last_pushed_at(self, channel_id: str) -> datetime | None:
        """When a selling channel was last told any quantity (None: never), so a sync that paces
        its pushes keeps the pace across its runs."""

        def tx(conn: Connection) -> datetime | None:
            return conn.execute(
                select(func.max(published_table.c.pushed_at)).where(published_table.c.channel_id == channel_id)
            ).scalar()

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

    async def outbox_head(self) -> int:
        """The id of the newest outbox row (0 when empty): a new consumer's starting cursor."""

        def tx(conn: Connection) -> int:
            return int(conn.execute(select(func.max(outbox.c.id))).scalar() or 0)

        return await self._read(tx)

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
            statement = self._insert(outbox_cursors).values(consumer=consumer, cursor=cursor, updated_at=utc_now())
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

    async def outbox_trim(self, up_to_id: int) -> int:
        """Delete outbox rows up to an id every consumer has passed; return how many."""

        def tx(conn: Connection) -> int:
            result = conn.execute(delete(outbox).where(outbox.c.id <= up_to_id))
            return int(result.rowcount)

        return await self._write(tx)
