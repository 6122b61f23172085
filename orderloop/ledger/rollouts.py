"""Selling channels' go-live rollouts, and the reservation history that ranks SKUs for them.

A rollout says which SKUs a channel sells: stage `limited` (only its SKUs are accepted and
published) or `full` (every SKU). The first read of a channel without a row seeds it from the
channel's `skus` in orderloop.yaml (`limited` with those SKUs, `full` when the file names none);
from then on the database wins, so operators change it without a redeploy
(orderloop.golive, `orderloop channels golive`).

Invariants: one row per channel (the primary key; a seed racing another inserts nothing and
reads the winner's row); every change, the seed included, writes one `rollout_changes` row in
the same transaction: who, when, the stage before and after, the SKUs added and removed; a
change that changes nothing writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from orderloop.ledger.base import LedgerBase, utc_now
from orderloop.ledger.schema import channel_rollouts, events, products, published, rollout_changes, stock
from orderloop.ledger.types import CauseKind, EventKind

# Who a rollout seeded from the configuration file was changed by.
SEEDED_BY = "orderloop.yaml"


class RolloutStage(StrEnum):
    """`limited`: only the rollout's SKUs are accepted and published; `full`: every SKU."""

    LIMITED = "limited"
    FULL = "full"


class RolloutRow(BaseModel):
    channel_id: str
    stage: RolloutStage
    skus: list[str]
    updated_at: datetime
    updated_by: str

    def accepts(self, sku: str) -> bool:
        return self.stage is RolloutStage.FULL or sku in set(self.skus)

    @property
    def sku_set(self) -> set[str] | None:
        """The SKUs accepted and published; None when every SKU is (stage full)."""
        return None if self.stage is RolloutStage.FULL else set(self.skus)


class RolloutChange(BaseModel):
    channel_id: str
    at: datetime
    operator: str
    action: str
    stage_before: RolloutStage | None
    stage_after: RolloutStage
    added: list[str]
    removed: list[str]
    note: str | None = None


def _row(values: Any) -> RolloutRow:
    return RolloutRow(
        channel_id=values.channel_id,
        stage=RolloutStage(values.stage),
        skus=sorted(values.skus),
        updated_at=values.updated_at,
        updated_by=values.updated_by,
    )


