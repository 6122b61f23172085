"""Wholesale orders in the order workflow (time-skipping): a line that breaks its case pack is
an exception at ingest with the reason (the buyer's amended order, an operator's retry or a
cancel answers it); nothing is allocated or sent before the buyer's ship-not-before date (a
durable timer); the cancel-by date, less the channel's lead, is the ship-by deadline; and a
channel that confirms allocations is told each line's decision once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from orderloop.contracts import Activities, CancelRequest, ChannelEdit, RetryRequest, Signals, Updates
from orderloop.model import ExceptionKind, OrderStatus
from tests.workflows.fakes import FakeWorld, onx_order, shipment_for
from tests.workflows.helpers import in_exception, sent_request, update, view_of, wait_for

pytestmark = pytest.mark.asyncio


def wholesale(
    external_id: str,
    lines: list[tuple[str, int, int | None]],
    *,
    ship_after: datetime | None = None,
    cancel_by: datetime | None = None,
) -> dict[str, Any]:
    payload = onx_order(external_id, [(sku, qty) for sku, qty, _ in lines])
    for item, (_, _, pack) in zip(payload["lineItems"], lines, strict=True):
        if pack is not None:
            item["casePack"] = pack
    terms: dict[str, Any] = {"customerPoNumber": f"PO-{external_id}", "buyerAccount": "acme-retail"}
    if ship_after is not None:
        terms["shipAfterDate"] = ship_after.isoformat()
    if cancel_by is not None:
        terms["shipCancelByDate"] = cancel_by.isoformat()
    return {**payload, "orderType": "wholesale", "wholesale": terms}


async def now_of(env: WorkflowEnvironment) -> datetime:
    return (await env.get_current_time()).replace(microsecond=0)


async def test_a_line_breaking_its_case_pack_waits_in_an_exception_until_the_buyer_amends_it(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, wholesale("w-1", [("TEE-6", 12, 6), ("MUG-12", 10, 12)]))
        view = await wait_for(handle, in_exception(ExceptionKind.CASE_PACK_VIOLATION), "case_pack_violation")
        exc = view.open_exception
        assert exc is not None
        assert exc.message == "line 2 (MUG-12) orders 10, not a multiple of its case pack of 12"
        assert exc.detail == {"lines": [exc.message]}
        assert not world.of(Activities.ALLOCATE), "nothing is routed while a line breaks its case pack"
        amended = wholesale("w-1", [("TEE-6", 12, 6), ("MUG-12", 24, 12)])
        await handle.signal(Signals.CHANNEL_EDIT, ChannelEdit(raw_payload=amended))
        request = await sent_request(handle)
        assert [(line.sku, line.quantity) for line in request.line_items] == [("TEE-6", 12), ("MUG-12", 24)]
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    assert view.exceptions[0].kind is ExceptionKind.CASE_PACK_VIOLATION and view.exceptions[0].resolved_at


async def test_an_operator_retry_ships_a_case_pack_violation_as_ordered_and_cancel_cancels(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    async with world.worker(ts_env.client):
        kept = await world.start(ts_env.client, wholesale("w-2", [("MUG-12", 10, 12)]))
        dropped = await world.start(ts_env.client, wholesale("w-3", [("MUG-12", 5, 12)]))
        for handle in (kept, dropped):
            await wait_for(handle, in_exception(ExceptionKind.CASE_PACK_VIOLATION), "case_pack_violation")
        result = await update(kept, Updates.RETRY, RetryRequest(operator="ana"))
        assert result.view.open_exception is None
        request = await sent_request(kept)
        assert [(line.sku, line.quantity) for line in request.line_items] == [("MUG-12", 10)]
        await update(dropped, Updates.CANCEL, CancelRequest(operator="ana", reason="buyer will reorder by the case"))
        assert (await dropped.result()).status is OrderStatus.CANCELLED
        await kept.signal(Signals.SHIPMENT, shipment_for(request))
        assert (await kept.result()).status is OrderStatus.COMPLETED
    assert len(world.of(Activities.SEND_SHIPPING_REQUEST)) == 1


async def test_a_ship_not_before_date_holds_the_order_until_then(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    async with world.worker(ts_env.client):
        opens = await now_of(ts_env) + timedelta(days=3)
        handle = await world.start(ts_env.client, wholesale("w-4", [("TEE-6", 12, 6)], ship_after=opens))
        view = await wait_for(handle, lambda v: v.status is OrderStatus.AWAITING_SHIP_DATE, "awaiting ship date")
        # The channel's SLA counts from when the window opens, not from the order.
        assert view.ship_by_deadline == opens + world.ship_by_sla
        await ts_env.sleep(timedelta(days=2, hours=23))
        view = await view_of(handle)
        assert view.status is OrderStatus.AWAITING_SHIP_DATE
        assert not world.of(Activities.ALLOCATE) and not world.of(Activities.SEND_SHIPPING_REQUEST)
        await ts_env.sleep(timedelta(hours=2))
        request = await sent_request(handle)
        assert request.created_at >= opens
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    events = [t.event for t in view.timeline]
    assert events.index("awaiting ship date") < events.index("ship window open") < events.index("allocated")


async def test_a_cancel_during_the_ship_window_wait_sends_nothing(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    async with world.worker(ts_env.client):
        opens = await now_of(ts_env) + timedelta(days=10)
        handle = await world.start(ts_env.client, wholesale("w-5", [("TEE-6", 6, 6)], ship_after=opens))
        await wait_for(handle, lambda v: v.status is OrderStatus.AWAITING_SHIP_DATE, "awaiting ship date")
        await update(handle, Updates.CANCEL, CancelRequest(operator="ana", reason="PO withdrawn"))
        view = await handle.result()
    assert view.status is OrderStatus.CANCELLED
    assert not world.of(Activities.ALLOCATE) and not world.of(Activities.SEND_SHIPPING_REQUEST)


async def test_an_unshipped_wholesale_order_opens_sla_breach_a_lead_before_its_cancel_by_date(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(ship_by_sla=timedelta(hours=48), ship_cancel_lead=timedelta(days=1))
    async with world.worker(ts_env.client):
        cancel_by = await now_of(ts_env) + timedelta(days=5)
        handle = await world.start(ts_env.client, wholesale("w-6", [("TEE-6", 6, 6)], cancel_by=cancel_by))
        request = await sent_request(handle)
        # The channel's 48-hour SLA does not apply: the window's deadline does.
        assert (await view_of(handle)).ship_by_deadline == cancel_by - timedelta(days=1)
        await ts_env.sleep(timedelta(days=3, hours=23))
        assert (await view_of(handle)).open_exception is None
        await ts_env.sleep(timedelta(hours=2))
        view = await wait_for(handle, in_exception(ExceptionKind.SLA_BREACH), "sla_breach before cancel-by")
        exc = view.open_exception
        assert exc is not None and exc.detail["shipCancelByDate"] == cancel_by.isoformat()
        assert "the buyer cancels if not shipped by" in exc.message
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        await handle.result()


async def test_a_channel_that_confirms_allocations_is_told_each_lines_decision_once(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    # The first request is refused: the order is rerouted and allocated again, and not confirmed again.
    world.configure(confirms_allocation=True, rejections=["warehouse closed"])
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, wholesale("w-7", [("TEE-6", 12, 6), ("MUG-12", 24, 12)]))
        await wait_for(handle, in_exception(ExceptionKind.SHIPPING_REQUEST_REJECTED), "rejected")
        await update(handle, Updates.RETRY, RetryRequest(operator="ana"))
        request = await sent_request(handle, 2)
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        view = await handle.result()
    confirmed = world.of(Activities.CONFIRM_ALLOCATION)
    assert len(confirmed) == 1
    assert [(d.line_id, d.sku, d.ordered, d.accepted, d.status) for d in confirmed[0].lines] == [
        ("1", "TEE-6", 12, 12, "accepted"),
        ("2", "MUG-12", 24, 24, "accepted"),
    ]
    names = world.names()
    assert names.index(Activities.CONFIRM_ALLOCATION) < names.index(Activities.SEND_SHIPPING_REQUEST)
    assert view.status is OrderStatus.COMPLETED and any(t.event == "allocation confirmed" for t in view.timeline)


async def test_a_channel_that_does_not_confirm_allocations_is_not_asked(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, wholesale("w-8", [("TEE-6", 6, 6)]))
        await handle.signal(Signals.SHIPMENT, shipment_for(await sent_request(handle)))
        await handle.result()
    assert not world.of(Activities.CONFIRM_ALLOCATION)
