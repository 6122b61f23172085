"""Cases a selling channel raises on an order (a payment dispute, a buyer's cancellation
request once the order was sent, an acknowledgement overdue): opened as a `channel_exception`
under the channel's own kind, with the channel's deadline to answer as a due time of every wait
(escalated once when it passes), and the seller's answer told to the channel when the exception
resolves (`holds.ExceptionSteps._start_reply`).

Where the order stands decides what a case does:
- before anything was sent, it holds the order in the send loop: `retry` (the seller goes on)
  or `cancel`, or an auto-resolve rule of its playbook;
- once sent, it opens beside the shipment phase, which takes `retry` and `cancel` for it;
- once completed or cancelled, it is reported to its playbook's sinks, not opened.

The order raises one such case itself, `ack_overdue` (see `acknowledge.py`)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orderloop.activity_models import NotificationLevel
    from orderloop.contracts import Updates
    from orderloop.model import ExceptionKind
    from orderloop.playbooks import playbook_for

from workflows.order.holds import ExceptionSteps
from workflows.order.state import Woke

GOES_ON = "the seller goes on with the order"


class ChannelCaseSteps(ExceptionSteps):
    async def hold_for_channel_case(self) -> Woke:
        """Before send: the order waits in the case until the seller decides (or a rule does);
        what woke it (an edit is the caller's to apply, a cancel its to carry out)."""
        s = self.s
        case = s.channel_exceptions.pop(0)
        woke = await self.hold_for(
            ExceptionKind.CHANNEL_EXCEPTION,
            case.message,
            accepts={Updates.RETRY},
            detail=case.detail,
            wake=s.edit_applies,
            channel=case,
        )
        if woke is Woke.ACTION:
            action = s.mailbox.consume()
            s.note(f"operator {action.name}", f"{getattr(action.request, 'operator', '')}: {GOES_ON}")
            self.resolve_open(GOES_ON)
        return woke

    async def open_channel_case(self) -> None:
        """After send: the case opens beside the shipment phase (see `shipping.py`)."""
        case = self.s.channel_exceptions.pop(0)
        await self.open_exception(ExceptionKind.CHANNEL_EXCEPTION, case.message, case.detail, case)

    async def report_channel_cases(self) -> None:
        """Completed or cancelled: each case is noted and told to its playbook's sinks."""
        s = self.s
        while s.channel_exceptions:
            case = s.channel_exceptions.pop(0)
            s.note("channel exception reported", f"{case.kind}: {case.message} (the order is {s.view.status})")
            book = playbook_for(self.policy.playbooks, s.input.channel_id, case.kind)
            message = f"{case.message} (the order is {s.view.status}; nothing to hold)"
            await self.notify(
                NotificationLevel.EXCEPTION,
                ExceptionKind.CHANNEL_EXCEPTION,
                message,
                book.notify if book else None,
                book.name if book else None,
                case.kind,
            )
