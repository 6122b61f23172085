"""The order acknowledges itself to a selling channel that wants each accepted order
acknowledged (`OrderPolicy.acknowledge_within`: Walmart's purchase orders, within 4 hours of the
order): once mapped, before anything is routed (orders of revision 5 on). A channel that refuses
it, or stays unreachable for `ACK_GIVE_UP`, holds the order in the channel exception
`ack_overdue`, due by the channel's window: `retry` acknowledges again, `cancel` cancels, a
playbook rule may act."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from orderloop.activity_models import AcknowledgeInput, AcknowledgeResult
    from orderloop.contracts import ACKNOWLEDGE_REVISION, Activities, ChannelException, Updates
    from orderloop.model import ExceptionKind

from workflows.order.options import ACK_GIVE_UP, CALL_TIMEOUT, CONNECTOR_RETRY, failure_message
from workflows.order.sending import SendingSteps
from workflows.order.state import Woke

# The case an order raises when its channel did not take the acknowledgement.
ACK_OVERDUE = "ack_overdue"


class AcknowledgeSteps(SendingSteps):
    async def acknowledge(self) -> None:
        """Acknowledge the mapped order where the channel wants it (module docstring)."""
        s = self.s
        within = self.policy.acknowledge_within
        if s.input.revision < ACKNOWLEDGE_REVISION or within is None:
            return
        deadline = s.order.created_at + within
        while not s.terminal:
            try:
                result = await workflow.execute_activity(
                    Activities.ACKNOWLEDGE_ON_CHANNEL,
                    AcknowledgeInput(order=s.order),
                    result_type=AcknowledgeResult,
                    task_queue=self.policy.selling_task_queue,
                    start_to_close_timeout=CALL_TIMEOUT,
                    schedule_to_close_timeout=ACK_GIVE_UP,
                    retry_policy=CONNECTOR_RETRY,
                )
            except ActivityError as err:
                reason = failure_message(err)
                case = ChannelException(
                    kind=ACK_OVERDUE,
                    message=f"{s.input.channel_id} did not take the order's acknowledgement: {reason}",
                    deadline=deadline,
                    detail={"acknowledgeBy": deadline.isoformat()},
                )
                woke = await self.hold_for(
                    ExceptionKind.CHANNEL_EXCEPTION, case.message, accepts={Updates.RETRY}, channel=case
                )
                if woke is Woke.CANCEL:
                    await self.close_cancelled()
                    return
                if woke is Woke.ACTION:
                    action = s.mailbox.consume()
                    s.note(f"operator {action.name}", f"{getattr(action.request, 'operator', '')}: acknowledging again")
                continue
            s.note("acknowledged", result.told or f"{s.input.channel_id} had it already")
            self.resolve_open("acknowledged", only=(ExceptionKind.CHANNEL_EXCEPTION,))
            return
