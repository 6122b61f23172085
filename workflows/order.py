"""The order workflow: one durable execution per order, from the channel's webhook to tracking
pushed back (ingest → hold window → allocate → send → await shipments → push tracking).

Exceptions put the order on hold with a search attribute, a notification and an escalation
timer; operators resolve them with validated updates. Deterministic: time, ids and waits come
from `workflow.*` only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from orderloop.activity_models import (
        Activities,
        AllocateInput,
        AllocateOutcome,
        AllocateResult,
        CancelShippingInput,
        CancelShippingResult,
        CommitInput,
        ErrorTypes,
        FetchShipmentsInput,
        FetchShipmentsResult,
        IngestInput,
        IngestResult,
        Notification,
        NotificationLevel,
        PushTrackingInput,
        PushTrackingResult,
        ReleaseInput,
        SendResult,
    )
    from orderloop.contracts import (
        NO_EXCEPTION,
        ORDER_WORKFLOW,
        AmendAddressRequest,
        CancelRequest,
        ChannelCancel,
        ChannelEdit,
        FulfillmentCancel,
        MarkShippedRequest,
        OrderInput,
        OrderPolicy,
        Queries,
        RerouteRequest,
        RetryRequest,
        SearchAttributes,
        Signals,
        StockArrived,
        UpdateResult,
        Updates,
    )
    from orderloop.model import (
        Allocation,
        ExceptionKind,
        LineProgress,
        LocationAssignment,
        Order,
        OrderException,
        OrderStatus,
        OrderView,
        RequestLine,
        Shipment,
        ShipmentLine,
        ShippingRequest,
        ShippingRequestState,
        ShippingRequestView,
        TimelineEntry,
    )

_INTERNAL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
_CONNECTOR_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    non_retryable_error_types=[
        ErrorTypes.SHIPPING_REQUEST_REJECTED,
        ErrorTypes.ALREADY_SHIPPED,
        ErrorTypes.CHANNEL_REJECTED,
    ],
)
_LOCAL_TIMEOUT = timedelta(seconds=30)
_CALL_TIMEOUT = timedelta(seconds=30)
# How long a vendor may stay unreachable before the order is put in an exception.
_SEND_GIVE_UP = timedelta(hours=6)
_PUSH_GIVE_UP = timedelta(hours=24)
_OOS_RETRY_CAP = 16
# A poll that fails is tried again at the next poll, not retried for long now.
_POLL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_attempts=3)
_PATCH_SHIPMENT_POLL = "shipment-poll"

_ACTIVE = (ShippingRequestState.SENT, ShippingRequestState.PARTIALLY_SHIPPED)
_TERMINAL = (OrderStatus.COMPLETED, OrderStatus.CANCELLED)

# What woke an exception wait, besides an operator action (whose update name is returned).
_WOKE_CANCEL = "cancel"
_WOKE_TIMER = "auto_retry"
_WOKE_EDIT = "edit"
_WOKE_RESTOCK = "restock"


@dataclass
class _Action:
    name: str
    request: BaseModel
    seq: int


def _failure_message(err: ActivityError) -> str:
    """The innermost application error's message: what the vendor said, not the wrapping."""
    cause: BaseException | None = err.cause
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = getattr(cause, "cause", None)
    return str(cause or err)


