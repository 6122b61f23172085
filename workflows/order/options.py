"""How the order workflow calls its activities: retry policies, timeouts and give-up times,
chosen per kind of call (internal step, connector call, shipment poll, notification), and the
ingest call, the one step that runs before the order has a policy."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from orderloop.activity_models import IngestInput, IngestResult
    from orderloop.contracts import Activities, ErrorTypes

from workflows.order.state import OrderState

INTERNAL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
CONNECTOR_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    non_retryable_error_types=[
        ErrorTypes.SHIPPING_REQUEST_REJECTED,
        ErrorTypes.ALREADY_SHIPPED,
        ErrorTypes.CHANNEL_REJECTED,
    ],
)
NOTIFY_RETRY = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(minutes=1))
# A poll that fails is tried again at the next poll, not retried for long now.
POLL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_attempts=3)
LOCAL_TIMEOUT = timedelta(seconds=30)
CALL_TIMEOUT = timedelta(seconds=30)
# How long a vendor may stay unreachable before the order is put in an exception.
SEND_GIVE_UP = timedelta(hours=6)
PUSH_GIVE_UP = timedelta(hours=24)
# Telling the selling channel how a case it raised was resolved: tried as long as a tracking push.
REPLY_GIVE_UP = PUSH_GIVE_UP
# A channel that wants each order acknowledged (Walmart: within 4 h) and stays unreachable this
# long holds the order in ack_overdue.
ACK_GIVE_UP = timedelta(minutes=15)
# The out-of-stock re-check backs off up to this many times the channel's retry interval.
OOS_RETRY_CAP = 16


def failure_message(err: ActivityError) -> str:
    """The innermost application error's message: what the vendor said, not the wrapping."""
    cause: BaseException | None = err.cause
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = getattr(cause, "cause", None)
    return str(cause or err)


async def map_payload(state: OrderState, payload: dict[str, object]) -> IngestResult:
    """Map a raw channel payload to an order (and learn the channel's policy for it)."""
    return await workflow.execute_local_activity(
        Activities.INGEST,
        IngestInput(
            workflow_id=state.id,
            channel_id=state.input.channel_id,
            external_id=state.input.external_id,
            raw_payload=payload,
            received_at=state.input.received_at,
        ),
        result_type=IngestResult,
        start_to_close_timeout=LOCAL_TIMEOUT,
        retry_policy=INTERNAL_RETRY,
    )
