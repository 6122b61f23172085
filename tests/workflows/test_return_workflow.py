"""The return workflow on the time-skipping server: authorised by policy or by an operator,
announced to the warehouse, received with each unit's condition, the channel told once; the
not-received timer, a receipt that does not match, exchanges, unknown orders, duplicates."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from orderloop.activity_models import NotificationLevel
from orderloop.contracts.names import (
    Activities,
    ErrorTypes,
    ReturnActivities,
    ReturnQueries,
    ReturnSignals,
    ReturnUpdates,
)
from orderloop.contracts.returns import (
    AuthoriseReturnRequest,
    CloseReturnRequest,
    ReceiveReturnRequest,
    RejectReturnRequest,
    ReturnUpdateResult,
)
from orderloop.return_policy import ExchangeOn, NotReceivedAction
from orderloop.returns_model import (
    ReceivedUnits,
    ReturnCondition,
    ReturnExceptionKind,
    ReturnProgress,
    ReturnProgressKind,
    ReturnReceipt,
    ReturnStatus,
    ReturnView,
)
from tests.workflows.helpers import until_notified
from tests.workflows.return_fakes import ReturnWorld

pytestmark = pytest.mark.asyncio

Return = WorkflowHandle[Any, ReturnView]


async def view_of(handle: Return) -> ReturnView:
    return await handle.query(ReturnQueries.STATUS, result_type=ReturnView)


async def wait_for(handle: Return, predicate: Callable[[ReturnView], bool], what: str) -> ReturnView:
    for _ in range(200):
        view = await view_of(handle)
        if predicate(view):
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"return never reached: {what}; last status {view.status}, timeline {view.timeline}")


def in_exception(kind: ReturnExceptionKind) -> Callable[[ReturnView], bool]:
    """In the exception and waiting for an operator (its notice sent, its actions open)."""
    return lambda v: v.open_exception is not None and v.open_exception.kind is kind and bool(v.actions)


def status_is(status: ReturnStatus) -> Callable[[ReturnView], bool]:
    """In `status`, and waiting there (for an operator or a message) when it is not an end."""
    return lambda v: v.status is status and (status.terminal or bool(v.actions))


async def update(handle: Return, name: str, request: Any) -> ReturnUpdateResult:
    return await handle.execute_update(name, request, result_type=ReturnUpdateResult)


async def refused(handle: Return, name: str, request: Any) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await update(handle, name, request)
    assert isinstance(info.value.cause, ApplicationError) and info.value.cause.non_retryable
    return info.value.cause


def receipt(return_id: str, *units: tuple[str, int, ReturnCondition], event_id: str | None = "rcpt-1") -> ReturnReceipt:
    return ReturnReceipt(
        return_id=return_id,
        lines=[ReceivedUnits(sku=sku, quantity=qty, condition=condition) for sku, qty, condition in units],
        location_id="east",
        received_at=datetime(2026, 12, 3, tzinfo=UTC),
        event_id=event_id,
    )


ONE_SELLABLE_ONE_DAMAGED = (("TSHIRT", 1, ReturnCondition.SELLABLE), ("TSHIRT", 1, ReturnCondition.DAMAGED))


async def test_an_authorised_return_is_received_restocked_and_the_channel_told_once(
    ts_env: WorkflowEnvironment, return_world: ReturnWorld
) -> None:
    world = return_world
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, "R-100", [("1", "TSHIRT", 2)])
        view = await wait_for(handle, status_is(ReturnStatus.LABEL_ISSUED), "label issued")
        assert view.authorised_by == "the channel's return policy"
        assert view.label is not None and view.label.tracking_number == "1ZRET001"
        (expected,) = world.of(ReturnActivities.CREATE_EXPECTED_RETURN)
        assert (expected.return_id, expected.location_id) == (handle.id, "east")
        await handle.signal(
            ReturnSignals.PROGRESS,
            ReturnProgress(return_id=handle.id, kind=ReturnProgressKind.IN_TRANSIT, event_id="t-1"),
        )
        await wait_for(handle, status_is(ReturnStatus.IN_TRANSIT), "in transit")
        await handle.signal(ReturnSignals.RECEIPT, receipt(handle.id, *ONE_SELLABLE_ONE_DAMAGED))
        await handle.signal(ReturnSignals.RECEIPT, receipt(handle.id, *ONE_SELLABLE_ONE_DAMAGED))
        view = await handle.result()
    assert view.status is ReturnStatus.CLOSED and view.closed_at is not None
    assert (view.restocked, view.non_sellable) == ({"TSHIRT": 1}, {"TSHIRT": 1})
    (restock,) = world.of(ReturnActivities.RESTOCK)
    assert restock.location_id == "east"
    assert {(u.condition, u.quantity) for u in restock.lines} == {("sellable", 1), ("damaged", 1)}
    (pushed,) = world.of(ReturnActivities.PUSH_RETURN_RECEIVED)
    assert pushed.request.id == handle.id and pushed.receipt.quantities() == {"TSHIRT": 2}
    assert view.refund_pushed_at is not None
    statuses = [r.status for r in world.of(ReturnActivities.RECORD_STATUS)]
    assert statuses[0] == "authorised" and statuses[-1] == "closed"


async def test_the_same_request_delivered_twice_starts_one_return(
    ts_env: WorkflowEnvironment, return_world: ReturnWorld
) -> None:
    world = return_world.configure(auto_authorise=False)
    async with world.worker(ts_env.client):
        first = await world.start(ts_env.client, "R-101", [("1", "TSHIRT", 1)])
        second = await world.start(ts_env.client, "R-101", [("1", "TSHIRT", 1)])
        assert second.result_run_id == first.result_run_id
        await wait_for(first, status_is(ReturnStatus.REQUESTED), "requested")
        assert len(world.of(ReturnActivities.PREPARE)) == 1
        await update(first, ReturnUpdates.REJECT, RejectReturnRequest(operator="sam", reason="worn"))
        await first.result()


async def test_review_waits_for_an_operator_who_authorises_or_rejects(
    ts_env: WorkflowEnvironment, return_world: ReturnWorld
) -> None:
    world = return_world.configure(auto_authorise=False)
    async with world.worker(ts_env.client):
        kept = await world.start(ts_env.client, "R-102", [("1", "TSHIRT", 1)])
        view = await wait_for(kept, status_is(ReturnStatus.REQUESTED), "requested")
        assert view.actions == ["authorise", "close", "reject"]
        assert world.of(ReturnActivities.CREATE_EXPECTED_RETURN) == []
        error = await refused(
            kept,
            ReturnUpdates.RECEIVE,
            ReceiveReturnRequest(lines=[ReceivedUnits(sku="TSHIRT", quantity=1, condition="sellable")]),
        )
        assert error.type == ErrorTypes.ACTION_NOT_APPLICABLE
        assert "cannot receive while the return is requested; possible now: authorise, close, reject" in error.message
        result = await update(kept, ReturnUpdates.AUTHORISE, AuthoriseReturnRequest(operator="sam"))
        assert result.view.authorised_by == "sam" and result.view.status is ReturnStatus.LABEL_ISSUED
        assert len(world.of(ReturnActivities.CREATE_EXPECTED_RETURN)) == 1

        dropped = await world.start(ts_env.client, "R-103", [("1", "TSHIRT", 1)])
        await wait_for(dropped, status_is(ReturnStatus.REQUESTED), "requested")
        result = await update(
            dropped, ReturnUpdates.REJECT, RejectReturnRequest(operator="sam", reason="outside the window")
        )
        assert result.view.status is ReturnStatus.REJECTED and result.view.decline_reason == "outside the window"
        error = await refused(kept, ReturnUpdates.AUTHORISE, AuthoriseReturnRequest())
        assert "possible now: close, receive" in error.message
        await update(kept, ReturnUpdates.CLOSE, CloseReturnRequest(operator="sam", reason="customer kept it"))
        view = await kept.result()
        assert (await dropped.result()).status is ReturnStatus.REJECTED
    assert view.status is ReturnStatus.CLOSED and world.of(ReturnActivities.PUSH_RETURN_RECEIVED) == []
    rejected = [r for r in world.of(ReturnActivities.RECORD_STATUS) if r.return_id == dropped.id]
    assert rejected[-1].status == "rejected" and rejected[-1].reason == "outside the window"


async def test_a_return_refused_by_the_ledger_is_rejected_with_the_reason(
    ts_env: WorkflowEnvironment, return_world: ReturnWorld
) -> None:
    reason = "cannot return beyond what shipped: order line 1 (TSHIRT): 3 to return but 2 shipped"
    world = return_world.configure(refusal=reason)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, "R-104", [("1", "TSHIRT", 3)])
        view = await handle.result()
    assert view.status is ReturnStatus.REJECTED and view.decline_reason == reason
    assert world.of(ReturnActivities.CREATE_EXPECTED_RETURN) == []


async def test_not_received_in_time_notifies_then_keeps_waiting_and_a_late_receipt_closes(
    ts_env: WorkflowEnvironment, return_world: ReturnWorld
) -> None:
    world = return_world.configure(not_received_after=timedelta(days=14))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, "R-105", [("1", "TSHIRT", 1)])
        await wait_for(handle, status_is(ReturnStatus.LABEL_ISSUED), "label issued")
        await ts_env.sleep(timedelta(days=13))
        assert (await view_of(handle)).status is ReturnStatus.LABEL_ISSUED
        await ts_env.sleep(timedelta(days=1, hours=1))
        view = await wait_for(handle, in_exception(ReturnExceptionKind.NOT_RECEIVED), "not received")
        assert view.open_exception is not None and "within 14 days" in view.open_exception.message
        await until_notified(world, 1, "not received notified", lambda n: n.kind is ReturnExceptionKind.NOT_RECEIVED)
        notes = [n for n in world.of(Activities.NOTIFY) if n.kind is ReturnExceptionKind.NOT_RECEIVED]
        assert [n.level for n in notes] == [NotificationLevel.EXCEPTION]
        await handle.signal(ReturnSignals.RECEIPT, receipt(handle.id, ("TSHIRT", 1, ReturnCondition.SELLABLE)))
        view = await handle.result()
    assert view.status is ReturnStatus.CLOSED and view.exceptions[0].resolution == "received at the warehouse"
    assert len(world.of(ReturnActivities.PUSH_RETURN_RECEIVED)) == 1


async def test_not_received_in_time_closes_when_the_policy_says_so(
    ts_env: WorkflowEnvironment, return_world: ReturnWorld
) -> None:
    world = return_world.configure(not_received_after=timedelta(days=7), not_received_action=NotReceivedAction.CLOSE)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, "R-106", [("1", "TSHIRT", 1)])
        await wait_for(handle, status_is(ReturnStatus.LABEL_ISSUED), "label issued")
        await ts_env.sleep(timedelta(days=8))
        view = await handle.result()
    assert view.status is ReturnStatus.CLOSED
    assert view.exceptions[0].kind is ReturnExceptionKind.NOT_RECEIVED
    assert view.exceptions[0].resolution == "closed by the return policy"
    assert world.of(ReturnActivities.RESTOCK) == [] and world.of(ReturnActivities.PUSH_RETURN_RECEIVED) == []
    assert [n.kind for n in world.of(Activities.NOTIFY)] == [ReturnExceptionKind.NOT_RECEIVED]


async def test_a_receipt_that_does_not_match_is_an_exception_until_an_operator_receives(
    ts_env: WorkflowEnvironment, return_world: ReturnWorld
) -> None:
    world = return_world
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, "R-107", [("1", "TSHIRT", 2)])
        await wait_for(handle, status_is(ReturnStatus.LABEL_ISSUED), "label issued")
        wrong = receipt(handle.id, ("TSHIRT", 1, ReturnCondition.SELLABLE), ("MUG", 1, ReturnCondition.SELLABLE))
        await handle.signal(ReturnSignals.RECEIPT, wrong)
        view = await wait_for(handle, in_exception(ReturnExceptionKind.RECEIPT_MISMATCH), "mismatch")
        assert view.open_exception is not None
        assert view.open_exception.message == (
            "the receipt does not match the authorisation: 1 MUG received, which the return does not name; "
            "1 of 2 TSHIRT received"
        )
        assert world.of(ReturnActivities.RESTOCK) == []
        await until_notified(world, 1, "the mismatch notified")
        assert [n.kind for n in world.of(Activities.NOTIFY)] == [ReturnExceptionKind.RECEIPT_MISMATCH]
        corrected = ReceiveReturnRequest(
            operator="sam",
            lines=[
                ReceivedUnits(sku="TSHIRT", quantity=1, condition=ReturnCondition.SELLABLE),
                ReceivedUnits(sku="TSHIRT", quantity=1, condition=ReturnCondition.MISSING),
            ],
        )
        answered = await update(handle, ReturnUpdates.RECEIVE, corrected)
        # The operator is answered once the receipt played out: restocked, channel told, closed.
        assert answered.view.status is ReturnStatus.CLOSED and answered.message == "return is closed"
        view = await handle.result()
    assert view.status is ReturnStatus.CLOSED and view.exceptions[0].resolution == "received by sam"
    (restock,) = world.of(ReturnActivities.RESTOCK)
    assert {(u.sku, u.condition) for u in restock.lines} == {("TSHIRT", "sellable"), ("TSHIRT", "missing")}
    assert view.restocked == {"TSHIRT": 1}
    assert len(world.of(ReturnActivities.PUSH_RETURN_RECEIVED)) == 1


@pytest.mark.parametrize("on", [ExchangeOn.AUTHORISED, ExchangeOn.RECEIVED])
async def test_an_exchange_starts_its_replacement_order_once_by_policy(
    ts_env: WorkflowEnvironment, return_world: ReturnWorld, on: ExchangeOn
) -> None:
    world = return_world.configure(exchange_on=on)
    async with world.worker(ts_env.client):
        handle = await world.start(
            ts_env.client,
            f"R-108-{on}",
            [("1", "TSHIRT-M", 1)],
            outcome="exchange",
            exchangeLineItems=[{"sku": "TSHIRT-L", "quantity": 1}],
        )
        view = await wait_for(handle, status_is(ReturnStatus.LABEL_ISSUED), "label issued")
        started = world.of(ReturnActivities.START_EXCHANGE)
        assert len(started) == (1 if on is ExchangeOn.AUTHORISED else 0)
        await handle.signal(ReturnSignals.RECEIPT, receipt(handle.id, ("TSHIRT-M", 1, ReturnCondition.SELLABLE)))
        view = await handle.result()
    (start,) = world.of(ReturnActivities.START_EXCHANGE)
    assert (start.return_workflow_id, start.order_workflow_id) == (handle.id, "order/storefront/1001")
    exchange_order = f"order/storefront/exchange-R-108-{on}-{world.task_queue}"
    assert view.exchange_order_id == exchange_order
    assert view.request is not None and view.request.exchange_line_items[0].exchange_order_id == exchange_order


async def test_a_return_for_an_order_never_seen_is_kept_in_an_exception(
    ts_env: WorkflowEnvironment, return_world: ReturnWorld
) -> None:
    world = return_world.configure(order_known=False)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, "R-109", [("1", "TSHIRT", 1)])
        view = await wait_for(handle, in_exception(ReturnExceptionKind.UNKNOWN_ORDER), "unknown order")
        assert view.order_workflow_id is None and view.open_exception is not None
        assert "order 1001, which Orderloop never received" in view.open_exception.message
        await until_notified(world, 1, "the unknown order notified")
        assert [n.kind for n in world.of(Activities.NOTIFY)] == [ReturnExceptionKind.UNKNOWN_ORDER]
        error = await refused(
            handle,
            ReturnUpdates.RECEIVE,
            ReceiveReturnRequest(lines=[ReceivedUnits(sku="TSHIRT", quantity=1, condition="sellable")]),
        )
        assert "possible now: authorise, close, reject" in error.message
        # Nobody resolves it within the channel's escalation delay: notified again, once.
        await ts_env.sleep(timedelta(hours=4, minutes=1))
        view = await wait_for(
            handle, lambda v: v.exceptions[0].escalated_at is not None and bool(v.actions), "escalated"
        )
        await ts_env.sleep(timedelta(hours=9))
        await until_notified(world, 2, "the exception and its escalation notified")
        levels = [n.level for n in world.of(Activities.NOTIFY)]
        assert levels == [NotificationLevel.EXCEPTION, NotificationLevel.ESCALATION]
        await update(handle, ReturnUpdates.REJECT, RejectReturnRequest(operator="sam", reason="not our order"))
        view = await handle.result()
    assert view.status is ReturnStatus.REJECTED and view.exceptions[0].resolution == "rejected by sam"
    assert [r.status for r in world.of(ReturnActivities.RECORD_STATUS)] == ["exception", "rejected"]


async def test_a_return_cancelled_at_the_channel_ends_cancelled(
    ts_env: WorkflowEnvironment, return_world: ReturnWorld
) -> None:
    world = return_world.configure(auto_authorise=False)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, "R-110", [("1", "TSHIRT", 1)])
        await wait_for(handle, status_is(ReturnStatus.REQUESTED), "requested")
        await handle.signal(
            ReturnSignals.PROGRESS,
            ReturnProgress(
                return_id=handle.id, kind=ReturnProgressKind.CANCELLED, reason="customer changed their mind"
            ),
        )
        view = await handle.result()
    assert view.status is ReturnStatus.CANCELLED and view.decline_reason == "customer changed their mind"
    assert world.of(ReturnActivities.RECORD_STATUS)[-1].status == "cancelled"