@workflow.defn(name=ORDER_WORKFLOW)
class OrderWorkflow:
    @workflow.init
    def __init__(self, inp: OrderInput) -> None:
        self._input = inp
        self._id = workflow.info().workflow_id
        self._view = OrderView(
            workflow_id=self._id,
            channel_id=inp.channel_id,
            external_id=inp.external_id,
            status=OrderStatus.RECEIVED,
            received_at=inp.received_at,
            raw_payload=inp.raw_payload,
        )
        self._phase = OrderStatus.RECEIVED
        self._policy: OrderPolicy | None = None
        self._edits: list[ChannelEdit] = []
        self._cancel_reason: str | None = None
        self._cancel_handled = False
        self._inbox: list[Shipment] = []
        self._seen_shipments: set[str] = set()
        self._unpushed: list[Shipment] = []
        self._action: _Action | None = None
        self._consumed: _Action | None = None
        self._action_seq = 0
        self._handled_seq = 0
        self._action_message = ""
        self._accepts: frozenset[str] = frozenset()
        self._force_location: str | None = None
        self._exclude: list[str] = []
        self._published: dict[str, str] = {}
        self._vendor_cancels: list[FulfillmentCancel] = []
        # SKUs whose availability rose since the order last tried to allocate (restock watcher).
        self._restocked: set[str] = set()
        if inp.revision >= 1:
            # The starter set these search attributes (an absent one is unset): not upserted
            # again unless they change.
            given = {pair.key.name: str(pair.value) for pair in workflow.info().typed_search_attributes}
            self._published = {key.name: given.get(key.name, "") for key in SearchAttributes.ALL}

    # --- lifecycle ------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: OrderInput) -> OrderView:
        self._note("received", f"from channel {inp.channel_id}")
        self._publish()
        if await self._ingest():
            await self._hold_window()
            await self._fulfil()
            await self._await_shipments()
        self._finish_consumed(f"order is {self._view.status}")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view

    async def _ingest(self) -> bool:
        while True:
            result = await self._map(self._view.raw_payload or {})
            if result.order is not None:
                self._set_order(result.order)
                self._resolve_open("payload mapped")
                return True
            woke = await self._hold_for(
                ExceptionKind.INVALID_ORDER,
                f"the order payload cannot be mapped: {result.error}",
                accepts={Updates.RETRY},
                wake=lambda: bool(self._edits),
            )
            if woke == _WOKE_CANCEL:
                await self._close_cancelled()
                return False
            if woke == _WOKE_EDIT:
                self._view.raw_payload = self._edits.pop(0).raw_payload
                self._note("edit received", "re-mapping the corrected payload")
            else:
                self._consume()

    async def _hold_window(self) -> None:
        assert self._policy is not None
        if not self._policy.hold_window or self._terminal:
            return
        self._set_phase(OrderStatus.IN_HOLD_WINDOW)
        deadline = workflow.now() + self._policy.hold_window
        self._accepts = frozenset({Updates.CANCEL, Updates.AMEND_ADDRESS, Updates.REROUTE})
        try:
            while True:
                waiting = await self._wait(self._hold_interrupted, deadline)
                if self._cancel_reason is not None:
                    await self._close_cancelled()
                    return
                if self._edits:
                    await self._apply_edit()
                elif self._action is not None:
                    self._apply_pre_send_action(self._consume())
                    self._finish_consumed(self._action_message)
                elif not waiting:
                    break
        finally:
            self._accepts = frozenset()
        self._note("hold window ended")

    def _hold_interrupted(self) -> bool:
        return bool(self._edits) or self._cancel_reason is not None or self._action is not None

    async def _fulfil(self) -> None:
        """Allocate and send until every line is with a fulfillment channel (or cancelled)."""
        while not self._terminal:
            if self._cancel_reason is not None:
                await self._cancel()
                return
            order = self._order
            missing = order.shipping_address.missing_fields() if order.shipping_address else ["shippingAddress"]
            if missing:
                woke = await self._hold_for(
                    ExceptionKind.INVALID_ADDRESS,
                    f"shipping address lacks {', '.join(missing)}",
                    accepts={Updates.AMEND_ADDRESS, Updates.RETRY},
                    wake=lambda: bool(self._edits),
                )
                await self._after_pre_send_wait(woke)
                continue
            pending = self._unassigned_line_ids()
            if not pending:
                return
            result = await self._allocate(pending)
            if result.outcome is not AllocateOutcome.ALLOCATED or result.allocation is None:
                woke = await self._hold_for(
                    result.outcome.exception,
                    result.message,
                    detail=result.detail,
                    accepts={Updates.RETRY, Updates.REROUTE, Updates.AMEND_ADDRESS},
                    auto_retry=result.outcome in (AllocateOutcome.OUT_OF_STOCK, AllocateOutcome.UNROUTABLE),
                    wake=lambda: bool(self._edits),
                    restock=result.outcome in (AllocateOutcome.OUT_OF_STOCK, AllocateOutcome.UNROUTABLE),
                )
                await self._after_pre_send_wait(woke)
                continue
            self._record_allocation(result.allocation)
            for assignment in result.allocation.assignments:
                if not await self._send(assignment):
                    break
            else:
                self._resolve_open("sent to fulfillment")
                self._finish_consumed("sent to fulfillment")

    async def _await_shipments(self) -> None:
        if self._terminal:
            return
        assert self._policy is not None
        sla_deadline = workflow.info().start_time + self._policy.ship_by_sla
        breached = False
        # Orders started before shipment polling existed keep waiting for webhooks only (the
        # patch is asked only of revision-0 orders: its marker costs a search-attribute upsert).
        polls = self._input.revision >= 1 or workflow.patched(_PATCH_SHIPMENT_POLL)
        poll_at = self._next_shipment_poll() if polls else None
        # Done when every unit shipped (or was cancelled) and the channel has all the tracking.
        while not self._terminal and (self._open_units() > 0 or self._unpushed):
            self._accepts = self._shipment_phase_actions()
            deadlines = [d for d in (None if breached else sla_deadline, poll_at) if d is not None]
            reached = await self._wait(self._shipment_phase_woken, min(deadlines, default=None))
            if not reached and poll_at is not None and workflow.now() >= poll_at:
                await self._poll_shipments()
                poll_at = self._next_shipment_poll()
            elif not reached:
                breached = True
                await self._open_exception(
                    ExceptionKind.SLA_BREACH,
                    f"not shipped within the {self._policy.ship_by_sla} ship-by SLA",
                    {"shipByDeadline": sla_deadline.isoformat(), "openUnits": self._open_units()},
                )
                continue
            while self._inbox:
                await self._process_shipment(self._inbox.pop(0))
            while self._vendor_cancels and not self._terminal:
                await self._vendor_cancelled(self._vendor_cancels.pop(0))
                poll_at = self._next_shipment_poll() if poll_at is not None else None
            if self._action is not None:
                await self._apply_shipment_phase_action(self._consume())
            if self._cancel_reason is not None and not self._cancel_handled:
                await self._cancel()
        self._accepts = frozenset()
        if not self._terminal and self._open_units() == 0 and not self._unpushed:
            self._complete()

    def _next_shipment_poll(self) -> datetime | None:
        """When to ask the fulfillment channels for shipments their webhooks have not reported."""
        assert self._policy is not None
        every = [
            self._policy.shipment_poll_every[v.request.fulfillment_channel_id]
            for v in self._view.shipping_requests
            if v.state in _ACTIVE and v.request.fulfillment_channel_id in self._policy.shipment_poll_every
        ]
        return workflow.now() + min(every) if every else None

    async def _poll_shipments(self) -> None:
        assert self._policy is not None
        for view in self._view.shipping_requests:
            channel_id = view.request.fulfillment_channel_id
            if view.state not in _ACTIVE or channel_id not in self._policy.shipment_poll_every:
                continue
            try:
                result = await workflow.execute_activity(
                    Activities.FETCH_SHIPMENTS,
                    FetchShipmentsInput(request=view.request, vendor_id=view.vendor_id),
                    result_type=FetchShipmentsResult,
                    task_queue=self._policy.fulfillment_task_queues[channel_id],
                    start_to_close_timeout=_CALL_TIMEOUT,
                    retry_policy=_POLL_RETRY,
                )
            except ActivityError as err:
                self._note("shipment poll failed", f"{view.request.id}: {_failure_message(err)}")
                continue
            found = [s for s in result.shipments if s.id not in self._seen_shipments]
            if found:
                self._note("shipments found by polling", ", ".join(s.id for s in found))
                self._inbox.extend(found)

    def _shipment_phase_woken(self) -> bool:
        cancel_pending = self._cancel_reason is not None and not self._cancel_handled
        return bool(self._inbox) or bool(self._vendor_cancels) or self._action is not None or cancel_pending

    def _shipment_phase_actions(self) -> frozenset[str]:
        actions = {Updates.CANCEL, Updates.MARK_SHIPPED}
        exc = self._view.open_exception
        if exc is not None and exc.kind in (ExceptionKind.CANCEL_AFTER_SHIP, ExceptionKind.TRACKING_REJECTED):
            actions.add(Updates.RETRY)
        return frozenset(actions)

    # --- steps ------------------------------------------------------------------------------

    async def _map(self, payload: dict[str, object]) -> IngestResult:
        result = await workflow.execute_local_activity(
            Activities.INGEST,
            IngestInput(
                workflow_id=self._id,
                channel_id=self._input.channel_id,
                external_id=self._input.external_id,
                raw_payload=payload,
                received_at=self._input.received_at,
            ),
            result_type=IngestResult,
            start_to_close_timeout=_LOCAL_TIMEOUT,
            retry_policy=_INTERNAL_RETRY,
        )
        self._policy = result.policy
        return result

    async def _apply_edit(self) -> None:
        edit = self._edits.pop(0)
        result = await self._map(edit.raw_payload)
        if result.order is None:
            self._note("edit not applied", result.error)
            return
        self._view.raw_payload = edit.raw_payload
        self._set_order(result.order)
        self._note("edit applied", f"{len(result.order.line_items)} line(s)")

    async def _allocate(self, line_ids: list[str]) -> AllocateResult:
        self._restocked.clear()
        return await workflow.execute_local_activity(
            Activities.ALLOCATE,
            AllocateInput(
                order=self._open_part(line_ids),
                line_ids=line_ids,
                force_location=self._force_location,
                exclude_locations=self._exclude,
                now=workflow.now(),
            ),
            result_type=AllocateResult,
            start_to_close_timeout=_LOCAL_TIMEOUT,
            retry_policy=_INTERNAL_RETRY,
        )

    def _record_allocation(self, allocation: Allocation) -> None:
        previous = self._view.allocation
        if previous is not None:
            allocation = allocation.model_copy(update={"assignments": [*previous.assignments, *allocation.assignments]})
        self._view.allocation = allocation
        where = ", ".join(a.location_id for a in allocation.assignments)
        self._note("allocated", f"{where} (rule {allocation.rule})" if allocation.rule else where)
        self._set_phase(OrderStatus.ALLOCATED)

    async def _send(self, assignment: LocationAssignment) -> bool:
        assert self._policy is not None
        order = self._order
        assert order.shipping_address is not None
        request = ShippingRequest(
            id=ShippingRequest.request_id(self._id, len(self._view.shipping_requests) + 1),
            idempotency_key=str(workflow.uuid4()),
            order_id=self._id,
            channel_id=order.channel_id,
            external_order_id=order.external_id,
            fulfillment_channel_id=assignment.fulfillment_channel_id,
            location_id=assignment.location_id,
            line_items=[
                RequestLine(line_id=line.line_id, sku=line.sku, quantity=line.quantity)
                for line in assignment.line_items
            ],
            shipping_address=order.shipping_address,
            shipping_code=order.shipping_code,
            created_at=workflow.now(),
        )
        view = ShippingRequestView(request=request, state=ShippingRequestState.SENT)
        self._view.shipping_requests.append(view)
        try:
            result = await workflow.execute_activity(
                Activities.SEND_SHIPPING_REQUEST,
                request,
                result_type=SendResult,
                task_queue=self._policy.fulfillment_task_queues[assignment.fulfillment_channel_id],
                start_to_close_timeout=_CALL_TIMEOUT,
                schedule_to_close_timeout=_SEND_GIVE_UP,
                retry_policy=_CONNECTOR_RETRY,
            )
        except ActivityError as err:
            view.state = ShippingRequestState.REJECTED
            await self._release([line.line_id for line in request.line_items], "shipping request rejected")
            self._exclude.append(assignment.location_id)
            self._force_location = None
            woke = await self._hold_for(
                ExceptionKind.SHIPPING_REQUEST_REJECTED,
                f"{assignment.fulfillment_channel_id} refused request {request.id}: {_failure_message(err)}",
                detail={"requestId": request.id, "locationId": assignment.location_id},
                accepts={Updates.RETRY, Updates.REROUTE, Updates.AMEND_ADDRESS},
            )
            await self._after_pre_send_wait(woke)
            return False
        view.vendor_id = result.vendor_id
        self._note("shipping request sent", f"{request.id} to {assignment.location_id} ({result.vendor_id})")
        self._set_phase(OrderStatus.SENT_TO_FULFILLMENT)
        return True

    async def _vendor_cancelled(self, cancel: FulfillmentCancel) -> None:
        """The fulfillment channel cancelled a request on its side (e.g. a 3PL's operator): what
        it had not shipped is released and waits in an exception for the operator to retry or
        reroute; nothing is re-sent on its own, since the channel may ship part of it still."""
        view = self._request(cancel.request_id)
        if view is None or view.state not in _ACTIVE:
            self._note("fulfillment channel cancel ignored", f"{cancel.request_id}: not an open request")
            return
        view.state = ShippingRequestState.CANCELLED
        request = view.request
        open_lines = [line.line_id for line in request.line_items if self._line(line.line_id).open > 0]
        self._note("cancelled by the fulfillment channel", f"{request.id}: {cancel.reason}")
        await self._release(open_lines, "shipping request cancelled by the fulfillment channel")
        self._exclude.append(request.location_id)
        woke = await self._hold_for(
            ExceptionKind.SHIPPING_REQUEST_REJECTED,
            f"{request.fulfillment_channel_id} cancelled request {request.id}: {cancel.reason}",
            detail={"requestId": request.id, "locationId": request.location_id},
            accepts={Updates.RETRY, Updates.REROUTE, Updates.AMEND_ADDRESS},
        )
        await self._after_pre_send_wait(woke)
        await self._fulfil()

    async def _release(self, line_ids: list[str] | None, reason: str) -> None:
        await workflow.execute_local_activity(
            Activities.RELEASE,
            ReleaseInput(order_id=self._id, line_ids=line_ids, reason=reason),
            start_to_close_timeout=_LOCAL_TIMEOUT,
            retry_policy=_INTERNAL_RETRY,
        )

    async def _process_shipment(self, shipment: Shipment) -> None:
        if shipment.id in self._seen_shipments:
            self._note("duplicate shipment ignored", shipment.id)
            return
        self._seen_shipments.add(shipment.id)
        items = self._apply_shipment_lines(shipment)
        if not items:
            self._note("shipment ignored", f"{shipment.id}: no open line matches it")
            return
        self._view.shipments.append(shipment)
        self._note("shipped", f"{shipment.id}: {', '.join(shipment.tracking_numbers) or 'no tracking'}")
        await workflow.execute_local_activity(
            Activities.COMMIT_SHIPMENT,
            CommitInput(order_id=self._id, shipment_id=shipment.id, items=items),
            start_to_close_timeout=_LOCAL_TIMEOUT,
            retry_policy=_INTERNAL_RETRY,
        )
        self._set_phase(OrderStatus.PARTIALLY_SHIPPED if self._open_units() else OrderStatus.SENT_TO_FULFILLMENT)
        self._resolve_open("shipment received", only=(ExceptionKind.SLA_BREACH,))
        self._unpushed.append(shipment)
        await self._push_tracking()

    def _apply_shipment_lines(self, shipment: Shipment) -> list[RequestLine]:
        """Count the shipment against the order's open lines; returns what it really ships."""
        request = self._request(shipment.shipping_request_id)
        allowed = {line.line_id for line in request.request.line_items} if request else None
        items: list[RequestLine] = []
        for shipped in shipment.line_items:
            remaining = shipped.quantity
            for progress in self._view.lines:
                if remaining == 0:
                    break
                if allowed is not None and progress.line_id not in allowed:
                    continue
                if shipped.line_id not in (None, progress.line_id) or progress.sku != shipped.sku:
                    continue
                take = min(remaining, progress.open)
                if take:
                    progress.shipped += take
                    remaining -= take
                    items.append(RequestLine(line_id=progress.line_id, sku=progress.sku, quantity=take))
        if request is not None:
            still_open = any(self._line(i.line_id).open for i in request.request.line_items)
            request.state = ShippingRequestState.PARTIALLY_SHIPPED if still_open else ShippingRequestState.SHIPPED
        return items

    async def _push_tracking(self) -> None:
        assert self._policy is not None
        while self._unpushed:
            shipment = self._unpushed[0]
            try:
                await workflow.execute_activity(
                    Activities.PUSH_TRACKING,
                    PushTrackingInput(order=self._order, shipment=shipment),
                    result_type=PushTrackingResult,
                    task_queue=self._policy.selling_task_queue,
                    start_to_close_timeout=_CALL_TIMEOUT,
                    schedule_to_close_timeout=_PUSH_GIVE_UP,
                    retry_policy=_CONNECTOR_RETRY,
                )
            except ActivityError as err:
                await self._open_exception(
                    ExceptionKind.TRACKING_REJECTED,
                    f"{self._order.channel_id} did not accept tracking for {shipment.id}: {_failure_message(err)}",
                    {"shipmentId": shipment.id},
                )
                return
            self._unpushed.pop(0)
            self._note("tracking pushed", f"{shipment.id} to {self._order.channel_id}")
            self._resolve_open("tracking pushed", only=(ExceptionKind.TRACKING_REJECTED,))

    async def _cancel(self) -> None:
        """Cancel what is not shipped: release stock before send, ask the WMS after send."""
        reason = self._cancel_reason or "cancelled"
        self._cancel_handled = True
        self._note("cancel requested", reason)
        too_late: list[str] = []
        assert self._policy is not None
        for view in self._view.shipping_requests:
            if view.state not in _ACTIVE:
                continue
            result = await workflow.execute_activity(
                Activities.CANCEL_SHIPPING_REQUEST,
                CancelShippingInput(request=view.request, vendor_id=view.vendor_id),
                result_type=CancelShippingResult,
                task_queue=self._policy.fulfillment_task_queues[view.request.fulfillment_channel_id],
                start_to_close_timeout=_CALL_TIMEOUT,
                schedule_to_close_timeout=_SEND_GIVE_UP,
                retry_policy=_CONNECTOR_RETRY,
            )
            if result.cancelled:
                view.state = ShippingRequestState.CANCELLED
                self._note("shipping request cancelled", view.request.id)
            else:
                too_late.append(view.request.id)
        if too_late:
            await self._open_exception(
                ExceptionKind.CANCEL_AFTER_SHIP,
                f"cancel came too late: {', '.join(too_late)} already picked or shipped",
                {"requestIds": too_late, "reason": reason},
            )
            self._finish_consumed("cancel refused by the fulfillment channel: already shipped")
            return
        await self._close_cancelled()

    async def _close_cancelled(self) -> None:
        await self._release(None, self._cancel_reason or "cancelled")
        for progress in self._view.lines:
            progress.cancelled += progress.open
        self._set_phase(OrderStatus.CANCELLED)
        self._resolve_open("order cancelled")
        self._note("cancelled", self._cancel_reason)
        self._finish_consumed("order cancelled")

    def _complete(self) -> None:
        self._view.completed_at = workflow.now()
        self._set_phase(OrderStatus.COMPLETED)
        self._resolve_open("order completed")
        self._note("completed")

    # --- exceptions ---------------------------------------------------------------------------

    async def _hold_for(
        self,
        kind: ExceptionKind,
        message: str,
        *,
        accepts: set[str],
        detail: dict[str, object] | None = None,
        auto_retry: bool = False,
        wake: Callable[[], bool] | None = None,
        restock: bool = False,
    ) -> str:
        """Open (or keep) an exception and wait until something can move the order on: an
        operator action (its name is returned), a cancel, an edit, stock arriving for one of
        the order's SKUs (with `restock`), or the auto-retry timer."""
        await self._open_exception(kind, message, detail or {})
        self._finish_consumed(f"order is in exception {kind}: {message}")
        assert self._policy is not None
        retry_at = None
        if auto_retry:
            # Re-check on a doubling backoff: 1, 2, 4 ... 16 times the channel's retry interval.
            step = min(2 ** self._retry_count(kind), _OOS_RETRY_CAP)
            retry_at = workflow.now() + self._policy.out_of_stock_retry * step
        self._accepts = frozenset({*accepts, Updates.CANCEL})

        def woken() -> bool:
            return (
                self._action is not None
                or self._cancel_reason is not None
                or bool(wake and wake())
                or (restock and self._restock_arrived())
            )

        try:
            reached = await self._wait(woken, retry_at)
        finally:
            self._accepts = frozenset()
        if self._action is not None and self._action.name != Updates.CANCEL:
            return self._action.name
        if self._cancel_reason is not None:
            return _WOKE_CANCEL
        if wake is not None and wake():
            return _WOKE_EDIT
        if restock and self._restock_arrived():
            self._note("stock arrived", ", ".join(sorted(self._restocked & self._skus())))
            self._restocked.clear()
            return _WOKE_RESTOCK
        assert not reached
        self._note("auto-retry", str(kind))
        return _WOKE_TIMER

    def _retry_count(self, kind: ExceptionKind) -> int:
        return sum(1 for t in self._view.timeline if t.event == "auto-retry" and t.detail == str(kind))

    async def _after_pre_send_wait(self, woke: str) -> None:
        if woke == _WOKE_EDIT:
            await self._apply_edit()
        elif woke not in (_WOKE_CANCEL, _WOKE_TIMER, _WOKE_RESTOCK):
            self._apply_pre_send_action(self._consume())

    def _apply_pre_send_action(self, action: _Action) -> None:
        request = action.request
        if isinstance(request, RerouteRequest):
            self._force_location = request.location_id
            self._exclude = []
            self._action_message = f"rerouting to {request.location_id}"
        elif isinstance(request, AmendAddressRequest):
            self._view.order = self._order.model_copy(update={"shipping_address": request.address})
            self._action_message = "shipping address amended"
        else:
            self._exclude = []
            self._action_message = "retrying"
        self._note(f"operator {action.name}", f"{getattr(request, 'operator', '')}: {self._action_message}")

    async def _apply_shipment_phase_action(self, action: _Action) -> None:
        request = action.request
        exc = self._view.open_exception
        self._note(f"operator {action.name}", getattr(request, "operator", None))
        if isinstance(request, MarkShippedRequest):
            self._inbox.append(self._manual_shipment(request))
            while self._inbox:
                await self._process_shipment(self._inbox.pop(0))
            self._resolve_open("marked shipped by an operator")
            self._finish_consumed("marked shipped")
        elif isinstance(request, CancelRequest):
            if exc is not None and exc.kind is ExceptionKind.CANCEL_AFTER_SHIP:
                # The goods left already; the operator closes the order (returns are handled apart).
                await self._close_cancelled()
            else:
                self._cancel_reason = request.reason
                await self._cancel()
        elif exc is not None and exc.kind is ExceptionKind.CANCEL_AFTER_SHIP:
            await self._cancel()
        else:
            await self._push_tracking()
            self._finish_consumed("tracking push retried")

    def _manual_shipment(self, request: MarkShippedRequest) -> Shipment:
        sent = [v for v in self._view.shipping_requests if v.state in _ACTIVE]
        lines = [ShipmentLine(sku=p.sku, quantity=p.open, line_id=p.line_id) for p in self._view.lines if p.open]
        return Shipment(
            id=f"{self._id}/manual{len(self._view.shipments) + 1}",
            shipping_request_id=sent[0].request.id if sent else ShippingRequest.request_id(self._id, 0),
            line_items=lines,
            tracking_numbers=request.tracking_numbers,
            shipping_carrier=request.shipping_carrier,
            tracking_url=request.tracking_url,
            shipped_at=workflow.now(),
        )

    async def _open_exception(self, kind: ExceptionKind, message: str, detail: dict[str, object]) -> None:
        current = self._view.open_exception
        if current is not None and current.kind is kind:
            current.message = message
            return
        if current is not None:
            self._resolve_open(f"superseded by {kind}")
        self._view.exceptions.append(
            OrderException(kind=kind, message=message, detail=detail, raised_at=workflow.now())
        )
        self._view.status = OrderStatus.EXCEPTION
        self._note("exception", f"{kind}: {message}")
        self._publish()
        await self._notify(NotificationLevel.EXCEPTION, kind, message)

    def _resolve_open(self, resolution: str, only: tuple[ExceptionKind, ...] | None = None) -> None:
        exc = self._view.open_exception
        if exc is None or (only is not None and exc.kind not in only):
            return
        exc.resolved_at = workflow.now()
        exc.resolution = resolution
        self._view.status = self._phase
        self._note("exception resolved", f"{exc.kind}: {resolution}")
        self._publish()
        self._finish_consumed(resolution)

    def _escalation_due(self) -> datetime | None:
        exc = self._view.open_exception
        if exc is None or exc.escalated_at is not None or self._policy is None:
            return None
        return exc.raised_at + self._policy.escalation_delay

    async def _escalate(self) -> None:
        exc = self._view.open_exception
        assert exc is not None
        exc.escalated_at = workflow.now()
        self._note("escalated", f"{exc.kind} unresolved after {self._policy.escalation_delay if self._policy else ''}")
        await self._notify(NotificationLevel.ESCALATION, exc.kind, f"unresolved: {exc.message}")

    async def _notify(self, level: NotificationLevel, kind: ExceptionKind, message: str) -> None:
        try:
            await workflow.execute_activity(
                Activities.NOTIFY,
                Notification(
                    workflow_id=self._id,
                    channel_id=self._input.channel_id,
                    external_id=self._input.external_id,
                    level=level,
                    kind=kind,
                    message=message,
                    at=workflow.now(),
                ),
                task_queue=self._policy.orders_task_queue if self._policy else None,
                start_to_close_timeout=_CALL_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(minutes=1)),
            )
        except ActivityError as err:
            self._note("notification failed", _failure_message(err))

    async def _wait(self, condition: Callable[[], bool], deadline: datetime | None) -> bool:
        """Wait for `condition` until `deadline`, escalating an open exception when its time
        comes. True when the condition holds, False when the deadline passed."""
        while True:
            if condition():
                return True
            escalate_at = self._escalation_due()
            due = [d for d in (deadline, escalate_at) if d is not None]
            if not due:
                await workflow.wait_condition(condition)
                return True
            now = workflow.now()
            nearest = min(due)
            if nearest <= now:
                if escalate_at is not None and escalate_at <= now:
                    await self._escalate()
                    continue
                return False
            try:
                await workflow.wait_condition(condition, timeout=nearest - now)
            except TimeoutError:
                pass

    # --- operator actions (updates), channel signals, status query ----------------------------

    async def _submit(self, name: str, request: BaseModel) -> UpdateResult:
        self._action_seq += 1
        seq = self._action_seq
        self._action = _Action(name, request, seq)
        if isinstance(request, CancelRequest):
            self._cancel_reason = request.reason
            self._cancel_handled = False
        await workflow.wait_condition(lambda: self._handled_seq >= seq)
        return UpdateResult(message=self._action_message, view=self._view)

    def _consume(self) -> _Action:
        assert self._action is not None
        self._consumed, self._action = self._action, None
        return self._consumed

    def _finish_consumed(self, message: str) -> None:
        """Answer the operator whose action has now played out (or every waiting one at the end)."""
        if self._consumed is None and self._action is None:
            return
        self._action_message = message
        if self._consumed is not None:
            self._handled_seq = max(self._handled_seq, self._consumed.seq)
            self._consumed = None
        if self._terminal and self._action is not None:
            self._handled_seq = self._action.seq
            self._action = None

    def _validate(self, name: str) -> None:
        if self._terminal:
            raise ApplicationError(
                f"order is {self._view.status}: nothing to {name}", type=ErrorTypes.ACTION_NOT_APPLICABLE
            )
        if self._action is not None or self._consumed is not None:
            raise ApplicationError(
                "another operator action is still being applied; try again in a moment",
                type=ErrorTypes.ACTION_NOT_APPLICABLE,
            )
        if name not in self._accepts:
            exc = self._view.open_exception
            state = f"{self._view.status}" + (f" ({exc.kind})" if exc else "")
            possible = ", ".join(sorted(self._accepts)) or "none (the order is being processed)"
            raise ApplicationError(
                f"cannot {name} while the order is {state}; possible now: {possible}",
                type=ErrorTypes.ACTION_NOT_APPLICABLE,
            )

    @workflow.update(name=Updates.RETRY)
    async def retry(self, request: RetryRequest) -> UpdateResult:
        return await self._submit(Updates.RETRY, request)

    @retry.validator
    def _validate_retry(self, request: RetryRequest) -> None:
        self._validate(Updates.RETRY)

    @workflow.update(name=Updates.REROUTE)
    async def reroute(self, request: RerouteRequest) -> UpdateResult:
        return await self._submit(Updates.REROUTE, request)

    @reroute.validator
    def _validate_reroute(self, request: RerouteRequest) -> None:
        known = self._policy.locations if self._policy else []
        if request.location_id not in known:
            raise ApplicationError(
                f"unknown location {request.location_id!r}; known locations: {', '.join(known)}",
                type=ErrorTypes.INVALID_REQUEST,
            )
        self._validate(Updates.REROUTE)

    @workflow.update(name=Updates.CANCEL)
    async def cancel(self, request: CancelRequest) -> UpdateResult:
        return await self._submit(Updates.CANCEL, request)

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        self._validate(Updates.CANCEL)

    @workflow.update(name=Updates.AMEND_ADDRESS)
    async def amend_address(self, request: AmendAddressRequest) -> UpdateResult:
        return await self._submit(Updates.AMEND_ADDRESS, request)

    @amend_address.validator
    def _validate_amend_address(self, request: AmendAddressRequest) -> None:
        missing = request.address.missing_fields()
        if missing:
            raise ApplicationError(f"the new address lacks {', '.join(missing)}", type=ErrorTypes.INVALID_REQUEST)
        self._validate(Updates.AMEND_ADDRESS)

    @workflow.update(name=Updates.MARK_SHIPPED)
    async def mark_shipped(self, request: MarkShippedRequest) -> UpdateResult:
        return await self._submit(Updates.MARK_SHIPPED, request)

    @mark_shipped.validator
    def _validate_mark_shipped(self, request: MarkShippedRequest) -> None:
        self._validate(Updates.MARK_SHIPPED)

    @workflow.signal(name=Signals.SHIPMENT)
    def shipment(self, shipment: Shipment) -> None:
        self._inbox.append(shipment)

    @workflow.signal(name=Signals.CHANNEL_EDIT)
    def channel_edit(self, edit: ChannelEdit) -> None:
        if self._view.shipping_requests or self._terminal:
            self._note("edit not applied", "the order was already released to fulfillment")
            return
        self._edits.append(edit)

    @workflow.signal(name=Signals.CHANNEL_CANCEL)
    def channel_cancel(self, cancel: ChannelCancel) -> None:
        if self._terminal:
            self._note("cancel ignored", f"order already {self._view.status}")
            return
        self._cancel_reason = cancel.reason
        self._cancel_handled = False

    @workflow.signal(name=Signals.SHIPPING_REQUEST_CANCELLED)
    def shipping_request_cancelled(self, cancel: FulfillmentCancel) -> None:
        if not self._terminal:
            self._vendor_cancels.append(cancel)

    @workflow.signal(name=Signals.STOCK_ARRIVED)
    def stock_arrived(self, arrived: StockArrived) -> None:
        if not self._terminal:
            self._restocked.update(arrived.skus)

    @workflow.query(name=Queries.STATUS)
    def status(self) -> OrderView:
        return self._view

    # --- state helpers ------------------------------------------------------------------------

    @property
    def _order(self) -> Order:
        assert self._view.order is not None
        return self._view.order

    @property
    def _terminal(self) -> bool:
        return self._view.status in _TERMINAL

    def _set_order(self, order: Order) -> None:
        self._view.order = order
        self._view.lines = [
            LineProgress(line_id=line.id, sku=line.sku, ordered=line.quantity) for line in order.line_items
        ]

    def _open_part(self, line_ids: list[str]) -> Order:
        """The order with `line_ids` cut to their units not shipped yet (what a reroute after a
        partial shipment still has to send)."""
        wanted = {p.line_id: p.open for p in self._view.lines if p.line_id in line_ids}
        order = self._order
        if all(line.quantity == wanted[line.id] for line in order.line_items if line.id in wanted):
            return order
        lines = [
            line.model_copy(update={"quantity": wanted[line.id]}) if line.id in wanted else line
            for line in order.line_items
        ]
        return order.model_copy(update={"line_items": lines})

    def _skus(self) -> set[str]:
        return {line.sku for line in self._view.order.line_items} if self._view.order else set()

    def _restock_arrived(self) -> bool:
        return bool(self._restocked & self._skus())

    def _line(self, line_id: str) -> LineProgress:
        return next(p for p in self._view.lines if p.line_id == line_id)

    def _request(self, request_id: str) -> ShippingRequestView | None:
        return next((v for v in self._view.shipping_requests if v.request.id == request_id), None)

    def _unassigned_line_ids(self) -> list[str]:
        assigned = {
            line.line_id
            for view in self._view.shipping_requests
            if view.state not in (ShippingRequestState.REJECTED, ShippingRequestState.CANCELLED)
            for line in view.request.line_items
        }
        return [p.line_id for p in self._view.lines if p.line_id not in assigned and p.open > 0]

    def _open_units(self) -> int:
        return sum(p.open for p in self._view.lines)

    def _set_phase(self, status: OrderStatus) -> None:
        self._phase = status
        if self._view.open_exception is None or status in _TERMINAL:
            self._view.status = status
        self._publish()

    def _note(self, event: str, detail: str | None = None) -> None:
        self._view.timeline.append(TimelineEntry(at=workflow.now(), event=event, detail=detail))

    def _publish(self) -> None:
        """Upsert the search attributes that changed since the last upsert."""
        exc = self._view.open_exception
        locations = sorted({v.request.location_id for v in self._view.shipping_requests if v.state in _ACTIVE})
        if not locations and self._view.allocation is not None:
            locations = sorted({a.location_id for a in self._view.allocation.assignments})
        wanted = {
            SearchAttributes.CHANNEL.name: self._input.channel_id,
            SearchAttributes.STATUS.name: str(self._view.status),
            SearchAttributes.EXCEPTION.name: str(exc.kind) if exc else NO_EXCEPTION,
            SearchAttributes.LOCATION.name: ",".join(locations),
        }
        changes = []
        for key in SearchAttributes.ALL:
            value = wanted[key.name]
            if self._published.get(key.name) == value:
                continue
            self._published[key.name] = value
            changes.append(key.value_set(value) if value else key.value_unset())
        if changes:
            workflow.upsert_search_attributes(changes)
