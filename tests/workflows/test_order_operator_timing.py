"""An operator acts on an exception as soon as the order shows it: the action is taken even when
the exception's notification is still going out (the order view shows the exception before the
notify activity has finished), not refused as "the order is being processed"."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from orderloop.contracts import Activities, ChannelEdit, RerouteRequest, RetryRequest, Signals, Updates
from orderloop.model import ExceptionKind, OrderStatus, OrderView
from tests.workflows.fakes import ADDRESS, FakeWorld, onx_order
from tests.workflows.helpers import in_exception, sent_request, until, update, wait_for


async def test_a_reroute_sent_while_the_exception_is_being_notified_is_applied(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    gate = asyncio.Event()
    world.configure(rejections=["east cannot ship hazmat"], notify_gate=gate)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1101", [("TSHIRT", 1)]))
        await wait_for(handle, in_exception(ExceptionKind.SHIPPING_REQUEST_REJECTED), "rejected")
        # The view shows the exception before the notify activity starts: wait until it has.
        await until(lambda: bool(world.of(Activities.NOTIFY)), "the exception's notification is under way")
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


async def _edited_after_send_with_notice_held(
    ts_env: WorkflowEnvironment, world: FakeWorld, order_id: str, gate: asyncio.Event
) -> WorkflowHandle[Any, OrderView]:
    """An order sent to fulfillment that the channel edits: it shows edit_after_release while the
    exception's notification is still held at the gate."""
    handle = await world.start(ts_env.client, onx_order(order_id, [("TSHIRT", 2)]))
    await sent_request(handle)
    edited = onx_order(order_id, [("TSHIRT", 1)], shippingAddress={**ADDRESS, "address1": "2 Elm St"})
    await handle.signal(Signals.CHANNEL_EDIT, ChannelEdit(raw_payload=edited))
    await wait_for(handle, in_exception(ExceptionKind.EDIT_AFTER_RELEASE), "edit_after_release")
    await until(lambda: bool(world.of(Activities.NOTIFY)), "the exception's notification is under way")
    return handle


async def test_a_reroute_of_an_edit_after_release_sent_while_it_is_being_notified_is_applied(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    gate = asyncio.Event()
    world.configure(notify_gate=gate)
    async with world.worker(ts_env.client):
        handle = await _edited_after_send_with_notice_held(ts_env, world, "1102", gate)
        reroute = asyncio.create_task(update(handle, Updates.REROUTE, RerouteRequest(location_id="east")))
        await asyncio.sleep(0.5)
        assert not reroute.done(), "the reroute was answered before the notification went out"
        gate.set()
        result = await asyncio.wait_for(reroute, 30)
    assert result.message == "sent to fulfillment"
    assert [r.state for r in result.view.shipping_requests] == ["cancelled", "sent"]


async def test_a_retry_of_an_edit_after_release_sent_while_it_is_being_notified_keeps_the_order_as_sent(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    gate = asyncio.Event()
    world.configure(notify_gate=gate)
    async with world.worker(ts_env.client):
        handle = await _edited_after_send_with_notice_held(ts_env, world, "1103", gate)
        retry = asyncio.create_task(update(handle, Updates.RETRY, RetryRequest()))
        await asyncio.sleep(0.5)
        assert not retry.done(), "the retry was answered before the notification went out"
        gate.set()
        result = await asyncio.wait_for(retry, 30)
    assert result.view.open_exception is None and result.view.status is OrderStatus.SENT_TO_FULFILLMENT
    assert result.view.exceptions[0].resolution == "edit not applied: the order ships as sent"
