"""The order workflow: one durable execution per order, from the channel's webhook to tracking
pushed back (ingest → hold window → allocate → send → await shipments → push tracking).

Exceptions put the order on hold with a search attribute, a notification and an escalation
timer; operators resolve them with validated updates. Deterministic: time, ids and waits come
from `workflow.*` only. This module holds the lifecycle, the ingest and the message handlers;
the steps after ingest are `OrderSteps` (`shipping.py`, `sending.py`, `holds.py`).
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from orderloop.contracts import (
        ORDER_WORKFLOW,
        AmendAddressRequest,
        CancelRequest,
        ChannelCancel,
        ChannelEdit,
        ChannelException,
        ErrorTypes,
        FulfillmentCancel,
        FulfillmentUpdate,
        MarkShippedRequest,
        OrderInput,
        Queries,
        RerouteRequest,
        RetryRequest,
        Signals,
        StockArrived,
        UpdateResult,
        Updates,
    )
    from orderloop.model import ExceptionKind, OrderView, Shipment
    from orderloop.wholesale import case_pack_violations

from workflows.order.options import map_payload
from workflows.order.patches import wholesale_on
from workflows.order.shipping import OrderSteps
from workflows.order.state import OrderState, Woke


@workflow.defn(name=ORDER_WORKFLOW)
class OrderWorkflow:
    @workflow.init
    def __init__(self, inp: OrderInput) -> None:
        self._state = OrderState(inp, workflow.info().workflow_id)
        # Built at the first ingest, with the channel's policy for this order.
        self._steps: OrderSteps | None = None

    # --- lifecycle ------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: OrderInput) -> OrderView:
        s = self._state
        s.note("received", f"from channel {inp.channel_id}")
        s.publish()
        steps = await self._ingest()
        if steps is not None:
            await steps.acknowledge()
            await steps.hold_window()
            await steps.ship_window()
            await steps.fulfil()
            await steps.await_shipments()
            await steps.await_deliveries()
        s.finish_action(f"order is {s.view.status}")
        if self._steps is not None:
            await self._steps.report_channel_cases()
            await self._steps.drain_notices()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return s.view

    async def _ingest(self) -> OrderSteps | None:
        """Map the payload until it maps (an unmappable one waits in invalid_order for an edit
        or a retry); None when the order was cancelled instead."""
        s = self._state
        while True:
            result = await map_payload(s, s.view.raw_payload or {})
            if self._steps is None:
                self._steps = OrderSteps(s, result.policy)
            else:
                self._steps.policy = result.policy
            steps = self._steps
            steps.arm_ship_by(result.order)
            order = result.order
            violations = case_pack_violations(order) if order is not None else []
            if order is not None and (not violations or not wholesale_on(s)):
                s.set_order(order)
                steps.resolve_open("payload mapped")
                return steps
            if order is not None:
                # Wholesale: a line that breaks its case pack waits for the buyer's amended order
                # (its edit), an operator's retry (ship the quantities as ordered) or a cancel.
                s.set_order(order)
                woke = await steps.hold_for(
                    ExceptionKind.CASE_PACK_VIOLATION,
                    "; ".join(violations),
                    accepts={Updates.RETRY},
                    detail={"lines": violations},
                    wake=lambda: bool(s.edits),
                )
            else:
                woke = await steps.hold_for(
                    ExceptionKind.INVALID_ORDER,
                    f"the order payload cannot be mapped: {result.error}",
                    accepts={Updates.RETRY},
                    wake=lambda: bool(s.edits),
                )
            if woke is Woke.CANCEL:
                await steps.close_cancelled()
                return None
            if woke is Woke.EDIT:
                s.view.raw_payload = s.edits.pop(0).raw_payload
                s.note("edit received", "re-mapping the corrected payload")
                continue
            action = s.mailbox.consume()
            if order is not None:
                who = getattr(action.request, "operator", "")
                s.note(f"operator {action.name}", f"{who}: the quantities ship as ordered")
                steps.resolve_open("case packs overridden: the quantities ship as ordered")
                return steps

    # --- operator actions (updates) -----------------------------------------------------------

    async def _submit(self, name: Updates, request: BaseModel) -> UpdateResult:
        s = self._state
        if isinstance(request, CancelRequest):
            s.cancel_reason = request.reason
            s.cancel_handled = False
        message = await s.mailbox.submit(name, request)
        return UpdateResult(message=message, view=s.view)

    def _validate(self, name: Updates) -> None:
        self._state.mailbox.check(name, self._state.view)

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
        known = self._steps.policy.locations if self._steps else []
        if request.location_id not in known:
            raise ApplicationError(
                f"unknown location {request.location_id!r}; known locations: {', '.join(known)}",
                type=ErrorTypes.INVALID_REQUEST,
                non_retryable=True,
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
            raise ApplicationError(
                f"the new address lacks {', '.join(missing)}", type=ErrorTypes.INVALID_REQUEST, non_retryable=True
            )
        self._validate(Updates.AMEND_ADDRESS)

    @workflow.update(name=Updates.MARK_SHIPPED)
    async def mark_shipped(self, request: MarkShippedRequest) -> UpdateResult:
        return await self._submit(Updates.MARK_SHIPPED, request)

    @mark_shipped.validator
    def _validate_mark_shipped(self, request: MarkShippedRequest) -> None:
        self._validate(Updates.MARK_SHIPPED)

    # --- channel signals, status query ----------------------------------------------------------

    @workflow.signal(name=Signals.SHIPMENT)
    def shipment(self, shipment: Shipment) -> None:
        self._state.inbox.append(shipment)

    @workflow.signal(name=Signals.CHANNEL_EDIT)
    def channel_edit(self, edit: ChannelEdit) -> None:
        s = self._state
        if s.edit_known(edit):
            return
        if s.terminal:
            s.note("edit not applied", f"the order is {s.view.status}")
            return
        # Revision 2 takes every edit: applied while nothing was sent, else edit_after_release.
        if s.input.revision < 2 and s.view.shipping_requests:
            s.note("edit not applied", "the order was already released to fulfillment")
            return
        s.edits.append(edit)

    @workflow.signal(name=Signals.CHANNEL_CANCEL)
    def channel_cancel(self, cancel: ChannelCancel) -> None:
        s = self._state
        if s.terminal:
            s.note("cancel ignored", f"order already {s.view.status}")
            return
        if s.cancel_known(cancel):
            return
        s.cancel_reason = cancel.reason
        s.cancel_handled = False

    @workflow.signal(name=Signals.CHANNEL_EXCEPTION)
    def channel_exception(self, case: ChannelException) -> None:
        s = self._state
        key = (case.kind, case.reference or case.event_id or case.message)
        if key in s.channel_cases:
            return
        s.channel_cases.add(key)
        # Once the order is completed or cancelled the case is reported, not opened (see
        # `report_channel_exceptions`).
        s.channel_exceptions.append(case)

    @workflow.signal(name=Signals.SHIPPING_REQUEST_CANCELLED)
    def shipping_request_cancelled(self, cancel: FulfillmentCancel) -> None:
        if not self._state.terminal:
            self._state.vendor_cancels.append(cancel)

    @workflow.signal(name=Signals.FULFILLMENT_UPDATE)
    def fulfillment_update(self, update: FulfillmentUpdate) -> None:
        # Taken also once the order completed: a delivery comes after it (see `await_deliveries`).
        self._state.fulfillment_updates.append(update)

    @workflow.signal(name=Signals.STOCK_ARRIVED)
    def stock_arrived(self, arrived: StockArrived) -> None:
        if not self._state.terminal:
            self._state.restocked.update(arrived.skus)

    @workflow.query(name=Queries.STATUS)
    def status(self) -> OrderView:
        return self._state.view
