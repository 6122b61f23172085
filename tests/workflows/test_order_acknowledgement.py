"""Orders of a channel that wants each accepted order acknowledged (Walmart: within 4 hours of
the order) are acknowledged once mapped, before anything is routed; a refused acknowledgement
holds the order in the channel exception `ack_overdue`, due by the channel's window (escalated
when it passes), until `retry` acknowledges it; orders started before revision 5 are not
acknowledged by the workflow (their channel's connector does it before shipping)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from orderloop.contracts import Activities, ErrorTypes, RetryRequest, Signals, Updates
from orderloop.model import ExceptionKind, OrderStatus
from tests.workflows.fakes import FakeWorld, onx_order, shipment_for
from tests.workflows.helpers import in_exception, sent_request, update, wait_for

pytestmark = pytest.mark.asyncio

WITHIN = timedelta(hours=4)


async def test_an_order_is_acknowledged_before_it_is_routed(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    world.configure(acknowledge_within=WITHIN)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("8001", [("TSHIRT", 1)]))
        await handle.signal(Signals.SHIPMENT, shipment_for(await sent_request(handle)))
        view = await handle.result()
    names = world.names()
    assert names.index(Activities.ACKNOWLEDGE_ON_CHANNEL) < names.index(Activities.ALLOCATE)
    assert len(world.of(Activities.ACKNOWLEDGE_ON_CHANNEL)) == 1
    assert any(t.event == "acknowledged" for t in view.timeline) and view.status is OrderStatus.COMPLETED


async def test_a_refused_acknowledgement_holds_the_order_in_ack_overdue_until_retry(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    refusal = ApplicationError(
        "PO is not in a state to acknowledge", type=ErrorTypes.CHANNEL_REJECTED, non_retryable=True
    )
    world.configure(acknowledge_within=WITHIN, ack_failures=[refusal], escalation_delay=timedelta(days=2))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("8002", [("TSHIRT", 1)]))
        view = await wait_for(handle, in_exception(ExceptionKind.CHANNEL_EXCEPTION), "ack_overdue")
        exc = view.open_exception
        assert exc is not None and exc.channel_kind == "ack_overdue" and "not in a state" in exc.message
        assert view.order is not None and exc.deadline == view.order.created_at + WITHIN
        assert not world.of(Activities.ALLOCATE), "nothing is routed before the channel has the acknowledgement"
        await ts_env.sleep(WITHIN + timedelta(minutes=1))
        view = await wait_for(handle, lambda v: any(t.event == "channel deadline passed" for t in v.timeline), "due")
        result = await update(handle, Updates.RETRY, RetryRequest(operator="ana"))
        assert result.view.open_exception is None
        assert result.view.exceptions[0].resolution == "acknowledged"
        await handle.signal(Signals.SHIPMENT, shipment_for(await sent_request(handle)))
        view = await handle.result()
    assert len(world.of(Activities.ACKNOWLEDGE_ON_CHANNEL)) == 2 and view.status is OrderStatus.COMPLETED


async def test_an_order_started_before_revision_5_is_not_acknowledged_by_the_workflow(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(acknowledge_within=WITHIN, revision=4)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("8003", [("TSHIRT", 1)]))
        await handle.signal(Signals.SHIPMENT, shipment_for(await sent_request(handle)))
        view = await handle.result()
    assert not world.of(Activities.ACKNOWLEDGE_ON_CHANNEL) and view.status is OrderStatus.COMPLETED
