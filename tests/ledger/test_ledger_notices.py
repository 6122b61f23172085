"""The notice outbox and its sender, on both databases: a notice is queued once per event and
sink however often the notify activity runs; the sender batches a sink's notices of one kind
within the window into one delivery, retries a failing sink with a doubling backoff, then
dead-letters it, and a resend queues a dead letter again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from connectors.notice_sinks.errors import DeliveryError
from connectors.notice_sinks.model import Notice, NoticeBatch
from connectors.notice_sinks.sender import NoticeSender
from orderloop.config import NoticeDelivery, NotificationConfig, SlackSink
from orderloop.ledger import Ledger, NoticeStatus, QueuedNotice

Uid = Callable[[str], str]


class RecordingSink:
    def __init__(self, name: str, failures: int = 0) -> None:
        self.name = name
        self.failures = failures
        self.batches: list[NoticeBatch] = []

    async def deliver(self, batch: NoticeBatch) -> None:
        if self.failures:
            self.failures -= 1
            raise DeliveryError("http://hooks.test answered 500: down")
        self.batches.append(batch)


def queued(sink: str, order: str, kind: str = "out_of_stock", level: str = "exception") -> QueuedNotice:
    workflow_id = f"order/shop/{order}"
    notice = Notice(
        event_id=f"{workflow_id}#0.0.{level}.1",
        workflow_id=workflow_id,
        channel_id="shop",
        external_id=order,
        level=level,
        kind=kind,
        message="no stock of POSTER",
        at=datetime.now(UTC),
        audience="warehouse",
        link=f"http://ui.test/namespaces/default/workflows/{order}",
    )
    return QueuedNotice(
        event_id=notice.event_id,
        sink=sink,
        audience="warehouse",
        workflow_id=workflow_id,
        channel_id="shop",
        kind=kind,
        level=level,
        body=notice.model_dump_json(),
    )


def sender_for(ledger: Ledger, sink: RecordingSink, **delivery: object) -> NoticeSender:
    config = NotificationConfig(
        sinks={sink.name: SlackSink(type="slack", url="http://hooks.test/slack")},
        delivery=NoticeDelivery.model_validate({"batch_window": 0, "backoff": 0, **delivery}),
    )
    sender = NoticeSender(ledger, config)
    sender.sinks = {sink.name: sink}
    return sender


async def test_a_notice_is_queued_once_however_often_its_activity_runs(ledger: Ledger, uid: Uid) -> None:
    sink = uid("ops")
    assert await ledger.queue_notices([queued(sink, uid("1")), queued(uid("other"), uid("1"))]) == 2
    again = queued(sink, "same")
    assert await ledger.queue_notices([again]) == 1
    assert await ledger.queue_notices([again]) == 0


async def test_a_burst_of_one_kind_goes_out_as_one_batch_per_sink(ledger: Ledger, uid: Uid) -> None:
    sink = RecordingSink(uid("ops"))
    orders = [uid(f"o{i}") for i in range(50)]
    await ledger.queue_notices([queued(sink.name, order) for order in orders])
    await ledger.queue_notices([queued(sink.name, uid("late"), kind="unknown_sku")])
    sender = sender_for(ledger, sink, batch_window=60)
    # Inside the window nothing goes out yet: more orders may join the batch.
    assert await sender.deliver_due() == 0 and sink.batches == []
    await sender.deliver_due(datetime.now(UTC) + timedelta(seconds=61))
    by_kind = {batch.kind: batch for batch in sink.batches}
    assert sorted(by_kind) == ["out_of_stock", "unknown_sku"]
    assert sorted(n.external_id for n in by_kind["out_of_stock"].notices) == sorted(orders)
    assert by_kind["out_of_stock"].event_id.startswith("batch-")
    delivered = [r for r in await ledger.list_notices(NoticeStatus.DELIVERED, 1000) if r.sink == sink.name]
    assert len(delivered) == 51
    # Delivered once: the next pass finds nothing.
    assert await sender.deliver_due(datetime.now(UTC) + timedelta(seconds=61)) == 0


async def test_a_failing_sink_is_retried_then_dead_lettered_and_resent(ledger: Ledger, uid: Uid) -> None:
    sink = RecordingSink(uid("hook"), failures=3)
    await ledger.queue_notices([queued(sink.name, uid("1")), queued(sink.name, uid("2"))])
    sender = sender_for(ledger, sink, attempts=3)
    for _ in range(3):
        assert await sender.deliver_due() == 0
    rows = [r for r in await ledger.list_notices(None, 1000) if r.sink == sink.name]
    assert {(r.status, r.attempts) for r in rows} == {(NoticeStatus.DEAD, 3)}
    assert all("answered 500" in (r.last_error or "") for r in rows)
    assert await sender.deliver_due() == 0, "a dead letter is not retried on its own"
    for row in rows:
        resent = await ledger.resend_notice(row.id)
        assert resent is not None and resent.status is NoticeStatus.PENDING
    assert await sender.deliver_due() == 1
    assert [len(b.notices) for b in sink.batches] == [2]
    assert await ledger.resend_notice(10**9) is None


async def test_a_retry_waits_its_backoff(ledger: Ledger, uid: Uid) -> None:
    sink = RecordingSink(uid("hook"), failures=1)
    await ledger.queue_notices([queued(sink.name, uid("1"))])
    sender = sender_for(ledger, sink, backoff=30)
    assert await sender.deliver_due() == 0
    assert await sender.deliver_due() == 0, "retried before its backoff"
    assert await sender.deliver_due(datetime.now(UTC) + timedelta(seconds=31)) == 1
