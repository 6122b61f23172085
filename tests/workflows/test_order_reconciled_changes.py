"""Channel changes the order poll delivers (its webhook was lost, or came too): each counts once.
An edit carries the channel's version of the order (`updated_at`); one the order holds already
is ignored, and so is a second cancel of an order whose cancel is under way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from orderloop.contracts import Activities, ChannelCancel, ChannelEdit, Signals
from orderloop.model import ExceptionKind, OrderStatus
from tests.workflows.fakes import FakeWorld, onx_order
from tests.workflows.helpers import in_exception, sent_request, view_of, wait_for


async def test_an_edit_the_poll_finds_after_its_webhook_is_applied_once(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(hold_window=timedelta(minutes=10))
    version = datetime.now(UTC) + timedelta(minutes=1)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("3001", [("TSHIRT", 2)]))
        await wait_for(handle, lambda v: v.status is OrderStatus.IN_HOLD_WINDOW, "hold window")
        edited = onx_order("3001", [("TSHIRT", 1), ("HOODIE", 3)])
        await handle.signal(Signals.CHANNEL_EDIT, ChannelEdit(raw_payload=edited, event_id="wh-1", updated_at=version))
        await wait_for(handle, lambda v: any(t.event == "edit applied" for t in v.timeline), "edit applied")
        polled = ChannelEdit(raw_payload=edited, event_id="poll/1", updated_at=version, polled=True)
        await handle.signal(Signals.CHANNEL_EDIT, polled)
        stale = ChannelEdit(raw_payload=onx_order("3001", [("MUG", 9)]), updated_at=version - timedelta(seconds=30))
        await handle.signal(Signals.CHANNEL_EDIT, stale)
        view = await wait_for(handle, lambda v: [t.event for t in v.timeline].count("edit ignored") == 2, "ignored")
        assert [t.event for t in view.timeline].count("edit applied") == 1
        await ts_env.sleep(timedelta(minutes=11))
        request = await sent_request(handle)
    assert [(line.sku, line.quantity) for line in request.line_items] == [("TSHIRT", 1), ("HOODIE", 3)]
    assert len(world.of(Activities.INGEST)) == 2


async def test_a_newer_edit_the_poll_finds_is_applied(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    world.configure(hold_window=timedelta(minutes=10))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("3002", [("TSHIRT", 2)]))
        await wait_for(handle, lambda v: v.status is OrderStatus.IN_HOLD_WINDOW, "hold window")
        edited = onx_order("3002", [("MUG", 1)])
        later = datetime.now(UTC) + timedelta(minutes=1)
        await handle.signal(Signals.CHANNEL_EDIT, ChannelEdit(raw_payload=edited, updated_at=later, polled=True))
        await wait_for(handle, lambda v: any(t.event == "edit applied" for t in v.timeline), "edit applied")
        await ts_env.sleep(timedelta(minutes=11))
        request = await sent_request(handle)
    assert [(line.sku, line.quantity) for line in request.line_items] == [("MUG", 1)]


async def test_a_cancel_the_poll_finds_after_its_webhook_is_not_run_twice(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(cancel_too_late=True)
    version = datetime.now(UTC)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("3003", [("TSHIRT", 1)]))
        await sent_request(handle)
        await handle.signal(Signals.CHANNEL_CANCEL, ChannelCancel(event_id="wh-c", updated_at=version))
        await wait_for(handle, in_exception(ExceptionKind.CANCEL_AFTER_SHIP), "cancel after ship")
        polled = ChannelCancel(reason="found by the poll", event_id="poll/c", updated_at=version)
        await handle.signal(Signals.CHANNEL_CANCEL, polled)
        await wait_for(handle, lambda v: any(t.event == "cancel ignored" for t in v.timeline), "cancel ignored")
        view = await view_of(handle)
    assert len(world.of(Activities.CANCEL_SHIPPING_REQUEST)) == 1
    assert view.open_exception is not None and view.open_exception.kind is ExceptionKind.CANCEL_AFTER_SHIP
