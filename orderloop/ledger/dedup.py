"""Inbound dedup: the accepted orders `(channel, external id)`, the webhook deliveries already
processed, and the cursors of order polls, kept in the ledger so duplicate protection outlives
Temporal's retention.

Invariants: an order is accepted once per channel and external id, a delivery id is recorded
once per channel (the first writer wins, by primary key and ON CONFLICT DO NOTHING); an order
accepted with its delivery records both in one transaction, and releases the channel's hold of
it (`orderloop.ledger.holds`) in that transaction too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from orderloop.ledger.base import LedgerBase, utc_now
from orderloop.ledger.schema import poll_cursors
from orderloop.ledger.statements import ACCEPTED_AT, ACCEPTED_ORDER, DELIVERY_SEEN, RELEASE_HOLD
from orderloop.ledger.types import InboundSeen


class InboundDedup(LedgerBase):
    """What came in already: accepted orders, processed deliveries, poll cursors."""

    async def record_accepted_order(
        self,
        channel_id: str,
        external_id: str,
        workflow_id: str,
        delivery_id: str | None = None,
        via: str | None = None,
    ) -> bool:
        """Remember an accepted order, and the webhook delivery that brought it in the same
        transaction (one write for the gateway, not two), releasing the channel's hold of the
        order if it held it; True the first time, False for a duplicate order. With `via` (how
        it came: webhook or poll), a new order's `accepted` row of the operations record is
        written in that transaction too."""

        def tx(conn: Connection) -> bool:
            now = utc_now()
            result = conn.execute(
                self._statements.accept_order,
                {"channel_id": channel_id, "external_id": external_id, "workflow_id": workflow_id, "accepted_at": now},
            )
            conn.execute(RELEASE_HOLD, {"hold_channel": channel_id, "hold_order": external_id, "at": now})
            if delivery_id is not None:
                self._record_delivery(conn, channel_id, delivery_id)
            new = result.rowcount == 1
            if new and via is not None:
                row = {
                    "key": f"{workflow_id}/accepted",
                    "channel_id": channel_id,
                    "order_id": external_id,
                    "workflow_id": workflow_id,
                    "kind": "accepted",
                    "at": now,
                    "detail": {"via": via},
                }
                self._record_operation_rows(conn, [row])
            return bool(new)

        return await self._write(tx)

    async def accepted_order(self, channel_id: str, external_id: str) -> str | None:
        """The workflow id an order was accepted under, or None."""

        def tx(conn: Connection) -> str | None:
            found = conn.execute(ACCEPTED_ORDER, {"channel_id": channel_id, "external_id": external_id})
            return found.scalar()

        return await self._read(tx)

    async def accepted_at(self, channel_id: str, external_id: str) -> datetime | None:
        """When the intake accepted an order (just after its `received_at`), or None."""

        def tx(conn: Connection) -> datetime | None:
            found: datetime | None = conn.execute(
                ACCEPTED_AT, {"channel_id": channel_id, "external_id": external_id}
            ).scalar()
            return found

        return await self._read(tx)

    async def record_delivery(self, channel_id: str, event_id: str) -> bool:
        """Remember a vendor's webhook delivery id; True the first time it is seen."""

        def tx(conn: Connection) -> bool:
            return self._record_delivery(conn, channel_id, event_id)

        return await self._write(tx)

    def _record_delivery(self, conn: Connection, channel_id: str, event_id: str) -> bool:
        result = conn.execute(
            self._statements.record_delivery, {"channel_id": channel_id, "event_id": event_id, "received_at": utc_now()}
        )
        return bool(result.rowcount == 1)

    async def delivery_seen(self, channel_id: str, event_id: str) -> bool:
        """Whether a vendor's webhook delivery id was recorded (processed) before."""
        return (await self.inbound_seen(channel_id, event_id, None)).delivery

    async def inbound_seen(self, channel_id: str, event_id: str | None, external_id: str | None) -> InboundSeen:
        """In one read: whether the delivery `event_id` was processed before, and the workflow id
        the order `external_id` was accepted under (each only when given)."""

        def tx(conn: Connection) -> InboundSeen:
            delivery = accepted = None
            if event_id is not None:
                delivery = conn.execute(DELIVERY_SEEN, {"channel_id": channel_id, "event_id": event_id}).scalar()
            if external_id is not None:
                accepted = conn.execute(ACCEPTED_ORDER, {"channel_id": channel_id, "external_id": external_id}).scalar()
            return InboundSeen(delivery=delivery is not None, accepted_workflow_id=accepted)

        return await self._read(tx)

    async def poll_cursor(self, channel_id: str) -> datetime | None:
        """Until when a channel's orders were last polled successfully (None: never)."""

        def tx(conn: Connection) -> datetime | None:
            return (
                conn.execute(select(poll_cursors.c.polled_until).where(poll_cursors.c.channel_id == channel_id))
            ).scalar()

        return await self._read(tx)

    async def save_poll_cursor(self, channel_id: str, polled_until: datetime) -> None:
        def tx(conn: Connection) -> None:
            statement = self._insert(poll_cursors).values(
                channel_id=channel_id, polled_until=polled_until, updated_at=utc_now()
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[poll_cursors.c.channel_id],
                    set_={"polled_until": statement.excluded.polled_until, "updated_at": statement.excluded.updated_at},
                )
            )

        return await self._write(tx)
