"""The wholesale order's own steps (`Order.wholesale`, issue 21): the ship window's
ship-not-before wait (a durable timer: nothing is allocated or sent before the buyer's
`ship_after_date`), and the line decisions a channel that `confirms_allocation` is told once
the order is allocated (an EDI partner's 855, a B2B portal's line status), once per order.

Its cancel-by date is the ship-by deadline (`ExceptionSteps.arm_ship_by`), and a line that
breaks its case pack holds the order at ingest (`OrderWorkflow._ingest`). Everything here is
behind the patch `WHOLESALE_PATCH`, asked only of orders it changes (wholesale terms, case pack
violations, a channel that confirms allocations), so no recorded history gains a marker."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from orderloop.activity_models import ConfirmAllocationInput, ConfirmAllocationResult
    from orderloop.contracts import Activities, Updates
    from orderloop.model import Allocation, OrderStatus
    from orderloop.wholesale import line_decisions, ship_after

from workflows.order.fulfillment_updates import FulfillmentUpdateSteps
from workflows.order.options import ACK_GIVE_UP, CALL_TIMEOUT, CONNECTOR_RETRY, failure_message
from workflows.order.patches import wholesale_on


class WholesaleSteps(FulfillmentUpdateSteps):
    async def ship_window(self) -> None:
        """Wait until the ship window opens, taking cancels, edits (which may move the date)
        and the pre-send operator actions meanwhile, as the hold window does."""
        s = self.s
        if s.terminal or s.view.order is None:
            return
        opens = ship_after(s.order)
        if opens is None or workflow.now() >= opens or not wholesale_on(s):
            return
        s.set_phase(OrderStatus.AWAITING_SHIP_DATE)
        s.note("awaiting ship date", f"ship not before {opens:%Y-%m-%d %H:%M} UTC")
        s.mailbox.accepts = frozenset({Updates.CANCEL, Updates.AMEND_ADDRESS, Updates.REROUTE})
        try:
            while True:
                opens = ship_after(s.order)
                if opens is None or workflow.now() >= opens:
                    waiting = self._hold_interrupted()
                else:
                    waiting = await self.wait(self._hold_interrupted, opens)
                if s.cancel_reason is not None:
                    await self.close_cancelled()
                    return
                if s.edits:
                    await self.apply_edit()
                elif s.mailbox.pending is not None:
                    self._apply_pre_send_action(s.mailbox.consume())
                    s.finish_action(s.mailbox.message)
                elif not waiting:
                    break
        finally:
            s.mailbox.accepts = frozenset()
        s.note("ship window open")

    async def allocated(self, allocation: Allocation) -> None:
        """Tell the channel each line's decision after the order's first allocation (where
        the channel wants it). A channel that does not take it within `ACK_GIVE_UP` leaves a
        note: the order ships all the same."""
        s = self.s
        if not self.policy.confirms_allocation or s.allocation_confirmed:
            return
        if not wholesale_on(s):
            return
        s.allocation_confirmed = True
        decisions = line_decisions(s.order, allocation)
        try:
            result = await workflow.execute_activity(
                Activities.CONFIRM_ALLOCATION,
                ConfirmAllocationInput(order=s.order, lines=decisions),
                result_type=ConfirmAllocationResult,
                task_queue=self.policy.selling_task_queue,
                start_to_close_timeout=CALL_TIMEOUT,
                schedule_to_close_timeout=ACK_GIVE_UP,
                retry_policy=CONNECTOR_RETRY,
            )
        except ActivityError as err:
            s.note("allocation not confirmed", f"{s.input.channel_id}: {failure_message(err)}")
            return
        summary = ", ".join(f"{d.line_id} {d.status}" for d in decisions)
        s.note("allocation confirmed", f"{result.told or 'told already'} ({summary})")