class Rollouts(LedgerBase):
    """Go-live rollouts: read (seeding from the file) by allocation and inventory publication,
    changed by operators; units reserved per SKU for the velocity ranking."""

    async def channel_rollout(self, channel_id: str, seed_skus: Iterable[str] | None) -> RolloutRow:
        """The channel's rollout; without a row yet, the one seeded now from `seed_skus` (the
        configuration file's `skus`: `limited` with them, `full` for None)."""

        def read(conn: Connection) -> RolloutRow | None:
            return self._rollout(conn, channel_id)

        found = await self._read(read)
        if found is not None:
            return found
        seed = sorted(set(seed_skus)) if seed_skus is not None else None
        stage = RolloutStage.FULL if seed is None else RolloutStage.LIMITED
        now = utc_now()

        def tx(conn: Connection) -> RolloutRow:
            inserted = conn.execute(
                self._insert(channel_rollouts)
                .values(channel_id=channel_id, stage=stage, skus=seed or [], updated_at=now, updated_by=SEEDED_BY)
                .on_conflict_do_nothing(index_elements=[channel_rollouts.c.channel_id])
            )
            if inserted.rowcount == 1:
                conn.execute(
                    insert(rollout_changes).values(
                        channel_id=channel_id,
                        at=now,
                        operator=SEEDED_BY,
                        action="seed",
                        stage_before=None,
                        stage_after=stage,
                        added=seed or [],
                        removed=[],
                        note="initial value from the channel's skus in the configuration file",
                    )
                )
            row = self._rollout(conn, channel_id)
            assert row is not None  # inserted now or by the seed that won
            return row

        return await self._write(tx)

    async def change_channel_rollout(
        self,
        channel_id: str,
        stage: RolloutStage,
        skus: Iterable[str],
        operator: str,
        action: str,
        seed_skus: Iterable[str] | None,
        note: str | None = None,
    ) -> tuple[RolloutRow, RolloutChange | None]:
        """Set the channel's rollout to `stage` with `skus` (ignored for `full`, which keeps the
        SKU set it had), audited under `operator`; the rollout after it and the change recorded
        (None when nothing changed)."""
        await self.channel_rollout(channel_id, seed_skus)
        wanted = sorted(set(skus))
        now = utc_now()

        def tx(conn: Connection) -> tuple[RolloutRow, RolloutChange | None]:
            before = self._rollout(conn, channel_id)
            assert before is not None  # seeded above; rows are never deleted
            after_skus = before.skus if stage is RolloutStage.FULL else wanted
            added = sorted(set(after_skus) - set(before.skus))
            removed = sorted(set(before.skus) - set(after_skus))
            if stage is before.stage and not added and not removed:
                return before, None
            conn.execute(
                update(channel_rollouts)
                .where(channel_rollouts.c.channel_id == channel_id)
                .values(stage=stage, skus=after_skus, updated_at=now, updated_by=operator)
            )
            change = RolloutChange(
                channel_id=channel_id,
                at=now,
                operator=operator,
                action=action,
                stage_before=before.stage,
                stage_after=stage,
                added=added,
                removed=removed,
                note=note,
            )
            conn.execute(insert(rollout_changes).values(**change.model_dump()))
            # The inventory sync publishes SKUs whose availability changed: for this channel,
            # the SKUs it gained or lost changed, so they go through the outbox like any other.
            self._touch(
                conn, [*added, *removed, *self._stage_touches(conn, channel_id, before, stage, after_skus)], now
            )
            after = self._rollout(conn, channel_id)
            assert after is not None
            return after, change

        return await self._write(tx)

    async def rollout_changes(self, channel_id: str, limit: int = 100) -> list[RolloutChange]:
        """The channel's rollout changes, oldest first (the last `limit`)."""

        def tx(conn: Connection) -> list[RolloutChange]:
            rows = conn.execute(
                select(rollout_changes)
                .where(rollout_changes.c.channel_id == channel_id)
                .order_by(rollout_changes.c.id.desc())
                .limit(limit)
            ).all()
            return [
                RolloutChange(
                    channel_id=r.channel_id,
                    at=r.at,
                    operator=r.operator,
                    action=r.action,
                    stage_before=RolloutStage(r.stage_before) if r.stage_before else None,
                    stage_after=RolloutStage(r.stage_after),
                    added=list(r.added),
                    removed=list(r.removed),
                    note=r.note,
                )
                for r in reversed(rows)
            ]

        return await self._read(tx)

    async def units_reserved_since(self, since: datetime) -> dict[str, int]:
        """Units reserved for orders per SKU since `since`, from the event ledger's `reserve`
        events (every channel's orders; a bundle's as its components' units, as they are
        reserved). A reservation released later still counts: the demand was there."""

        def tx(conn: Connection) -> dict[str, int]:
            rows = conn.execute(
                select(events.c.sku, func.sum(events.c.delta))
                .where(
                    events.c.kind == EventKind.RESERVE,
                    events.c.at >= since,
                    events.c.cause_kind == CauseKind.ORDER,
                )
                .group_by(events.c.sku)
            ).all()
            return {sku: int(total) for sku, total in rows if total}

        return await self._read(tx)

    def _stage_touches(
        self, conn: Connection, channel_id: str, before: RolloutRow, stage: RolloutStage, after_skus: list[str]
    ) -> set[str]:
        """The SKUs a stage change makes publish differently beyond the listed ones: narrowing
        from full withdraws what the channel was told of outside the new set (pushed as 0);
        widening to full publishes every SKU outside the old set."""
        if before.stage is RolloutStage.FULL and stage is RolloutStage.LIMITED:
            told = conn.execute(select(published.c.sku).where(published.c.channel_id == channel_id)).scalars()
            return set(told) - set(after_skus)
        if before.stage is RolloutStage.LIMITED and stage is RolloutStage.FULL:
            every = set(conn.execute(select(products.c.sku)).scalars())
            every.update(conn.execute(select(stock.c.sku).distinct()).scalars())
            return every - set(before.skus)
        return set()

    def _rollout(self, conn: Connection, channel_id: str) -> RolloutRow | None:
        found = conn.execute(select(channel_rollouts).where(channel_rollouts.c.channel_id == channel_id)).first()
        return _row(found) if found is not None else None
