"""What a fulfillment channel says about a shipping request besides shipping or cancelling it
(`Signals.FULFILLMENT_UPDATE`): a hold or an exception at the 3PL becomes the order's
`fulfillment_hold` exception with the 3PL's reason, cleared when the 3PL releases it, when the
request's shipment comes, or by an operator's `retry`; a delivery is recorded on its request
(view and timeline), also after the order completed while the channel's `await_delivery` lasts.

No selling channel Orderloop connects takes a delivery today (`API_FACTS.md` documents no such
call for Shopify or the storefront), so a delivery is recorded, not pushed."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orderloop.contracts import FulfillmentStatus, RetryRequest, Updates
    from orderloop.model import ExceptionKind, OrderStatus, ShippingRequestState

from workflows.order import bookkeeping
from workflows.order.mailbox import Action
from workflows.order.sending import SendingSteps


class FulfillmentUpdateSteps(SendingSteps):
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
        """An operator clears a 3PL hold with `retry` once it is sorted out at the 3PL."""
        exc = self.s.view.open_exception
        return {Updates.RETRY} if exc is not None and exc.kind is ExceptionKind.FULFILLMENT_HOLD else set()

    def apply_hold_action(self, action: Action) -> bool:
        """Apply `action` when it is an operator's clearing of a 3PL hold; False for any other."""
        exc = self.s.view.open_exception
        if (
            not isinstance(action.request, RetryRequest)
            or exc is None
            or exc.kind is not ExceptionKind.FULFILLMENT_HOLD
        ):
            return False
        self.s.note(f"operator {action.name}", action.request.operator)
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
                await workflow.wait_condition(lambda: bool(s.fulfillment_updates), timeout=deadline - workflow.now())
            except TimeoutError:
                break
            await self.apply_fulfillment_updates()
        if undelivered():
            s.note("delivery not reported", f"within {wait}")
