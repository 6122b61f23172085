"""What the 3PL says besides shipping: a hold or an exception at the 3PL opens the order's
`fulfillment_hold` with the 3PL's reason (cleared by the 3PL's release, by the request's shipment,
or by an operator's retry), and a delivery is recorded on its request, also after completion
while the fulfillment channel's `await_delivery` lasts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from orderloop.activity_models import NotificationLevel
from orderloop.contracts import (
    Activities,
    FulfillmentStatus,
    FulfillmentUpdate,
    RetryRequest,
    Signals,
    Updates,
)
from orderloop.model import ExceptionKind, OrderStatus, OrderView, ShippingRequest
from tests.workflows.fakes import FakeWorld, onx_order, shipment_for
from tests.workflows.helpers import in_exception, sent_request, until_notified, update, wait_for


async def _held(handle: WorkflowHandle[Any, OrderView], request: ShippingRequest, reason: str) -> OrderView:
    """Signal the 3PL's hold of `request` and wait for the order's exception."""
    hold = FulfillmentUpdate(request_id=request.id, status=FulfillmentStatus.ON_HOLD, reason=reason)
    await handle.signal(Signals.FULFILLMENT_UPDATE, hold)
    return await wait_for(handle, in_exception(ExceptionKind.FULFILLMENT_HOLD), "fulfillment hold")


async def test_a_3pl_hold_opens_fulfillment_hold_with_its_reason_and_the_shipment_clears_it(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("4001", [("TSHIRT", 1)]))
        request = await sent_request(handle)
        view = await _held(handle, request, "address unverified")
        exc = view.open_exception
        assert exc is not None and "address unverified" in exc.message
        assert exc.detail == {"requestId": request.id, "status": "on_hold", "reason": "address unverified"}
        await until_notified(world, 1, "the hold notified", lambda n: n.level is NotificationLevel.EXCEPTION)
        notes = [n for n in world.of(Activities.NOTIFY) if n.level is NotificationLevel.EXCEPTION]
        assert [n.kind for n in notes] == [ExceptionKind.FULFILLMENT_HOLD]
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    assert view.exceptions[-1].resolution == "the shipment proceeded"


async def test_a_hold_is_cleared_by_the_3pls_release_or_by_an_operator(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("4002", [("TSHIRT", 1)]))
        request = await sent_request(handle)
        await _held(handle, request, "fraud review")
        released = FulfillmentUpdate(request_id=request.id, status=FulfillmentStatus.RELEASED)
        await handle.signal(Signals.FULFILLMENT_UPDATE, released)
        view = await wait_for(handle, lambda v: v.open_exception is None, "released")
        assert view.exceptions[-1].resolution == "released by wms"
        short = FulfillmentUpdate(request_id=request.id, status=FulfillmentStatus.EXCEPTION, reason="short at bin A3")
        await handle.signal(Signals.FULFILLMENT_UPDATE, short)
        view = await wait_for(handle, in_exception(ExceptionKind.FULFILLMENT_HOLD), "exception")
        assert view.open_exception is not None and "cannot ship" in view.open_exception.message
        result = await update(handle, Updates.RETRY, RetryRequest(operator="ops"))
        assert result.view.open_exception is None
        assert result.view.exceptions[-1].resolution == "cleared by an operator (sorted out at the 3PL)"
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        assert (await handle.result()).status is OrderStatus.COMPLETED


async def test_a_hold_of_one_request_is_not_cleared_by_the_shipment_of_another(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(split=True)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("4003", [("TSHIRT", 1), ("MUG", 1)]))
        first, second = await sent_request(handle, 1), await sent_request(handle, 2)
        await _held(handle, second, "address")
        await handle.signal(Signals.SHIPMENT, shipment_for(first))
        view = await wait_for(
            handle,
            lambda v: v.status is not OrderStatus.SENT_TO_FULFILLMENT and any(t.event == "shipped" for t in v.timeline),
            "first shipped",
        )
        assert view.open_exception is not None and view.open_exception.kind is ExceptionKind.FULFILLMENT_HOLD


async def test_a_delivery_is_recorded_after_the_order_completed_while_await_delivery_lasts(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(await_delivery=timedelta(days=14), split=True)
    delivered_at = datetime(2026, 3, 5, 18, 0, tzinfo=UTC)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("4004", [("TSHIRT", 1), ("MUG", 1)]))
        first, second = await sent_request(handle, 1), await sent_request(handle, 2)
        # No time skipped while the order waits completed: its 14 days must not pass before the signals.
        with ts_env.auto_time_skipping_disabled():
            await handle.signal(Signals.SHIPMENT, shipment_for(first))
            await handle.signal(Signals.SHIPMENT, shipment_for(second))
            await wait_for(handle, lambda v: v.status is OrderStatus.COMPLETED, "completed")
            # The first parcel's delivery reported twice: the order still waits for the second's,
            # so the repeat reaches it (the last delivery ends the wait, and the workflow).
            delivered = FulfillmentUpdate(request_id=first.id, status=FulfillmentStatus.DELIVERED, at=delivered_at)
            await handle.signal(Signals.FULFILLMENT_UPDATE, delivered)
            await handle.signal(Signals.FULFILLMENT_UPDATE, delivered)
            await wait_for(handle, lambda v: v.shipping_requests[0].delivered_at is not None, "first delivered")
            last = FulfillmentUpdate(request_id=second.id, status=FulfillmentStatus.DELIVERED)
            await handle.signal(Signals.FULFILLMENT_UPDATE, last)
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    assert view.shipping_requests[0].delivered_at == delivered_at
    assert view.shipping_requests[1].delivered_at is not None
    assert [t.event for t in view.timeline].count("delivered") == 2, "the repeated delivery is recorded once"


async def test_an_order_whose_delivery_is_never_reported_closes_when_await_delivery_ends(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(await_delivery=timedelta(days=14))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("4005", [("TSHIRT", 1)]))
        await handle.signal(Signals.SHIPMENT, shipment_for(await sent_request(handle)))
        await wait_for(handle, lambda v: v.status is OrderStatus.COMPLETED, "completed")
        await ts_env.sleep(timedelta(days=15))
        view = await handle.result()
    assert view.shipping_requests[0].delivered_at is None
    assert view.timeline[-1].event == "delivery not reported"
    assert view.status is OrderStatus.COMPLETED
