"""The order's steps once it is with the fulfillment channels: waiting for shipments (webhook
signals, polls, the ship-by SLA), counting and committing each, pushing its tracking to the
selling channel, a fulfillment channel's own cancel, and operator actions after send."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from orderloop.activity_models import (
        CommitInput,
        FetchShipmentsInput,
        FetchShipmentsResult,
        PushTrackingInput,
        PushTrackingResult,
    )
    from orderloop.contracts import (
        Activities,
        CancelRequest,
        FulfillmentCancel,
        MarkShippedRequest,
        RerouteRequest,
        Updates,
    )
    from orderloop.model import ExceptionKind, OrderStatus, Shipment, ShippingRequestState

from workflows.order import bookkeeping
from workflows.order.channel_cases import GOES_ON
from workflows.order.mailbox import Action
from workflows.order.options import (
    CALL_TIMEOUT,
    CONNECTOR_RETRY,
    INTERNAL_RETRY,
    LOCAL_TIMEOUT,
    POLL_RETRY,
    PUSH_GIVE_UP,
    failure_message,
)
from workflows.order.wholesale import WholesaleSteps

_PATCH_SHIPMENT_POLL = "shipment-poll"
# The exceptions after send that `retry` acts on: ask for the cancel again, push tracking again.
# (edit_after_release: keep the order as sent).
_RETRYABLE_AFTER_SEND = (
    ExceptionKind.CANCEL_AFTER_SHIP,
    ExceptionKind.CANCEL_FAILED,
    ExceptionKind.TRACKING_REJECTED,
    ExceptionKind.EDIT_AFTER_RELEASE,
    ExceptionKind.CHANNEL_EXCEPTION,  # the seller goes on with the order
)


class OrderSteps(WholesaleSteps):
    """Every step of an order after ingest, built with the policy the ingest handed out."""

    async def await_shipments(self) -> None:
        s = self.s
        if s.terminal:
            return
        sla_deadline = workflow.info().start_time + self.policy.ship_by_sla
        # Orders of revision 2 on run the ship-by clock in every wait instead (ExceptionSteps).
        breached = s.ship_by is not None
        # Orders started before shipment polling existed keep waiting for webhooks only (the
        # patch is asked only of revision-0 orders: its marker costs a search-attribute upsert).
        polls = s.input.revision >= 1 or workflow.patched(_PATCH_SHIPMENT_POLL)
        poll_at = self._next_shipment_poll() if polls else None
        # The operator's actions follow the order as the loop works, not only while it waits: an
        # edit, a tracking push or the SLA can open an exception before the next wait starts.
        s.mailbox.accepts_from = self._shipment_phase_actions
        try:
            await self._shipment_loop(sla_deadline, breached, poll_at)
        finally:
            s.mailbox.accepts_from = None
        s.mailbox.accepts = frozenset()
        if not s.terminal and bookkeeping.open_units(s.view) == 0 and not s.unpushed:
            self._complete()

    async def _shipment_loop(self, sla_deadline: datetime, breached: bool, poll_at: datetime | None) -> None:
        s = self.s
        # Done when every unit shipped (or was cancelled) and the channel has all the tracking.
        while not s.terminal and (bookkeeping.open_units(s.view) > 0 or s.unpushed):
            s.mailbox.accepts = self._shipment_phase_actions()
            deadlines = [d for d in (None if breached else sla_deadline, poll_at) if d is not None]
            reached = await self.wait(self._shipment_phase_woken, min(deadlines, default=None))
            if not reached and poll_at is not None and workflow.now() >= poll_at:
                await self._poll_shipments()
                poll_at = self._next_shipment_poll()
            elif not reached:
                breached = True
                await self.open_exception(
                    ExceptionKind.SLA_BREACH,
                    f"not shipped within the {self.policy.ship_by_sla} ship-by SLA",
                    {"shipByDeadline": sla_deadline.isoformat(), "openUnits": bookkeeping.open_units(s.view)},
                )
                continue
            while s.inbox:
                await self._process_shipment(s.inbox.pop(0))
            while s.edit_after_release() and not s.terminal:
                await self.apply_edit()
            while s.vendor_cancels and not s.terminal:
                await self._vendor_cancelled(s.vendor_cancels.pop(0))
                poll_at = self._next_shipment_poll() if poll_at is not None else None
            await self.apply_fulfillment_updates()
            while s.channel_exceptions and not s.terminal:
                await self.open_channel_case()
            if s.mailbox.pending is not None:
                await self._apply_shipment_phase_action(s.mailbox.consume())
            if s.cancel_reason is not None and not s.cancel_handled:
                await self.cancel()

    def _next_shipment_poll(self) -> datetime | None:
        """When to ask the fulfillment channels for shipments their webhooks have not reported."""
        poll_every = self.policy.shipment_poll_every
        every = [
            poll_every[v.request.fulfillment_channel_id]
            for v in bookkeeping.active_requests(self.s.view)
            if v.request.fulfillment_channel_id in poll_every
        ]
        return workflow.now() + min(every) if every else None

    async def _poll_shipments(self) -> None:
        s = self.s
        for view in s.view.shipping_requests:
            channel_id = view.request.fulfillment_channel_id
            if view.state not in bookkeeping.ACTIVE or channel_id not in self.policy.shipment_poll_every:
                continue
            try:
                result = await workflow.execute_activity(
                    Activities.FETCH_SHIPMENTS,
                    FetchShipmentsInput(request=view.request, vendor_id=view.vendor_id),
                    result_type=FetchShipmentsResult,
                    task_queue=self.policy.fulfillment_task_queues[channel_id],
                    start_to_close_timeout=CALL_TIMEOUT,
                    retry_policy=POLL_RETRY,
                )
            except ActivityError as err:
                s.note("shipment poll failed", f"{view.request.id}: {failure_message(err)}")
                continue
            found = [shipment for shipment in result.shipments if shipment.id not in s.seen_shipments]
            if found:
                s.note("shipments found by polling", ", ".join(shipment.id for shipment in found))
                s.inbox.extend(found)
            if result.check is not None:
                await self.apply_request_check(view, result.check)

    def _shipment_phase_woken(self) -> bool:
        s = self.s
        cancel_pending = s.cancel_reason is not None and not s.cancel_handled
        return (
            bool(s.inbox)
            or bool(s.vendor_cancels)
            or bool(s.fulfillment_updates)
            or s.mailbox.pending is not None
            or cancel_pending
            or s.edit_after_release()
            or bool(s.channel_exceptions)
        )

    def _shipment_phase_actions(self) -> frozenset[Updates]:
        actions = {Updates.CANCEL, Updates.MARK_SHIPPED, *self.hold_actions()}
        exc = self.s.view.open_exception
        if exc is not None and exc.kind in _RETRYABLE_AFTER_SEND:
            actions.add(Updates.RETRY)
        if exc is not None and exc.kind is ExceptionKind.EDIT_AFTER_RELEASE and not self.s.view.shipments:
            actions.add(Updates.REROUTE)  # re-send the edited order: only while nothing shipped
        return frozenset(actions)

    async def _vendor_cancelled(self, cancel: FulfillmentCancel) -> None:
        """The fulfillment channel cancelled a request on its side (e.g. a 3PL's operator): what
        it had not shipped is released and waits in an exception for the operator to retry or
        reroute; nothing is re-sent on its own, since the channel may ship part of it still."""
        s = self.s
        view = bookkeeping.find_request(s.view, cancel.request_id)
        if view is None or view.state not in bookkeeping.ACTIVE:
            s.note("fulfillment channel cancel ignored", f"{cancel.request_id}: not an open request")
            return
        view.state = ShippingRequestState.CANCELLED
        request = view.request
        open_lines = [item.line_id for item in request.line_items if bookkeeping.line(s.view, item.line_id).open > 0]
        s.note("cancelled by the fulfillment channel", f"{request.id}: {cancel.reason}")
        await self.release(open_lines, "shipping request cancelled by the fulfillment channel")
        s.exclude.append(request.location_id)
        woke = await self.hold_for(
            ExceptionKind.SHIPPING_REQUEST_REJECTED,
            f"{request.fulfillment_channel_id} cancelled request {request.id}: {cancel.reason}",
            detail={"requestId": request.id, "locationId": request.location_id},
            accepts={Updates.RETRY, Updates.REROUTE, Updates.AMEND_ADDRESS},
            wake=s.edit_applies if s.input.revision >= 2 else None,
        )
        await self.after_pre_send_wait(woke)
        await self.fulfil()

    async def _process_shipment(self, shipment: Shipment) -> None:
        s = self.s
        if shipment.id in s.seen_shipments:
            s.note("duplicate shipment ignored", shipment.id)
            return
        s.seen_shipments.add(shipment.id)
        items = bookkeeping.apply_shipment(s.view, shipment)
        if not items:
            s.note("shipment ignored", f"{shipment.id}: no open line matches it")
            return
        s.view.shipments.append(shipment)
        s.note("shipped", f"{shipment.id}: {', '.join(shipment.tracking_numbers) or 'no tracking'}")
        await workflow.execute_local_activity(
            Activities.COMMIT_SHIPMENT,
            CommitInput(order_id=s.id, shipment_id=shipment.id, items=items),
            start_to_close_timeout=LOCAL_TIMEOUT,
            retry_policy=INTERNAL_RETRY,
        )
        s.set_phase(
            OrderStatus.PARTIALLY_SHIPPED if bookkeeping.open_units(s.view) else OrderStatus.SENT_TO_FULFILLMENT
        )
        self.resolve_open("shipment received", only=(ExceptionKind.SLA_BREACH,))
        if s.ship_by is not None and s.ship_by.breached:
            s.ship_by.raised = True  # a shipment came: a breach noted beside another exception stays a note
        self.clear_hold(shipment.shipping_request_id, "the shipment proceeded")
        s.unpushed.append(shipment)
        await self.push_tracking()

    async def push_tracking(self) -> None:
        s = self.s
        while s.unpushed:
            shipment = s.unpushed[0]
            try:
                await workflow.execute_activity(
                    Activities.PUSH_TRACKING,
                    PushTrackingInput(order=s.order, shipment=shipment),
                    result_type=PushTrackingResult,
                    task_queue=self.policy.selling_task_queue,
                    start_to_close_timeout=CALL_TIMEOUT,
                    schedule_to_close_timeout=PUSH_GIVE_UP,
                    retry_policy=CONNECTOR_RETRY,
                )
            except ActivityError as err:
                await self.open_exception(
                    ExceptionKind.TRACKING_REJECTED,
                    f"{s.order.channel_id} did not accept tracking for {shipment.id}: {failure_message(err)}",
                    {"shipmentId": shipment.id},
                )
                return
            s.unpushed.pop(0)
            s.note("tracking pushed", f"{shipment.id} to {s.order.channel_id}")
            self.resolve_open("tracking pushed", only=(ExceptionKind.TRACKING_REJECTED,))

    async def _apply_shipment_phase_action(self, action: Action) -> None:
        s = self.s
        if self.apply_hold_action(action):
            return
        request = action.request
        exc = s.view.open_exception
        s.note(f"operator {action.name}", getattr(request, "operator", None))
        if isinstance(request, MarkShippedRequest):
            s.inbox.append(bookkeeping.manual_shipment(s.view, request, workflow.now()))
            while s.inbox:
                await self._process_shipment(s.inbox.pop(0))
            self.resolve_open("marked shipped by an operator")
            s.finish_action("marked shipped")
        elif isinstance(request, CancelRequest):
            if exc is not None and exc.kind is ExceptionKind.CANCEL_AFTER_SHIP:
                # The goods left already; the operator closes the order (returns are handled apart).
                await self.close_cancelled()
            elif exc is not None and exc.kind is ExceptionKind.CANCEL_FAILED:
                s.cancel_reason = request.reason
                await self.force_cancel()
            else:
                s.cancel_reason = request.reason
                await self.cancel()
        elif exc is not None and exc.kind is ExceptionKind.CHANNEL_EXCEPTION:
            self.resolve_open(GOES_ON)
        elif exc is not None and exc.kind is ExceptionKind.EDIT_AFTER_RELEASE:
            if isinstance(request, RerouteRequest):
                await self.resend_edited(request.location_id)
            else:
                self.keep_as_sent()
                await self.push_tracking()
                s.finish_action("edit not applied: the order ships as sent")
        elif exc is not None and exc.kind in (ExceptionKind.CANCEL_AFTER_SHIP, ExceptionKind.CANCEL_FAILED):
            await self.cancel()
        else:
            await self.push_tracking()
            s.finish_action("tracking push retried")

    def _complete(self) -> None:
        s = self.s
        s.view.completed_at = workflow.now()
        s.set_phase(OrderStatus.COMPLETED)
        self.resolve_open("order completed")
        s.note("completed")
