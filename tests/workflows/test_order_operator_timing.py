"""An operator acts on an exception as soon as the order shows it: the action is taken even when
the exception's notification is still going out (the order view shows the exception before the
notify activity has finished), not refused as "the order is being processed"."""

from __future__ import annotations

import asyncio

from temporalio.testing import WorkflowEnvironment

from orderloop.contracts import Activities, RerouteRequest, Updates
from orderloop.model import ExceptionKind, OrderStatus
from tests.workflows.fakes import FakeWorld, onx_order
from tests.workflows.helpers import in_exception, update, wait_for


async def test_a_reroute_sent_while_the_exception_is_being_notified_is_applied(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    gate = asyncio.Event()
    world.configure(rejections=["east cannot ship hazmat"], notify_gate=gate)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1101", [("TSHIRT", 1)]))
        await wait_for(handle, in_exception(ExceptionKind.SHIPPING_REQUEST_REJECTED), "rejected")
        assert world.of(Activities.NOTIFY), "the exception's notification is under way"
        reroute = asyncio.create_task(update(handle, Updates.REROUTE, RerouteRequest(location_id="west")))
        await asyncio.sleep(0.5)
        assert not reroute.done(), "the reroute was answered before the notification went out"
        gate.set()
        result = await asyncio.wait_for(reroute, 30)
    assert result.view.status is OrderStatus.SENT_TO_FULFILLMENT
    assert [(r.request.location_id, r.state) for r in result.view.shipping_requests] == [
        ("east", "rejected"),
        ("west", "sent"),
    ]
