"""The order's steps up to the fulfillment channels: the hold window, allocation, sending a
shipping request per location, operator actions before send, and cancelling."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from orderloop import address_parts
    from orderloop.activity_models import (
        AllocateInput,
        AllocateOutcome,
        AllocateResult,
        CancelShippingInput,
        CancelShippingResult,
        ChannelCancelInput,
        ChannelCancelResult,
        ReleaseInput,
        SendResult,
    )
    from orderloop.contracts import Activities, AmendAddressRequest, ChannelEdit, RerouteRequest, Updates
    from orderloop.model import (
        Allocation,
        ExceptionKind,
        LocationAssignment,
        Order,
        OrderStatus,
        RequestLine,
        ShippingRequest,
        ShippingRequestState,
        ShippingRequestView,
    )

from workflows.order import bookkeeping
from workflows.order.channel_cases import ChannelCaseSteps
from workflows.order.mailbox import Action
from workflows.order.options import (
    CALL_TIMEOUT,
    CONNECTOR_RETRY,
    INTERNAL_RETRY,
    LOCAL_TIMEOUT,
    PUSH_GIVE_UP,
    SEND_GIVE_UP,
    failure_message,
    map_payload,
)
from workflows.order.state import Woke

_PRE_SEND_ACTIONS = {Updates.RETRY, Updates.REROUTE, Updates.AMEND_ADDRESS}


class SendingSteps(ChannelCaseSteps):
    async def hold_window(self) -> None:
        s = self.s
        if not self.policy.hold_window or s.terminal:
            return
        s.set_phase(OrderStatus.IN_HOLD_WINDOW)
        deadline = workflow.now() + self.policy.hold_window
        s.mailbox.accepts = frozenset({Updates.CANCEL, Updates.AMEND_ADDRESS, Updates.REROUTE})
        try:
            while True:
                waiting = await self.wait(self._hold_interrupted, deadline)
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
        s.note("hold window ended")

    def _hold_interrupted(self) -> bool:
        s = self.s
        return bool(s.edits) or s.cancel_reason is not None or s.mailbox.pending is not None

    async def fulfil(self) -> None:
        """Allocate and send until every line is with a fulfillment channel (or cancelled)."""
        s = self.s
        while not s.terminal:
            if s.cancel_reason is not None:
                await self.cancel()
                return
            if s.channel_exceptions:
                if await self.hold_for_channel_case() is Woke.EDIT:
                    await self.apply_edit()
                continue
            # Every address part's address (a one-address order: the order's, as always).
            missing = address_parts.missing_address(s.order)
            if missing:
                woke = await self.hold_for(
                    ExceptionKind.INVALID_ADDRESS,
                    missing,
                    accepts={Updates.AMEND_ADDRESS, Updates.RETRY},
                    wake=s.edit_applies,
                    case_wakes=True,
                )
                await self.after_pre_send_wait(woke)
                continue
            pending = bookkeeping.unassigned_line_ids(s.view)
            if not pending:
                return
            result = await self._allocate(pending)
            if result.outcome is not AllocateOutcome.ALLOCATED or result.allocation is None:
                waits_for_stock = result.outcome in (AllocateOutcome.OUT_OF_STOCK, AllocateOutcome.UNROUTABLE)
                woke = await self.hold_for(
                    result.outcome.exception,
                    result.message,
                    detail=result.detail,
                    accepts=_PRE_SEND_ACTIONS,
                    auto_retry=waits_for_stock,
                    wake=s.edit_applies,
                    restock=waits_for_stock,
                    case_wakes=True,
                )
                await self.after_pre_send_wait(woke)
                continue
            self._record_allocation(result.allocation)
            await self.allocated(s.view.allocation or result.allocation)
            for assignment in result.allocation.assignments:
                if not await self._send(assignment):
                    break
            else:
                # A breached SLA stays open until a shipment (revision 2; older orders closed it).
                open_kind = s.view.open_exception.kind if s.view.open_exception else None
                if s.ship_by is None or open_kind is not ExceptionKind.SLA_BREACH:
                    self.resolve_open("sent to fulfillment")
                s.finish_action("sent to fulfillment")

    async def allocated(self, allocation: Allocation) -> None:
        """Called once an allocation is recorded, before its requests are sent (the wholesale
        steps tell a channel that confirms allocations; see `workflows/order/wholesale.py`)."""

    async def apply_edit(self) -> None:
        """Map the next queued edit and apply it, or, once a fulfillment channel has the order,
        hold it in edit_after_release for the operator."""
        s = self.s
        after_release = s.edit_after_release()
        edit = s.edits.pop(0)
        result = await map_payload(s, edit.raw_payload)
        self.policy = result.policy
        if result.order is None:
            s.note("edit not applied", result.error)
            return
        if after_release:
            await self._hold_released_edit(edit, result.order)
            return
        s.view.raw_payload = edit.raw_payload
        s.set_order(result.order)
        self.arm_ship_by(result.order)
        s.note("edit applied", f"{len(result.order.line_items)} line(s)")

    async def _hold_released_edit(self, edit: ChannelEdit, order: Order) -> None:
        s = self.s
        diff = bookkeeping.edit_diff(s.order, order)
        if not diff:
            s.note("edit ignored", "it changes no line and not the shipping address")
            return
        s.released_edit = (edit, order)
        where = ", ".join(sorted({v.request.location_id for v in bookkeeping.active_requests(s.view)}))
        changed = " and ".join({"lines": "lines", "shippingAddress": "shipping address"}[key] for key in diff)
        await self.open_exception(
            ExceptionKind.EDIT_AFTER_RELEASE,
            f"the channel changed the order's {changed} after it was released to {where or 'fulfillment'}",
            {"diff": diff},
        )
        exc = s.view.open_exception
        if exc is not None:
            exc.detail = {"diff": diff}  # a second edit replaces the first one's diff

    async def _allocate(self, line_ids: list[str]) -> AllocateResult:
        s = self.s
        s.restocked.clear()
        return await workflow.execute_local_activity(
            Activities.ALLOCATE,
            AllocateInput(
                order=bookkeeping.open_part(s.view, line_ids),
                line_ids=line_ids,
                force_location=s.force_location,
                exclude_locations=s.exclude,
                now=workflow.now(),
            ),
            result_type=AllocateResult,
            start_to_close_timeout=LOCAL_TIMEOUT,
            retry_policy=INTERNAL_RETRY,
        )

    def _record_allocation(self, allocation: Allocation) -> None:
        s = self.s
        allocation = bookkeeping.merged_allocation(s.view.allocation, allocation)
        s.view.allocation = allocation
        where = ", ".join(a.location_id for a in allocation.assignments)
        s.note("allocated", f"{where} (rule {allocation.rule})" if allocation.rule else where)
        s.set_phase(OrderStatus.ALLOCATED)

    async def _send(self, assignment: LocationAssignment) -> bool:
        s = self.s
        order = s.order
        # The assignment's address part's address: the lines' own (a multi-address order's),
        # else the order's, as for every order before multi-address orders.
        address = address_parts.request_address(order, [line.line_id for line in assignment.line_items])
        assert address is not None
        packs = {line.id: line.case_pack for line in order.line_items if line.case_pack is not None}
        request = ShippingRequest(
            id=ShippingRequest.request_id(s.id, len(s.view.shipping_requests) + 1),
            idempotency_key=str(workflow.uuid4()),
            order_id=s.id,
            channel_id=order.channel_id,
            external_order_id=order.external_id,
            fulfillment_channel_id=assignment.fulfillment_channel_id,
            location_id=assignment.location_id,
            line_items=[
                RequestLine(
                    line_id=line.line_id, sku=line.sku, quantity=line.quantity, case_pack=packs.get(line.line_id)
                )
                for line in assignment.line_items
            ],
            shipping_address=address,
            shipping_code=order.shipping_code,
            created_at=workflow.now(),
            wholesale=order.wholesale,
        )
        view = ShippingRequestView(request=request, state=ShippingRequestState.SENT)
        s.view.shipping_requests.append(view)
        try:
            result = await workflow.execute_activity(
                Activities.SEND_SHIPPING_REQUEST,
                request,
                result_type=SendResult,
                task_queue=self.policy.fulfillment_task_queues[assignment.fulfillment_channel_id],
                start_to_close_timeout=CALL_TIMEOUT,
                schedule_to_close_timeout=SEND_GIVE_UP,
                retry_policy=CONNECTOR_RETRY,
            )
        except ActivityError as err:
            view.state = ShippingRequestState.REJECTED
            await self.release([line.line_id for line in request.line_items], "shipping request rejected")
            s.exclude.append(assignment.location_id)
            s.force_location = None
            woke = await self.hold_for(
                ExceptionKind.SHIPPING_REQUEST_REJECTED,
                f"{assignment.fulfillment_channel_id} refused request {request.id}: {failure_message(err)}",
                detail={"requestId": request.id, "locationId": assignment.location_id},
                accepts=_PRE_SEND_ACTIONS,
                # Revision 2: an edit while every request is rejected applies (nothing was sent).
                wake=s.edit_applies if s.input.revision >= 2 else None,
                case_wakes=True,
            )
            await self.after_pre_send_wait(woke)
            return False
        view.vendor_id = result.vendor_id
        view.documents = result.documents
        s.note("shipping request sent", f"{request.id} to {assignment.location_id} ({result.vendor_id})")
        s.set_phase(OrderStatus.SENT_TO_FULFILLMENT)
        return True

    async def release(self, line_ids: list[str] | None, reason: str) -> None:
        await workflow.execute_local_activity(
            Activities.RELEASE,
            ReleaseInput(order_id=self.s.id, line_ids=line_ids, reason=reason),
            start_to_close_timeout=LOCAL_TIMEOUT,
            retry_policy=INTERNAL_RETRY,
        )

    async def after_pre_send_wait(self, woke: Woke) -> None:
        if woke is Woke.EDIT:
            await self.apply_edit()
        elif woke is Woke.ACTION:
            self._apply_pre_send_action(self.s.mailbox.consume())

    def _apply_pre_send_action(self, action: Action) -> None:
        s = self.s
        request = action.request
        if isinstance(request, RerouteRequest):
            s.force_location = request.location_id
            s.exclude = []
            s.mailbox.message = f"rerouting to {request.location_id}"
        elif isinstance(request, AmendAddressRequest):
            self._amend_address(request)
        else:
            s.exclude = []
            s.mailbox.message = "retrying"
        s.note(f"operator {action.name}", f"{getattr(request, 'operator', '')}: {s.mailbox.message}")

    def _amend_address(self, request: AmendAddressRequest) -> None:
        """The operator's address replaces the order's. A multi-address order's other recipients
        keep theirs: it replaces the address of the part(s) the open exception is about (those
        whose address is incomplete, else the rejected request's), and with none in question it
        is not applied."""
        s = self.s
        if not address_parts.has_line_addresses(s.order):
            s.view.order = s.order.model_copy(update={"shipping_address": request.address})
            s.mailbox.message = "shipping address amended"
            return
        line_ids = address_parts.incomplete_line_ids(s.order) or self._rejected_line_ids()
        if not line_ids:
            count = len(address_parts.address_parts(s.order))
            s.mailbox.message = (
                f"shipping address not amended: the order ships to {count} addresses and none is in question "
                "(incomplete or refused by the fulfillment channel); change the recipient's address in the "
                "channel (its edit reaches the order) or cancel the order"
            )
            return
        s.view.order = address_parts.amended(s.order, request.address, line_ids)
        s.mailbox.message = f"shipping address amended for line(s) {', '.join(line_ids)}"

    def _rejected_line_ids(self) -> list[str]:
        """The lines of the shipping request the open exception says was refused."""
        exc = self.s.view.open_exception
        request_id = exc.detail.get("requestId") if exc is not None else None
        view = bookkeeping.find_request(self.s.view, request_id) if isinstance(request_id, str) else None
        return [line.line_id for line in view.request.line_items] if view is not None else []

    async def cancel(self) -> None:
        """Cancel what is not shipped: release stock before send, ask the WMS after send."""
        s = self.s
        reason = s.cancel_reason or "cancelled"
        s.cancel_handled = True
        s.note("cancel requested", reason)
        too_late: list[str] = []
        failed: dict[str, str] = {}
        for view in s.view.shipping_requests:
            if view.state not in bookkeeping.ACTIVE:
                continue
            try:
                result = await self.ask_cancel(view)
            except ActivityError as err:
                if s.input.revision < 2:
                    raise  # older orders failed here; their histories must replay so
                failed[view.request.id] = failure_message(err)
                continue
            if result.cancelled:
                view.state = ShippingRequestState.CANCELLED
                s.note("shipping request cancelled", view.request.id)
            else:
                too_late.append(view.request.id)
        if failed:
            # The 3PL may still ship: the stock stays reserved until the operator decides.
            reasons = "; ".join(f"{request_id}: {why}" for request_id, why in failed.items())
            await self.open_exception(
                ExceptionKind.CANCEL_FAILED,
                f"the fulfillment channel did not cancel {reasons}",
                {"requestIds": list(failed), "vendorReasons": failed, "alreadyShipped": too_late, "reason": reason},
            )
            s.finish_action(f"cancel not confirmed by the fulfillment channel ({reasons})")
            return
        if too_late:
            await self.open_exception(
                ExceptionKind.CANCEL_AFTER_SHIP,
                f"cancel came too late: {', '.join(too_late)} already picked or shipped",
                {"requestIds": too_late, "reason": reason},
            )
            s.finish_action("cancel refused by the fulfillment channel: already shipped")
            return
        await self.close_cancelled()

    async def ask_cancel(self, view: ShippingRequestView) -> CancelShippingResult:
        """Ask the request's fulfillment channel to cancel it (ActivityError: refused or unreachable)."""
        return await workflow.execute_activity(
            Activities.CANCEL_SHIPPING_REQUEST,
            CancelShippingInput(request=view.request, vendor_id=view.vendor_id),
            result_type=CancelShippingResult,
            task_queue=self.policy.fulfillment_task_queues[view.request.fulfillment_channel_id],
            start_to_close_timeout=CALL_TIMEOUT,
            schedule_to_close_timeout=SEND_GIVE_UP,
            retry_policy=CONNECTOR_RETRY,
        )

    async def force_cancel(self) -> None:
        """Close the order although its fulfillment channel never confirmed the cancel (the
        operator checked it by other means): its open requests count as cancelled here."""
        s = self.s
        s.cancel_handled = True
        for view in bookkeeping.active_requests(s.view):
            view.state = ShippingRequestState.CANCELLED
            s.note("shipping request force-cancelled", f"{view.request.id}: not confirmed by the fulfillment channel")
        await self.close_cancelled()

    async def close_cancelled(self) -> None:
        s = self.s
        await self.release(None, s.cancel_reason or "cancelled")
        for progress in s.view.lines:
            progress.cancelled += progress.open
        s.set_phase(OrderStatus.CANCELLED)
        answered = self._answers_channel_case()
        self.resolve_open("order cancelled")
        s.note("cancelled", s.cancel_reason)
        # A channel's case the cancel resolves is answered to the channel by its reply instead.
        if s.tell_channel and not answered:
            await self._tell_channel_cancelled()
        s.finish_action("order cancelled")

    def _answers_channel_case(self) -> bool:
        exc = self.s.view.open_exception
        return exc is not None and exc.kind is ExceptionKind.CHANNEL_EXCEPTION

    async def _tell_channel_cancelled(self) -> None:
        """Orderloop cancelled the order (a playbook rule): the selling channel is told."""
        s = self.s
        if s.view.order is None:
            s.note("channel not told", "the order never mapped")
            return
        try:
            result = await workflow.execute_activity(
                Activities.CANCEL_ON_CHANNEL,
                ChannelCancelInput(order=s.order, reason=s.cancel_reason or "cancelled"),
                result_type=ChannelCancelResult,
                task_queue=self.policy.selling_task_queue,
                start_to_close_timeout=CALL_TIMEOUT,
                schedule_to_close_timeout=PUSH_GIVE_UP,
                retry_policy=CONNECTOR_RETRY,
            )
        except ActivityError as err:
            s.note("channel not told", f"{s.order.channel_id} refused the cancel: {failure_message(err)}")
            return
        told = "told" if result.told else "takes no cancels from Orderloop"
        s.note(f"channel {told}", f"{s.order.channel_id}: {s.cancel_reason}")
