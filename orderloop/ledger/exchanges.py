"""The exchange log's store: every vendor call, poll and webhook with the vendor's answer
(orderloop.exchange_log writes it in batches), read back by channel, order, direction, status
and period, marked when an operator re-runs a failed push, trimmed after its retention.

Invariants: a batch is one INSERT of many rows in one transaction; rows are never changed after
they are written except for the re-run mark, which a conditional UPDATE sets once (the first
operator's re-run wins; a second finds it set)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from orderloop.exchange_records import ExchangeDirection, ExchangeEntry, ExchangeOutcome
from orderloop.ledger.base import LedgerBase, chunks, utc_now
from orderloop.ledger.schema import exchanges


class ExchangeRow(ExchangeEntry):
    id: int
    rerun_at: datetime | None = None
    rerun_by: str | None = None


class ExchangeFilter(BaseModel):
    channel_id: str | None = None
    order_id: str | None = None
    direction: ExchangeDirection | None = None
    outcome: ExchangeOutcome | None = None
    since: datetime | None = None
    until: datetime | None = None
    # Only rows with an id below this one: the next page of a newest-first listing.
    before_id: int | None = None
    limit: int = 100


def _where(f: ExchangeFilter) -> list[Any]:
    c = exchanges.c
    clauses: list[Any] = []
    for column, value in (
        (c.channel_id, f.channel_id),
        (c.order_id, f.order_id),
        (c.direction, f.direction),
        (c.outcome, f.outcome),
    ):
        if value is not None:
            clauses.append(column == str(value))
    if f.since is not None:
        clauses.append(c.at >= f.since)
    if f.until is not None:
        clauses.append(c.at < f.until)
    if f.before_id is not None:
        clauses.append(c.id < f.before_id)
    return clauses


class Exchanges(LedgerBase):
    """The exchange log's rows."""

    async def record_exchanges(self, entries: Sequence[ExchangeEntry]) -> int:
        if not entries:
            return 0
        rows = [entry.model_dump(mode="python") for entry in entries]
        for row in rows:
            row["direction"] = str(row["direction"])
            row["outcome"] = str(row["outcome"])

        def tx(conn: Connection) -> int:
            for chunk in chunks(rows, 500):
                conn.execute(insert(exchanges), list(chunk))
            return len(rows)

        return await self._write(tx)

    async def exchanges(self, wanted: ExchangeFilter) -> list[ExchangeRow]:
        """Newest first."""

        def tx(conn: Connection) -> list[ExchangeRow]:
            query = select(exchanges).where(*_where(wanted)).order_by(exchanges.c.id.desc()).limit(wanted.limit)
            return [ExchangeRow.model_validate(row._mapping) for row in conn.execute(query)]

        return await self._read(tx)

    async def exchange_counts(self, wanted: ExchangeFilter) -> dict[str, int]:
        """How many rows match, by outcome (the page's totals beside one page of rows)."""

        def tx(conn: Connection) -> dict[str, int]:
            query = (
                select(exchanges.c.outcome, func.count())
                .where(*_where(wanted.model_copy(update={"before_id": None})))
                .group_by(exchanges.c.outcome)
            )
            return {str(outcome): int(n) for outcome, n in conn.execute(query)}

        return await self._read(tx)

    async def exchange(self, exchange_id: int) -> ExchangeRow | None:
        def tx(conn: Connection) -> ExchangeRow | None:
            row = conn.execute(select(exchanges).where(exchanges.c.id == exchange_id)).first()
            return None if row is None else ExchangeRow.model_validate(row._mapping)

        return await self._read(tx)

    async def mark_exchange_rerun(self, exchange_id: int, operator: str, at: datetime | None = None) -> bool:
        """Record that `operator` re-ran this exchange; False when someone already had."""
        when = at or utc_now()

        def tx(conn: Connection) -> bool:
            result = conn.execute(
                update(exchanges)
                .where(exchanges.c.id == exchange_id, exchanges.c.rerun_at.is_(None))
                .values(rerun_at=when, rerun_by=operator)
            )
            return bool(result.rowcount == 1)

        return await self._write(tx)

    async def trim_exchanges(self, older_than: datetime) -> int:
        """Delete the rows written before `older_than`; how many went."""

        def tx(conn: Connection) -> int:
            return int(conn.execute(delete(exchanges).where(exchanges.c.at < older_than)).rowcount)

        return await self._write(tx)
