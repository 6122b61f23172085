"""A channel's edit after the order was released (the edit_after_release exception): the
operator re-sends the edited order (`reroute`: the live requests are cancelled at their
fulfillment channel, their stock released, the edited order allocated and sent) or keeps the
order as sent (`retry`). Cancelling the whole order is the ordinary `cancel`."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from orderloop.model import ExceptionKind, ShippingRequestState

from workflows.order import bookkeeping
from workflows.order.acknowledge import AcknowledgeSteps
from workflows.order.options import failure_message


class EditSteps(AcknowledgeSteps):
    async def resend_edited(self, location_id: str) -> None:
        """Cancel what the fulfillment channels hold and send the edited order to `location_id`;
        when a channel does not cancel, the edit stays unapplied and the exception open."""
        s = self.s
        assert s.released_edit is not None
        edit, order = s.released_edit
        refused: list[str] = []
        cancelled: list[str] = []
        for view in bookkeeping.active_requests(s.view):
            try:
                result = await self.ask_cancel(view)
            except ActivityError as err:
                refused.append(f"{view.request.id}: {failure_message(err)}")
                continue
            if not result.cancelled:
                refused.append(f"{view.request.id}: {result.message or 'already shipped'}")
                continue
            view.state = ShippingRequestState.CANCELLED
            cancelled.extend(item.line_id for item in view.request.line_items)
            s.note("shipping request cancelled", f"{view.request.id}: to re-send the edited order")
        if refused:
            await self._keep_unedited(cancelled, "; ".join(refused))
            return
        await self.release(None, "edited after release: the edited order is sent again")
        s.view.raw_payload = edit.raw_payload
        s.set_order(order)
        self.arm_ship_by(order)
        s.released_edit = None
        s.force_location, s.exclude = location_id, []
        s.note("edit applied", f"{len(order.line_items)} line(s), sent again to {location_id}")
        await self.fulfil()

    async def _keep_unedited(self, cancelled_lines: list[str], refusals: str) -> None:
        """A channel kept its request: the order stays as it was; what another channel did
        cancel is released and sent again unedited."""
        s = self.s
        message = f"edit not applied: the fulfillment channel did not cancel {refusals}"
        s.note("edit not applied", message)
        exc = s.view.open_exception
        if exc is not None:
            exc.message = message
        s.mailbox.message = message
        if cancelled_lines:
            await self.release(cancelled_lines, "edited after release: a request was cancelled, the edit was not")
            await self.fulfil()
        s.finish_action(message)

    def keep_as_sent(self) -> None:
        s = self.s
        s.released_edit = None
        self.resolve_open("edit not applied: the order ships as sent", only=(ExceptionKind.EDIT_AFTER_RELEASE,))
