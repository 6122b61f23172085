"""How the return workflow calls its activities: the internal steps on the orders queue, the
connector calls on their channel's queue (retried while the vendor is down, typed failures kept
for an exception), and the plain NOTIFY of the order workflow."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from orderloop.activity_models import Notification, NotificationLevel
    from orderloop.contracts.names import Activities, ReturnActivities
    from orderloop.contracts.returns import (
        CreateExpectedResult,
        PrepareInput,
        PrepareResult,
        PushReceivedInput,
        PushReceivedResult,
        RecordStatusInput,
        RestockInput,
        RestockResult,
        StartExchangeInput,
        StartExchangeResult,
    )
    from orderloop.returns_model import ExpectedReturn, ReturnExceptionKind, ReturnReceipt, ReturnRequest

from workflows.order.options import (
    CALL_TIMEOUT,
    CONNECTOR_RETRY,
    INTERNAL_RETRY,
    LOCAL_TIMEOUT,
    NOTIFY_RETRY,
    PUSH_GIVE_UP,
    failure_message,
)
from workflows.returns.state import ReturnState

ORDERS_QUEUE_TIMEOUT = timedelta(minutes=2)


async def prepare(s: ReturnState) -> PrepareResult:
    return await workflow.execute_local_activity(
        ReturnActivities.PREPARE,
        PrepareInput(
            workflow_id=s.id,
            channel_id=s.input.channel_id,
            external_id=s.input.external_id,
            raw_payload=s.input.raw_payload,
            received_at=s.input.received_at,
        ),
        result_type=PrepareResult,
        start_to_close_timeout=LOCAL_TIMEOUT,
        retry_policy=INTERNAL_RETRY,
    )


async def record_status(s: ReturnState, reason: str | None = None) -> None:
    """The ledger's record follows the workflow's status (lists and the order view read it)."""
    await workflow.execute_local_activity(
        ReturnActivities.RECORD_STATUS,
        RecordStatusInput(return_id=s.id, status=s.view.status, reason=reason),
        start_to_close_timeout=LOCAL_TIMEOUT,
        retry_policy=INTERNAL_RETRY,
    )


async def restock(s: ReturnState, receipt: ReturnReceipt, location_id: str) -> RestockResult:
    assert s.policy is not None
    return await workflow.execute_local_activity(
        ReturnActivities.RESTOCK,
        RestockInput(return_id=s.id, location_id=location_id, lines=receipt.lines, restock=s.policy.restock),
        result_type=RestockResult,
        start_to_close_timeout=LOCAL_TIMEOUT,
        retry_policy=INTERNAL_RETRY,
    )


async def create_expected(s: ReturnState, expected: ExpectedReturn) -> CreateExpectedResult:
    """Announce the return to the receiving warehouse; an error result when it refuses."""
    assert s.policy is not None and s.policy.fulfillment_task_queue is not None
    try:
        return await workflow.execute_activity(
            ReturnActivities.CREATE_EXPECTED_RETURN,
            expected,
            result_type=CreateExpectedResult,
            task_queue=s.policy.fulfillment_task_queue,
            start_to_close_timeout=CALL_TIMEOUT,
            schedule_to_close_timeout=PUSH_GIVE_UP,
            retry_policy=CONNECTOR_RETRY,
        )
    except ActivityError as err:
        return CreateExpectedResult(error=failure_message(err))


async def push_received(s: ReturnState, request: ReturnRequest, receipt: ReturnReceipt) -> PushReceivedResult:
    """Tell the selling channel the return was received (so it can refund)."""
    assert s.policy is not None
    try:
        return await workflow.execute_activity(
            ReturnActivities.PUSH_RETURN_RECEIVED,
            PushReceivedInput(request=request, receipt=receipt),
            result_type=PushReceivedResult,
            task_queue=s.policy.selling_task_queue,
            start_to_close_timeout=CALL_TIMEOUT,
            schedule_to_close_timeout=PUSH_GIVE_UP,
            retry_policy=CONNECTOR_RETRY,
        )
    except ActivityError as err:
        return PushReceivedResult(error=failure_message(err))


async def start_exchange(s: ReturnState, request: ReturnRequest, order_workflow_id: str) -> StartExchangeResult | str:
    """The replacement order's start; the failure's message when it cannot start."""
    assert s.policy is not None
    try:
        return await workflow.execute_activity(
            ReturnActivities.START_EXCHANGE,
            StartExchangeInput(request=request, return_workflow_id=s.id, order_workflow_id=order_workflow_id),
            result_type=StartExchangeResult,
            task_queue=s.policy.orders_task_queue,
            start_to_close_timeout=ORDERS_QUEUE_TIMEOUT,
            schedule_to_close_timeout=PUSH_GIVE_UP,
            retry_policy=CONNECTOR_RETRY,
        )
    except ActivityError as err:
        return failure_message(err)


async def notify(s: ReturnState, level: NotificationLevel, kind: ReturnExceptionKind, message: str) -> None:
    assert s.policy is not None
    try:
        await workflow.execute_activity(
            Activities.NOTIFY,
            Notification(
                workflow_id=s.id,
                channel_id=s.input.channel_id,
                external_id=s.input.external_id,
                level=level,
                kind=kind,
                message=message,
                at=workflow.now(),
            ),
            task_queue=s.policy.orders_task_queue,
            start_to_close_timeout=CALL_TIMEOUT,
            retry_policy=NOTIFY_RETRY,
        )
    except ActivityError as err:
        s.note("notification failed", failure_message(err))
