"""The orders a selling channel holds back: seen, not started, and why.

A channel may hold an order that exists at its end but may not ship yet (BigCommerce's
Incomplete or Manual Verification Required, Amazon's Pending, TikTok's buyer's remorse window
`ON_HOLD`). Orderloop starts no workflow for it, so without this record an operator asking for
the order would find nothing.

Invariants: one row per (channel, external id), the first sighting inserting it and each later
one counting it (`times_seen`, `last_seen_at`, the newest reason and status) in one upsert; the
order's acceptance (`InboundDedup.record_accepted_order`) marks it released in the same
transaction that records the acceptance, and a channel's cancel of the never-started order marks
it cancelled in the one that records the cancel's delivery (the release's statement is
`statements.RELEASE_HOLD`, on the acceptance's hot path). A released or cancelled hold is
closed: later sightings still count, but never reopen it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.engine import Connection

from orderloop.ledger.base import LedgerBase, utc_now
from orderloop.ledger.schema import channel_holds


class HoldState(StrEnum):
    """Where a hold stands: still held, released (the order started), cancelled at the channel."""

    HELD = "held"
    RELEASED = "released"
    CANCELLED = "cancelled"


class HoldRow(BaseModel):
    channel_id: str
    external_id: str
    reason: str
    channel_status: str
    first_seen_at: datetime
    last_seen_at: datetime
    times_seen: int
    released_at: datetime | None = None
    cancelled_at: datetime | None = None

    @property
    def state(self) -> HoldState:
        if self.released_at is not None:
            return HoldState.RELEASED
        if self.cancelled_at is not None:
            return HoldState.CANCELLED
        return HoldState.HELD


_OPEN = (channel_holds.c.released_at.is_(None), channel_holds.c.cancelled_at.is_(None))


def _of(channel_id: str, external_id: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return channel_holds.c.channel_id == channel_id, channel_holds.c.external_id == external_id


class ChannelHolds(LedgerBase):
    """Held orders: recorded by the intake (webhooks) and the order poll, listed for operators."""

    async def record_channel_hold(
        self, channel_id: str, external_id: str, reason: str, channel_status: str, delivery_id: str | None = None
    ) -> HoldRow:
        """One sighting of a held order (and the delivery that told of it, in the same write);
        the hold as it stands after it."""
        now = utc_now()

        def tx(conn: Connection) -> HoldRow:
            statement = self._insert(channel_holds).values(
                channel_id=channel_id,
                external_id=external_id,
                reason=reason[:2048],
                channel_status=channel_status[:64],
                first_seen_at=now,
                last_seen_at=now,
                times_seen=1,
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[channel_holds.c.channel_id, channel_holds.c.external_id],
                    set_={
                        "reason": statement.excluded.reason,
                        "channel_status": statement.excluded.channel_status,
                        "last_seen_at": statement.excluded.last_seen_at,
                        "times_seen": channel_holds.c.times_seen + 1,
                    },
                )
            )
            if delivery_id is not None:
                conn.execute(
                    self._statements.record_delivery,
                    {"channel_id": channel_id, "event_id": delivery_id, "received_at": now},
                )
            held = self._hold(conn, channel_id, external_id)
            assert held is not None  # upserted just now, in this transaction
            return held

        return await self._write(tx)

    async def cancel_channel_hold(self, channel_id: str, external_id: str, delivery_id: str | None = None) -> bool:
        """The channel cancelled an order Orderloop never started (and the cancel's delivery is
        recorded in the same write); True when an open hold was closed by it."""
        now = utc_now()

        def tx(conn: Connection) -> bool:
            result = conn.execute(
                update(channel_holds).where(*_of(channel_id, external_id), *_OPEN).values(cancelled_at=now)
            )
            if delivery_id is not None:
                conn.execute(
                    self._statements.record_delivery,
                    {"channel_id": channel_id, "event_id": delivery_id, "received_at": now},
                )
            return bool(result.rowcount == 1)

        return await self._write(tx)

    async def channel_hold(self, channel_id: str, external_id: str) -> HoldRow | None:
        """The hold of one order, open or closed; None when the channel never held it."""

        def tx(conn: Connection) -> HoldRow | None:
            return self._hold(conn, channel_id, external_id)

        return await self._read(tx)

    async def list_channel_holds(
        self, channel_id: str | None = None, state: HoldState | None = HoldState.HELD, limit: int = 100
    ) -> list[HoldRow]:
        """Holds most recently seen first, of one channel or all, in one state (None: any)."""

        def tx(conn: Connection) -> list[HoldRow]:
            query = (
                select(channel_holds)
                .order_by(channel_holds.c.last_seen_at.desc(), channel_holds.c.channel_id, channel_holds.c.external_id)
                .limit(limit)
            )
            if channel_id is not None:
                query = query.where(channel_holds.c.channel_id == channel_id)
            if state is HoldState.HELD:
                query = query.where(*_OPEN)
            elif state is HoldState.RELEASED:
                query = query.where(channel_holds.c.released_at.is_not(None))
            elif state is HoldState.CANCELLED:
                query = query.where(channel_holds.c.cancelled_at.is_not(None))
            return [HoldRow.model_validate(row._mapping) for row in conn.execute(query)]

        return await self._read(tx)

    @staticmethod
    def _hold(conn: Connection, channel_id: str, external_id: str) -> HoldRow | None:
        found = conn.execute(select(channel_holds).where(*_of(channel_id, external_id))).first()
        return HoldRow.model_validate(found._mapping) if found is not None else None
