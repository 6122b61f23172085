"""A cancel or an edit made by hand in the 3PL's own UI sends no webhook: the shipment poll reads
the request back, and a request cancelled there or gone is the 3PL's cancel (the units released,
`shipping_request_rejected` for the operator), one changed there is `fulfillment_changed` with
the diff until an operator accepts it. Never silence."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from orderloop.activity_models import RequestCheck, RequestCondition
from orderloop.contracts import Activities, RetryRequest, Signals, Updates
from orderloop.model import ExceptionKind, OrderStatus, ShippingRequestState
from tests.workflows.fakes import FakeWorld, onx_order, shipment_for
from tests.workflows.helpers import in_exception, sent_request, update, view_of, wait_for


@pytest.mark.parametrize(
    ("condition", "detail"),
    [
        (RequestCondition.CANCELLED, "cancelled at the vendor (status cancelled)"),
        (RequestCondition.MISSING, "the vendor no longer knows wms-1"),
    ],
    ids=["cancelled", "missing"],
)
async def test_a_request_cancelled_or_lost_at_the_3pl_is_found_by_the_shipment_poll(
    ts_env: WorkflowEnvironment, world: FakeWorld, condition: RequestCondition, detail: str
) -> None:
    world.configure(shipment_poll_every=timedelta(minutes=30))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("5001", [("TSHIRT", 2)]))
        request = await sent_request(handle)
        world.checks[request.id] = RequestCheck(condition=condition, detail=detail)
        await ts_env.sleep(timedelta(minutes=31))
        view = await wait_for(handle, in_exception(ExceptionKind.SHIPPING_REQUEST_REJECTED), "found by the poll")
    exc = view.open_exception
    assert exc is not None and "found by the shipment poll" in exc.message and detail in exc.message
    assert view.shipping_requests[0].state is ShippingRequestState.CANCELLED
    assert [r.line_ids for r in world.of(Activities.RELEASE)] == [["1"]]


async def test_a_request_changed_at_the_3pl_is_an_exception_until_an_operator_accepts_it(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(shipment_poll_every=timedelta(minutes=30))
    changed = RequestCheck(condition=RequestCondition.CHANGED, detail="TSHIRT: 2 sent, 1 at the vendor")
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("5002", [("TSHIRT", 2)]))
        request = await sent_request(handle)
        world.checks[request.id] = changed
        await ts_env.sleep(timedelta(minutes=31))
        view = await wait_for(handle, in_exception(ExceptionKind.FULFILLMENT_CHANGED), "changed")
        exc = view.open_exception
        assert exc is not None and exc.detail == {"requestId": request.id, "changes": changed.detail}
        result = await update(handle, Updates.RETRY, RetryRequest(operator="ops"))
        assert result.view.open_exception is None
        polls = len(world.of(Activities.FETCH_SHIPMENTS))
        await ts_env.sleep(timedelta(minutes=31))
        await wait_for(handle, lambda v: len(world.of(Activities.FETCH_SHIPMENTS)) > polls, "polled again")
        view = await view_of(handle)
        assert view.open_exception is None and view.status is OrderStatus.SENT_TO_FULFILLMENT
        await handle.signal(Signals.SHIPMENT, shipment_for(request, [("TSHIRT", 1)]))
        await handle.signal(Signals.SHIPMENT, shipment_for(request, [("TSHIRT", 1)], n=2))
        assert (await handle.result()).status is OrderStatus.COMPLETED
    assert [e.kind for e in view.exceptions] == [ExceptionKind.FULFILLMENT_CHANGED]
