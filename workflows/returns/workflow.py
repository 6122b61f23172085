"""The return workflow: one durable execution per return, from the channel's request to the
channel told it was received (requested -> authorised -> label issued -> in transit -> received
-> closed; rejected and cancelled as ends).

Authorised by the channel's policy or an operator; announced to the receiving warehouse, whose
receipt (each unit's condition) puts sellable units back on hand; the channel is told once. Held
in an exception for an operator when its order is unknown, when nothing arrived in the policy's
days after the label, or when the receipt does not match the authorisation. Deterministic: time
and waits come from `workflow.*` only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from orderloop.activity_models import NotificationLevel
    from orderloop.contracts.names import ErrorTypes, ReturnQueries, ReturnSignals, ReturnUpdates
    from orderloop.contracts.returns import (
        RETURN_WORKFLOW,
        AuthoriseReturnRequest,
        CloseReturnRequest,
        ReceiveReturnRequest,
        RejectReturnRequest,
        ReturnInput,
        ReturnUpdateResult,
    )
    from orderloop.return_policy import ExchangeOn, NotReceivedAction
    from orderloop.returns_model import (
        ExpectedReturn,
        ReturnExceptionKind,
        ReturnLabel,
        ReturnProgress,
        ReturnProgressKind,
        ReturnReceipt,
        ReturnStatus,
        ReturnView,
    )

from workflows.returns import calls
from workflows.returns.matching import receipt_mismatch
from workflows.returns.state import ReturnState

_WAITING = (ReturnStatus.AUTHORISED, ReturnStatus.LABEL_ISSUED, ReturnStatus.IN_TRANSIT)
_NO_TIME = timedelta(0)
_RECEIVE_OR_CLOSE = frozenset({ReturnUpdates.RECEIVE, ReturnUpdates.CLOSE})
# What an operator may do about each exception (the rest: receive or close).
_RESOLUTIONS = {
    ReturnExceptionKind.INVALID_RETURN: frozenset({ReturnUpdates.REJECT, ReturnUpdates.CLOSE}),
    ReturnExceptionKind.UNKNOWN_ORDER: frozenset({ReturnUpdates.AUTHORISE, ReturnUpdates.REJECT, ReturnUpdates.CLOSE}),
    ReturnExceptionKind.EXPECTED_RETURN_FAILED: _RECEIVE_OR_CLOSE | {ReturnUpdates.AUTHORISE, ReturnUpdates.REJECT},
}


@workflow.defn(name=RETURN_WORKFLOW)
class ReturnWorkflow:
    @workflow.init
    def __init__(self, inp: ReturnInput) -> None:
        self.s = ReturnState(inp, workflow.info().workflow_id)
        # What the receiving warehouse is told to expect (from the prepare step).
        self._expected: ExpectedReturn | None = None

    # --- lifecycle ------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: ReturnInput) -> ReturnView:
        s = self.s
        s.note("requested", f"from channel {inp.channel_id}")
        await self._prepare()
        while not s.view.status.terminal:
            await self._step()
        s.answer(f"return is {s.view.status}")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return s.view

    async def _prepare(self) -> None:
        s = self.s
        prep = await calls.prepare(s)
        s.policy = prep.policy
        v = s.view
        v.request, v.order_workflow_id, v.shipment_ids = prep.request, prep.order_workflow_id, prep.shipment_ids
        v.location_id, v.fulfillment_channel_id = prep.location_id, prep.fulfillment_channel_id
        self._expected = prep.expected
        if prep.request is None:
            s.raise_exception(ReturnExceptionKind.INVALID_RETURN, f"the return cannot be mapped: {prep.error}")
            await self._notify_open()
        elif prep.refusal is not None:
            v.decline_reason = prep.refusal
            s.set_status(ReturnStatus.REJECTED, prep.refusal)
        elif prep.order_workflow_id is None:
            s.raise_exception(
                ReturnExceptionKind.UNKNOWN_ORDER,
                f"a return for order {prep.request.external_order_id}, which Orderloop never received",
            )
            await self._notify_open()
        elif prep.policy.auto_authorise:
            await self._authorise("the channel's return policy")
        if s.view.status in (ReturnStatus.REQUESTED, ReturnStatus.REJECTED):
            await calls.record_status(s, v.decline_reason)

    async def _step(self) -> None:
        s = self.s
        status = s.view.status
        if status is ReturnStatus.REQUESTED:
            await self._await_action(frozenset({ReturnUpdates.AUTHORISE, ReturnUpdates.REJECT, ReturnUpdates.CLOSE}))
        elif status is ReturnStatus.EXCEPTION:
            await self._await_resolution()
        elif status in _WAITING:
            await self._await_receipt()
        elif status is ReturnStatus.RECEIVED:
            await self._close_received()

    # --- authorisation and announcement ------------------------------------------------------

    async def _authorise(self, by: str) -> None:
        s = self.s
        s.view.authorised_by = by
        s.set_status(ReturnStatus.AUTHORISED, f"by {by}")
        await calls.record_status(s)
        if self._exchange_due(ExchangeOn.AUTHORISED):
            await self._start_exchange()
        await self._announce()

    async def _announce(self) -> None:
        """Tell the receiving warehouse to expect it; its label, if it issues one, starts the clock."""
        s = self.s
        assert s.policy is not None
        s.announced = True
        expected = self._expected
        if expected is not None and s.policy.fulfillment_task_queue is not None:
            result = await calls.create_expected(s, expected)
            if result.error is not None:
                s.raise_exception(ReturnExceptionKind.EXPECTED_RETURN_FAILED, result.error)
                await self._notify_open()
                return
            if result.supported:
                s.note("expected at the warehouse", f"{expected.location_id} ({result.vendor_id})")
            if result.label is not None:
                self._label_issued(result.label)
                await calls.record_status(s)
        s.receive_by = workflow.now() + s.policy.not_received_after

    def _label_issued(self, label: ReturnLabel) -> None:
        s = self.s
        s.view.label = label
        if s.view.status in _WAITING:
            s.set_status(ReturnStatus.LABEL_ISSUED, f"{label.carrier} {label.tracking_number}")
        assert s.policy is not None
        s.receive_by = workflow.now() + s.policy.not_received_after

    # --- waiting for the parcel ---------------------------------------------------------------

    async def _await_receipt(self) -> None:
        """Wait for the warehouse's receipt, the carrier's progress, an operator, or the
        not-received timer."""
        s = self.s
        assert s.policy is not None
        s.accepts = frozenset({ReturnUpdates.RECEIVE, ReturnUpdates.CLOSE})
        timeout = None if s.receive_by is None else max(s.receive_by - workflow.now(), _NO_TIME)
        try:
            await workflow.wait_condition(
                lambda: bool(s.receipts or s.progress) or s.action is not None, timeout=timeout
            )
        except TimeoutError:
            s.accepts = frozenset()
            await self._not_received()
            return
        s.accepts = frozenset()
        await self._take_messages()

    async def _not_received(self) -> None:
        s = self.s
        assert s.policy is not None
        after = s.policy.not_received_after
        message = f"nothing was received within {after} after the label"
        s.receive_by = None
        if s.policy.not_received_action is NotReceivedAction.CLOSE:
            await calls.notify(s, NotificationLevel.EXCEPTION, ReturnExceptionKind.NOT_RECEIVED, f"{message}; closed")
            s.raise_exception(ReturnExceptionKind.NOT_RECEIVED, message)
            s.resolve_open("closed by the return policy")
            await self._close(f"not received: {message}")
            return
        s.raise_exception(ReturnExceptionKind.NOT_RECEIVED, message)
        await self._notify_open()

    async def _take_messages(self) -> None:
        """Apply what came in: progress first, then a receipt, then an operator's action."""
        s = self.s
        while s.progress:
            self._apply_progress(s.progress.pop(0))
            if s.view.status.terminal:
                await calls.record_status(s, s.view.decline_reason)
                return
        if s.receipts:
            await self._receive(s.receipts.pop(0), by=None)
            return
        if s.action is not None:
            await self._apply_action()
            return
        await calls.record_status(s)

    def _apply_progress(self, progress: ReturnProgress) -> None:
        s = self.s
        if progress.kind is ReturnProgressKind.CANCELLED:
            s.view.decline_reason = progress.reason or "cancelled at the channel"
            s.set_status(ReturnStatus.CANCELLED, s.view.decline_reason)
        elif progress.kind is ReturnProgressKind.LABEL_ISSUED and progress.label is not None:
            self._label_issued(progress.label)
        elif progress.kind is ReturnProgressKind.IN_TRANSIT:
            if progress.label is not None and s.view.label is None:
                s.view.label = progress.label
            if s.view.status in _WAITING:
                s.set_status(ReturnStatus.IN_TRANSIT, progress.reason)

    async def _receive(self, receipt: ReturnReceipt, by: str | None) -> None:
        """A receipt: matched against the authorisation (an operator's is taken as it is)."""
        s = self.s
        s.view.receipt = receipt
        mismatch = None if by is not None else receipt_mismatch(s.view.request, receipt)
        if mismatch is not None:
            s.raise_exception(ReturnExceptionKind.RECEIPT_MISMATCH, mismatch[0], mismatch[1])
            await self._notify_open()
            return
        s.resolve_open(f"received by {by}" if by else "received at the warehouse")
        s.set_status(ReturnStatus.RECEIVED, ", ".join(f"{u.quantity} {u.sku} {u.condition}" for u in receipt.lines))

    async def _close_received(self) -> None:
        """Stock back in the ledger, the exchange (by policy), the channel told once, closed."""
        s = self.s
        receipt = s.view.receipt
        assert receipt is not None and s.policy is not None
        location = receipt.location_id or s.view.location_id
        if location is None:
            s.raise_exception(ReturnExceptionKind.RECEIPT_MISMATCH, "the receipt names no receiving location")
            await self._notify_open()
            return
        result = await calls.restock(s, receipt, location)
        s.view.location_id = location
        s.view.restocked, s.view.non_sellable = result.restocked, result.non_sellable
        s.note("stock updated", f"restocked {result.restocked or 'none'}, non-sellable {result.non_sellable or 'none'}")
        if self._exchange_due(ExchangeOn.RECEIVED):
            await self._start_exchange()
        request = s.view.request
        if request is not None and s.view.refund_pushed_at is None:
            pushed = await calls.push_received(s, request, receipt)
            if pushed.error is not None:
                s.raise_exception(ReturnExceptionKind.REFUND_PUSH_FAILED, pushed.error)
                await self._notify_open()
                return
            s.view.refund_pushed_at = workflow.now()
            s.note("channel told it was received" if pushed.supported else "the channel takes no return receipts")
        await self._close("received")

    async def _close(self, reason: str) -> None:
        s = self.s
        s.view.closed_at = workflow.now()
        s.set_status(ReturnStatus.CLOSED, reason)
        await calls.record_status(s, reason)

    # --- exchanges --------------------------------------------------------------------------

    def _exchange_due(self, when: ExchangeOn) -> bool:
        s = self.s
        request = s.view.request
        assert s.policy is not None
        return (
            request is not None
            and request.is_exchange
            and s.policy.exchange_on is when
            and s.view.exchange_order_id is None
            and s.view.order_workflow_id is not None
        )

    async def _start_exchange(self) -> None:
        s = self.s
        request, order_id = s.view.request, s.view.order_workflow_id
        assert request is not None and order_id is not None
        started = await calls.start_exchange(s, request, order_id)
        if isinstance(started, str):
            s.note("exchange order not started", started)
            return
        s.view.exchange_order_id = started.order_workflow_id
        for line in request.exchange_line_items:
            line.exchange_order_id = started.order_workflow_id
        s.note("exchange order started", started.order_workflow_id)

    # --- exceptions and operator actions ---------------------------------------------------------

    async def _notify_open(self) -> None:
        exc = self.s.view.open_exception
        if exc is not None:
            await calls.notify(self.s, NotificationLevel.EXCEPTION, exc.kind, exc.message)
        await calls.record_status(self.s, exc.message if exc else None)

    async def _await_resolution(self) -> None:
        s = self.s
        kind = s.open_kind()
        if kind in (ReturnExceptionKind.INVALID_RETURN, ReturnExceptionKind.UNKNOWN_ORDER):
            await self._await_action(_RESOLUTIONS[kind])
            return
        # Waiting parcels (not received) and receipts to correct: a late receipt still counts.
        s.accepts = _RESOLUTIONS.get(kind, _RECEIVE_OR_CLOSE) if kind else _RECEIVE_OR_CLOSE
        await self._wait(lambda: bool(s.receipts or s.progress) or s.action is not None)
        s.accepts = frozenset()
        await self._take_messages()

    async def _wait(self, condition: Callable[[], bool]) -> None:
        """Wait for `condition`; an exception nobody resolved within the channel's escalation
        delay is notified again, once, as an escalation."""
        s = self.s
        assert s.policy is not None
        while True:
            exc = s.view.open_exception
            if exc is None or exc.escalated_at is not None:
                await workflow.wait_condition(condition)
                return
            due = exc.raised_at + s.policy.escalation_delay
            try:
                await workflow.wait_condition(condition, timeout=max(due - workflow.now(), _NO_TIME))
                return
            except TimeoutError:
                exc.escalated_at = workflow.now()
                s.note(f"{exc.kind} escalated", f"unresolved after {s.policy.escalation_delay}")
                await calls.notify(s, NotificationLevel.ESCALATION, exc.kind, exc.message)

    async def _await_action(self, accepts: frozenset[ReturnUpdates]) -> None:
        s = self.s
        s.accepts = accepts
        await self._wait(lambda: s.action is not None or _cancelled(s))
        s.accepts = frozenset()
        if s.action is None:
            await self._take_messages()
            return
        await self._apply_action()

    async def _apply_action(self) -> None:
        s = self.s
        action = s.take()
        request: BaseModel = action.request
        who = getattr(request, "operator", "operator")
        if isinstance(request, AuthoriseReturnRequest):
            s.resolve_open(f"authorised by {who}")
            await self._authorise(who)
        elif isinstance(request, RejectReturnRequest):
            s.resolve_open(f"rejected by {who}")
            s.view.decline_reason = request.reason
            s.set_status(ReturnStatus.REJECTED, f"by {who}: {request.reason}")
            await calls.record_status(s, request.reason)
        elif isinstance(request, ReceiveReturnRequest):
            receipt = ReturnReceipt(
                return_id=s.id,
                lines=request.lines,
                location_id=request.location_id or s.view.location_id,
                received_at=workflow.now(),
                received_by=who,
            )
            await self._receive(receipt, by=who)
        elif isinstance(request, CloseReturnRequest):
            await self._close_by_operator(who, request.reason)
        if s.view.status is ReturnStatus.RECEIVED:
            # The operator is answered once the receipt played out (restocked, channel told).
            await self._close_received()
        s.answer(f"return is {s.view.status}")

    async def _close_by_operator(self, who: str, reason: str) -> None:
        """Close: a receipt on hold (a mismatch) is accepted as it is and refunded; otherwise the
        return closes without a refund."""
        s = self.s
        if s.open_kind() is ReturnExceptionKind.RECEIPT_MISMATCH and s.view.receipt is not None:
            s.resolve_open(f"receipt accepted by {who}")
            s.set_status(ReturnStatus.RECEIVED, f"as received, by {who}")
            return
        s.resolve_open(f"closed by {who}")
        await self._close(f"by {who}: {reason}")

    # --- updates ------------------------------------------------------------------------------

    async def _submit(self, name: ReturnUpdates, request: BaseModel) -> ReturnUpdateResult:
        message = await self.s.submit(name, request)
        return ReturnUpdateResult(message=message, view=self.s.view)

    @workflow.update(name=ReturnUpdates.AUTHORISE)
    async def authorise(self, request: AuthoriseReturnRequest) -> ReturnUpdateResult:
        return await self._submit(ReturnUpdates.AUTHORISE, request)

    @authorise.validator
    def _validate_authorise(self, request: AuthoriseReturnRequest) -> None:
        self.s.check(ReturnUpdates.AUTHORISE)

    @workflow.update(name=ReturnUpdates.REJECT)
    async def reject(self, request: RejectReturnRequest) -> ReturnUpdateResult:
        return await self._submit(ReturnUpdates.REJECT, request)

    @reject.validator
    def _validate_reject(self, request: RejectReturnRequest) -> None:
        self.s.check(ReturnUpdates.REJECT)

    @workflow.update(name=ReturnUpdates.RECEIVE)
    async def receive(self, request: ReceiveReturnRequest) -> ReturnUpdateResult:
        return await self._submit(ReturnUpdates.RECEIVE, request)

    @receive.validator
    def _validate_receive(self, request: ReceiveReturnRequest) -> None:
        self.s.check(ReturnUpdates.RECEIVE)
        if (request.location_id or self.s.view.location_id) is None:
            raise ApplicationError(
                "name the receiving location (locationId): the return has none",
                type=ErrorTypes.INVALID_REQUEST,
                non_retryable=True,
            )

    @workflow.update(name=ReturnUpdates.CLOSE)
    async def close(self, request: CloseReturnRequest) -> ReturnUpdateResult:
        return await self._submit(ReturnUpdates.CLOSE, request)

    @close.validator
    def _validate_close(self, request: CloseReturnRequest) -> None:
        self.s.check(ReturnUpdates.CLOSE)

    # --- signals, query -------------------------------------------------------------------------

    @workflow.signal(name=ReturnSignals.PROGRESS)
    def progress(self, progress: ReturnProgress) -> None:
        s = self.s
        if s.view.status.terminal or not s.first_time(progress.event_id):
            return
        s.progress.append(progress)

    @workflow.signal(name=ReturnSignals.RECEIPT)
    def receipt(self, receipt: ReturnReceipt) -> None:
        s = self.s
        if not s.first_time(receipt.event_id):
            return
        if s.view.status.terminal or s.view.status is ReturnStatus.RECEIVED:
            s.note("receipt ignored", f"the return is {s.view.status}")
            return
        s.receipts.append(receipt)

    @workflow.query(name=ReturnQueries.STATUS)
    def status(self) -> ReturnView:
        return self.s.view


def _cancelled(s: ReturnState) -> bool:
    return any(p.kind is ReturnProgressKind.CANCELLED for p in s.progress)
