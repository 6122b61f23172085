"""The operations record on both databases: one row per key however often (or however
concurrently) a writer records it, read by channel, period and kind in time order, trimmed by age."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from orderloop.ledger import Ledger, OperationEvent, OperationKind

Uid = Callable[[str], str]
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def event(key: str, channel: str, kind: OperationKind, at: datetime, **detail: object) -> OperationEvent:
    return OperationEvent(
        key=key, channel_id=channel, kind=kind, at=at, order_id="o1", workflow_id=f"order/{channel}/o1", detail=detail
    )


async def test_a_retried_or_concurrent_writer_records_once(ledger: Ledger, uid: Uid) -> None:
    channel = uid("ch")
    events = [
        event(uid("received"), channel, OperationKind.RECEIVED, T0, units=2, revenue="19.90"),
        event(
            uid("raised"),
            channel,
            OperationKind.EXCEPTION_RAISED,
            T0 + timedelta(minutes=1),
            exceptionKind="unroutable",
        ),
    ]
    assert await ledger.record_operations(events) == 2
    assert await ledger.record_operations(events) == 0
    again = [event(uid("shipped"), channel, OperationKind.SHIPPED, T0 + timedelta(hours=1), seconds=3600.0)]
    counts = await asyncio.gather(*(ledger.record_operations(again) for _ in range(4)))
    assert sorted(counts) == [0, 0, 0, 1]
    rows = await ledger.operations_between(T0 - timedelta(days=1), channels=[channel])
    assert [r.kind for r in rows] == [OperationKind.RECEIVED, OperationKind.EXCEPTION_RAISED, OperationKind.SHIPPED]
    assert rows[0].detail == {"units": 2, "revenue": "19.90"} and rows[0].at == T0
    assert rows[2].workflow_id == f"order/{channel}/o1" and rows[2].order_id == "o1"


async def test_reads_by_channel_period_and_kind(ledger: Ledger, uid: Uid) -> None:
    ours, theirs = uid("ours"), uid("theirs")
    await ledger.record_operations(
        [
            event(uid("a"), ours, OperationKind.RECEIVED, T0 + timedelta(hours=2)),
            event(uid("b"), ours, OperationKind.OPERATOR_ACTION, T0 + timedelta(hours=1), action="retry"),
            event(uid("c"), theirs, OperationKind.RECEIVED, T0 + timedelta(hours=1)),
            event(uid("d"), ours, OperationKind.RECEIVED, T0 + timedelta(days=3)),
        ]
    )
    within = await ledger.operations_between(T0, T0 + timedelta(days=1), [ours])
    assert [(r.kind, r.at) for r in within] == [
        (OperationKind.OPERATOR_ACTION, T0 + timedelta(hours=1)),
        (OperationKind.RECEIVED, T0 + timedelta(hours=2)),
    ]
    both = await ledger.operations_between(T0, T0 + timedelta(days=1), [ours, theirs], [OperationKind.RECEIVED])
    assert [r.channel_id for r in both] == [theirs, ours]


async def test_trim_deletes_only_what_is_older_than_the_retention(ledger: Ledger, uid: Uid) -> None:
    channel = uid("trim")
    old, recent = T0 - timedelta(days=400), T0 - timedelta(days=1)
    await ledger.record_operations(
        [
            event(uid("old"), channel, OperationKind.RECEIVED, old),
            event(uid("new"), channel, OperationKind.RECEIVED, recent),
        ]
    )
    assert await ledger.trim_operations(T0 - timedelta(days=90)) >= 1
    rows = await ledger.operations_between(old - timedelta(days=1), channels=[channel])
    assert [r.at for r in rows] == [recent]


async def test_an_acceptance_with_its_way_in_writes_its_row_once(ledger: Ledger, uid: Uid) -> None:
    channel, external = uid("acc"), uid("order")
    workflow_id = f"order/{channel}/{external}"
    assert await ledger.record_accepted_order(channel, external, workflow_id, uid("delivery"), via="poll")
    assert not await ledger.record_accepted_order(channel, external, workflow_id, uid("delivery"), via="webhook")
    assert await ledger.record_accepted_order(channel, uid("quiet"), f"order/{channel}/q")  # no via: no row
    rows = await ledger.operations_between(T0 - timedelta(days=3650), channels=[channel])
    assert [(r.kind, r.order_id, r.detail) for r in rows] == [(OperationKind.ACCEPTED, external, {"via": "poll"})]
