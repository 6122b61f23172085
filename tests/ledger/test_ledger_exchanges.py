"""The exchange log's store on SQLite and PostgreSQL: batches written, read back by each filter
newest first, counted by outcome, re-run marked once, trimmed by age."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from orderloop.ledger import (
    ExchangeDirection,
    ExchangeEntry,
    ExchangeFilter,
    ExchangeOutcome,
    Ledger,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


def entry(channel: str, **fields: object) -> ExchangeEntry:
    values: dict[str, object] = {
        "at": datetime.now(UTC),
        "direction": ExchangeDirection.OUTBOUND,
        "channel_id": channel,
        "operation": "push_tracking",
        "summary": "create fulfillment",
        "outcome": ExchangeOutcome.OK,
        "status_code": 201,
        "duration_ms": 12,
    }
    values.update(fields)
    return ExchangeEntry.model_validate(values)


async def test_exchanges_filter_by_channel_order_direction_outcome_and_period(
    ledger: Ledger, uid: Callable[[str], str]
) -> None:
    channel, other = uid("shop"), uid("3pl")
    order = f"order/{channel}/1001"
    old = datetime.now(UTC) - timedelta(days=3)
    written = await ledger.record_exchanges(
        [
            entry(channel, order_id=order),
            entry(channel, order_id=order, outcome=ExchangeOutcome.FAILED, status_code=422, attempt=2, error="no"),
            entry(channel, direction=ExchangeDirection.INBOUND, operation="webhook", status_code=202),
            entry(channel, at=old),
            entry(other, order_id=order),
        ]
    )
    assert written == 5

    mine = await ledger.exchanges(ExchangeFilter(channel_id=channel))
    assert len(mine) == 4
    assert [row.id for row in mine] == sorted((row.id for row in mine), reverse=True)

    failed = await ledger.exchanges(ExchangeFilter(channel_id=channel, outcome=ExchangeOutcome.FAILED))
    assert [(row.status_code, row.attempt, row.error) for row in failed] == [(422, 2, "no")]

    inbound = await ledger.exchanges(ExchangeFilter(channel_id=channel, direction=ExchangeDirection.INBOUND))
    assert [row.operation for row in inbound] == ["webhook"]

    of_order = await ledger.exchanges(ExchangeFilter(order_id=order))
    assert {row.channel_id for row in of_order} == {channel, other}

    recent = await ledger.exchanges(ExchangeFilter(channel_id=channel, since=datetime.now(UTC) - timedelta(days=1)))
    assert len(recent) == 3
    before = await ledger.exchanges(ExchangeFilter(channel_id=channel, until=datetime.now(UTC) - timedelta(days=1)))
    assert [row.at for row in before] == [old]

    page = await ledger.exchanges(ExchangeFilter(channel_id=channel, limit=2))
    rest = await ledger.exchanges(ExchangeFilter(channel_id=channel, before_id=page[-1].id))
    assert len(page) == 2 and len(rest) == 2 and {r.id for r in page}.isdisjoint(r.id for r in rest)

    counts = await ledger.exchange_counts(ExchangeFilter(channel_id=channel, before_id=page[-1].id))
    assert counts == {"ok": 3, "failed": 1}


async def test_a_rerun_is_marked_once(ledger: Ledger, uid: Callable[[str], str]) -> None:
    channel = uid("shop")
    await ledger.record_exchanges([entry(channel, outcome=ExchangeOutcome.FAILED, status_code=422)])
    (row,) = await ledger.exchanges(ExchangeFilter(channel_id=channel))
    assert await ledger.mark_exchange_rerun(row.id, "ann") is True
    assert await ledger.mark_exchange_rerun(row.id, "bob") is False
    again = await ledger.exchange(row.id)
    assert again is not None and again.rerun_by == "ann" and again.rerun_at is not None
    assert await ledger.exchange(row.id + 10_000_000) is None


async def test_trim_deletes_only_rows_older_than_the_cut(ledger: Ledger, uid: Callable[[str], str]) -> None:
    channel = uid("shop")
    now = datetime.now(UTC)
    await ledger.record_exchanges([entry(channel, at=now - timedelta(days=40)), entry(channel, at=now)])
    trimmed = await ledger.trim_exchanges(now - timedelta(days=30))
    assert trimmed >= 1
    left = await ledger.exchanges(ExchangeFilter(channel_id=channel))
    assert [row.at for row in left] == [now]
