"""A channel's edit after the hold window: applied while nothing was sent (or every request was
rejected); once a request is with a fulfillment channel, the order opens edit_after_release
with the diff, and the operator re-sends the edited order (`reroute`), keeps the order as sent
(`retry`) or cancels it."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment

from orderloop.contracts import (
    Activities,
    ChannelEdit,
    ErrorTypes,
    RerouteRequest,
    RetryRequest,
    Signals,
    Updates,
)
from orderloop.model import ExceptionKind, OrderStatus
from tests.workflows.fakes import ADDRESS, FakeWorld, onx_order, shipment_for
from tests.workflows.helpers import in_exception, refused, sent_request, update, view_of, wait_for

pytestmark = pytest.mark.asyncio

MOVED = {**ADDRESS, "address1": "2 Elm St"}


async def test_an_edit_after_send_opens_edit_after_release_and_reroute_resends_it(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1040", [("TSHIRT", 2)]))
        first = await sent_request(handle)
        edited = onx_order("1040", [("TSHIRT", 1), ("MUG", 1)], shippingAddress=MOVED)
        await handle.signal(Signals.CHANNEL_EDIT, ChannelEdit(raw_payload=edited))
        view = await wait_for(handle, in_exception(ExceptionKind.EDIT_AFTER_RELEASE), "edit_after_release")
        assert view.open_exception is not None
        diff = view.open_exception.detail["diff"]
        assert diff["lines"] == [
            {"lineId": "1", "before": {"sku": "TSHIRT", "quantity": 2}, "after": {"sku": "TSHIRT", "quantity": 1}},
            {"lineId": "2", "before": None, "after": {"sku": "MUG", "quantity": 1}},
        ]
        assert diff["shippingAddress"]["after"]["address1"] == "2 Elm St"
        assert view.order is not None and view.order.line_items[0].quantity == 2, "nothing applied yet"
        result = await update(handle, Updates.REROUTE, RerouteRequest(location_id="east"))
        assert result.message == "sent to fulfillment"
        second = await sent_request(handle, 2)
        await handle.signal(Signals.SHIPMENT, shipment_for(second))
        view = await handle.result()
    assert world.of(Activities.CANCEL_SHIPPING_REQUEST)[0].request.id == first.id
    assert world.of(Activities.RELEASE)[0].line_ids is None
    assert [(line.sku, line.quantity) for line in second.line_items] == [("TSHIRT", 1), ("MUG", 1)]
    assert second.shipping_address.address1 == "2 Elm St"
    assert view.status is OrderStatus.COMPLETED
    assert [state for state in (v.state for v in view.shipping_requests)] == ["cancelled", "shipped"]


async def test_an_edit_after_send_kept_as_sent_by_retry(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1041", [("TSHIRT", 2)]))
        request = await sent_request(handle)
        edited = onx_order("1041", [("TSHIRT", 3)])
        await handle.signal(Signals.CHANNEL_EDIT, ChannelEdit(raw_payload=edited))
        await wait_for(handle, in_exception(ExceptionKind.EDIT_AFTER_RELEASE), "edit_after_release")
        result = await update(handle, Updates.RETRY, RetryRequest())
        assert result.view.open_exception is None and result.view.status is OrderStatus.SENT_TO_FULFILLMENT
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    assert view.lines[0].ordered == 2 and not world.of(Activities.CANCEL_SHIPPING_REQUEST)
    assert view.exceptions[0].resolution == "edit not applied: the order ships as sent"


async def test_an_edit_after_a_partial_shipment_cannot_be_resent(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1042", [("TSHIRT", 2)]))
        request = await sent_request(handle)
        await handle.signal(Signals.SHIPMENT, shipment_for(request, [("TSHIRT", 1)]))
        await wait_for(handle, lambda v: v.status is OrderStatus.PARTIALLY_SHIPPED, "partially shipped")
        await handle.signal(Signals.CHANNEL_EDIT, ChannelEdit(raw_payload=onx_order("1042", [("TSHIRT", 1)])))
        await wait_for(handle, in_exception(ExceptionKind.EDIT_AFTER_RELEASE), "edit_after_release")
        refusal = await refused(handle, Updates.REROUTE, RerouteRequest(location_id="east"))
        assert refusal.type == ErrorTypes.ACTION_NOT_APPLICABLE
        await update(handle, Updates.RETRY, RetryRequest())
        await handle.signal(Signals.SHIPMENT, shipment_for(request, [("TSHIRT", 1)], n=2))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED


async def test_a_resend_the_3pl_cannot_cancel_leaves_the_edit_unapplied(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(cancel_too_late=True)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1043", [("TSHIRT", 2)]))
        request = await sent_request(handle)
        await handle.signal(Signals.CHANNEL_EDIT, ChannelEdit(raw_payload=onx_order("1043", [("TSHIRT", 1)])))
        await wait_for(handle, in_exception(ExceptionKind.EDIT_AFTER_RELEASE), "edit_after_release")
        result = await update(handle, Updates.REROUTE, RerouteRequest(location_id="west"))
        assert "not applied" in result.message
        view = await view_of(handle)
        assert view.open_exception is not None and view.open_exception.kind is ExceptionKind.EDIT_AFTER_RELEASE
        assert len(view.shipping_requests) == 1 and not world.of(Activities.RELEASE)
        await update(handle, Updates.RETRY, RetryRequest())
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED


async def test_an_edit_while_every_request_is_rejected_is_applied(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(rejections=["address not served"])
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1044", [("TSHIRT", 2)]))
        await wait_for(handle, in_exception(ExceptionKind.SHIPPING_REQUEST_REJECTED), "rejected")
        edited = onx_order("1044", [("TSHIRT", 1)], shippingAddress=MOVED)
        await handle.signal(Signals.CHANNEL_EDIT, ChannelEdit(raw_payload=edited))
        request = await sent_request(handle, 2)
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        view = await handle.result()
    assert any(t.event == "edit applied" for t in view.timeline)
    assert [(line.sku, line.quantity) for line in request.line_items] == [("TSHIRT", 1)]
    assert request.shipping_address.address1 == "2 Elm St" and request.location_id == "west"
    assert view.status is OrderStatus.COMPLETED
