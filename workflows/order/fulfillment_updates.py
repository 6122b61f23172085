"""What a fulfillment channel says about a shipping request besides shipping or cancelling it
(`Signals.FULFILLMENT_UPDATE`): a hold or an exception at the 3PL becomes the order's
`fulfillment_hold` exception with the 3PL's reason, cleared when the 3PL releases it, when the
request's shipment comes, or by an operator's `retry`; a delivery is recorded on its request
(view and timeline), also after the order completed while the channel's `await_delivery` lasts.
What the shipment poll finds of a request at the 3PL goes the same ways: cancelled there or gone
is the channel's own cancel; changed by hand (lines or address) opens `fulfillment_changed` with
the diff, until an operator accepts it with `retry` (or cancels).

No selling channel Orderloop connects takes a delivery today (`API_FACTS.md` documents no such
call for Shopify or the storefront), so a delivery is recorded, not pushed."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orderloop.activity_models import RequestCheck, RequestCondition
    from orderloop.contracts import FulfillmentCancel, FulfillmentStatus, OrderPolicy, RetryRequest, Updates
    from orderloop.model import ExceptionKind, OrderStatus, ShippingRequestState, ShippingRequestView

from workflows.order import bookkeeping
from workflows.order.edits import EditSteps
from workflows.order.mailbox import Action
from workflows.order.state import OrderState

# The exceptions an operator's `retry` clears once sorted out (or accepted) at the 3PL.
_OPERATOR_CLEARS = (ExceptionKind.FULFILLMENT_HOLD, ExceptionKind.FULFILLMENT_CHANGED)


class FulfillmentUpdateSteps(EditSteps):
    def __init__(self, state: OrderState, policy: OrderPolicy) -> None:
        super().__init__(state, policy)
        # Changes at the 3PL an operator accepted, by request id: the next poll finds them again.
        self.accepted_changes: dict[str, str] = {}

    async def apply_request_check(self, view: ShippingRequestView, check: RequestCheck) -> None:
        """What the shipment poll found of a sent request at its fulfillment channel."""
        s = self.s
        channel = view.request.fulfillment_channel_id
        if check.condition in (RequestCondition.CANCELLED, RequestCondition.MISSING):
            reason = f"found by the shipment poll: {check.detail or check.condition}"
            s.vendor_cancels.append(FulfillmentCancel(request_id=view.request.id, reason=reason))
        elif check.condition is RequestCondition.CHANGED and self.accepted_changes.get(view.request.id) != check.detail:
            await self.open_exception(
                ExceptionKind.FULFILLMENT_CHANGED,
                f"{channel} changed request {view.request.id} by hand: {check.detail}",
                {"requestId": view.request.id, "changes": check.detail},
            )

    async def apply_fulfillment_updates(self) -> None:
        s = self.s
        while s.fulfillment_updates:
            update = s.fulfillment_updates.pop(0)
            view = bookkeeping.find_request(s.view, update.request_id)
            if view is None:
                s.note("fulfillment update ignored", f"{update.request_id}: no such shipping request")
            elif update.status is FulfillmentStatus.DELIVERED:
                if view.delivered_at is None:
                    view.delivered_at = update.at or workflow.now()
                    s.note("delivered", f"{view.request.id} ({view.request.fulfillment_channel_id})")
            elif update.status is FulfillmentStatus.RELEASED:
                self.clear_hold(update.request_id, f"released by {view.request.fulfillment_channel_id}")
            elif view.state not in bookkeeping.ACTIVE:
                s.note("fulfillment update ignored", f"{update.request_id} is {view.state}: {update.status}")
            else:
                channel = view.request.fulfillment_channel_id
                reason = update.reason or str(update.status)
                await self.open_exception(
                    ExceptionKind.FULFILLMENT_HOLD,
                    f"{channel} {'holds' if update.status is FulfillmentStatus.ON_HOLD else 'cannot ship'} "
                    f"request {view.request.id}: {reason}",
                    {"requestId": view.request.id, "status": str(update.status), "reason": reason},
                )

    def clear_hold(self, request_id: str, resolution: str) -> None:
        """Resolve an open fulfillment_hold of `request_id` (not one of another request)."""
        exc = self.s.view.open_exception
        if exc is not None and exc.kind is ExceptionKind.FULFILLMENT_HOLD and exc.detail.get("requestId") == request_id:
            self.resolve_open(resolution)

    def hold_actions(self) -> set[Updates]:
        """An operator clears a 3PL hold with `retry` once it is sorted out at the 3PL, and
        accepts a change made at the 3PL the same way."""
        exc = self.s.view.open_exception
        return {Updates.RETRY} if exc is not None and exc.kind in _OPERATOR_CLEARS else set()

    def apply_hold_action(self, action: Action) -> bool:
        """Apply `action` when it clears a 3PL hold or accepts a 3PL change; False for any other."""
        exc = self.s.view.open_exception
        if not isinstance(action.request, RetryRequest) or exc is None or exc.kind not in _OPERATOR_CLEARS:
            return False
        self.s.note(f"operator {action.name}", action.request.operator)
        if exc.kind is ExceptionKind.FULFILLMENT_CHANGED:
            self.accepted_changes[str(exc.detail.get("requestId"))] = str(exc.detail.get("changes"))
            self.resolve_open("the change at the 3PL accepted by an operator")
        else:
            self.resolve_open("cleared by an operator (sorted out at the 3PL)")
        return True

    async def await_deliveries(self) -> None:
        """Keep a completed order open for its deliveries while its channels' `await_delivery`
        lasts (no wait when none is configured, as for orders ingested before it existed)."""
        s = self.s
        if s.view.status is not OrderStatus.COMPLETED:
            return
        shipped = [v for v in s.view.shipping_requests if v.state is ShippingRequestState.SHIPPED]
        waits = [self.policy.await_delivery.get(v.request.fulfillment_channel_id) for v in shipped]
        wait = max((w for w in waits if w), default=timedelta(0))
        if not wait:
            return
        deadline = workflow.now() + wait

        def undelivered() -> bool:
            return any(v.delivered_at is None for v in shipped)

        while undelivered() and workflow.now() < deadline:
            try:
                await workflow.wait_condition(
                    lambda: bool(s.fulfillment_updates) or bool(s.channel_exceptions), timeout=deadline - workflow.now()
                )
            except TimeoutError:
                break
            await self.apply_fulfillment_updates()
            await self.report_channel_cases()
        if undelivered():
            s.note("delivery not reported", f"within {wait}")
