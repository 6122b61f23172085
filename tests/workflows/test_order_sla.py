"""The ship-by clock: it starts when the order is accepted (or is the channel's own ship-by
date), runs over every state until every unit shipped (and no longer, whatever the tracking push
waits for), counts the channel's business days, and warns before the breach."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from orderloop.activity_models import AllocateOutcome, NotificationLevel
from orderloop.contracts import Activities, ChannelCancel, ErrorTypes, RetryRequest, Signals, Updates
from orderloop.model import ExceptionKind, OrderStatus
from orderloop.sla import ShipByCalendar, ship_by_deadline
from tests.workflows.fakes import FakeWorld, onx_order, shipment_for
from tests.workflows.helpers import in_exception, sent_request, until_notified, update, view_of, wait_for

pytestmark = pytest.mark.asyncio


def sla_notices(world: FakeWorld) -> list[NotificationLevel]:
    return [n.level for n in world.of(Activities.NOTIFY) if n.kind is ExceptionKind.SLA_BREACH]


async def test_an_order_waiting_in_out_of_stock_breaches_and_opens_sla_breach_once_sent(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    # Re-checks after 15, 45 and 105 minutes; the third finds stock, after the 1 h deadline.
    world.configure(ship_by_sla=timedelta(hours=1), allocations=[AllocateOutcome.OUT_OF_STOCK] * 3)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1030", [("TSHIRT", 1)]))
        await wait_for(handle, in_exception(ExceptionKind.OUT_OF_STOCK), "out of stock")
        await ts_env.sleep(timedelta(minutes=61))
        view = await view_of(handle)
        assert view.open_exception is not None and view.open_exception.kind is ExceptionKind.OUT_OF_STOCK
        await until_notified(world, 1, "the ship-by notices", lambda n: n.kind is ExceptionKind.SLA_BREACH)
        assert sla_notices(world) == [NotificationLevel.EXCEPTION], "the breach is notified beside out_of_stock"
        assert any(t.event == "ship-by deadline passed" for t in view.timeline)
        await ts_env.sleep(timedelta(minutes=45))
        request = await sent_request(handle)
        view = await wait_for(handle, in_exception(ExceptionKind.SLA_BREACH), "sla breach after send")
        assert view.exceptions[0].kind is ExceptionKind.OUT_OF_STOCK and view.exceptions[0].resolved_at is not None
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    assert view.exceptions[-1].resolution == "shipment received"


async def test_an_order_in_invalid_address_breaches_too(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    world.configure(ship_by_sla=timedelta(hours=2))
    async with world.worker(ts_env.client):
        order = onx_order("1031", [("TSHIRT", 1)])
        del order["shippingAddress"]
        handle = await world.start(ts_env.client, order)
        await wait_for(handle, in_exception(ExceptionKind.INVALID_ADDRESS), "invalid address")
        await ts_env.sleep(timedelta(hours=2, minutes=1))
        await wait_for(handle, lambda v: any(t.event == "ship-by deadline passed" for t in v.timeline), "breach")
        await until_notified(world, 1, "the ship-by notices", lambda n: n.kind is ExceptionKind.SLA_BREACH)
        assert sla_notices(world) == [NotificationLevel.EXCEPTION]
        await handle.signal(Signals.CHANNEL_CANCEL, ChannelCancel(reason="test over"))
        await handle.result()


async def test_a_hold_window_longer_than_the_sla_breaches_before_anything_is_sent(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(ship_by_sla=timedelta(hours=1), hold_window=timedelta(hours=2))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1032", [("TSHIRT", 1)]))
        await ts_env.sleep(timedelta(hours=1, minutes=1))
        view = await wait_for(handle, in_exception(ExceptionKind.SLA_BREACH), "sla breach in the hold window")
        assert not world.of(Activities.SEND_SHIPPING_REQUEST)
        await ts_env.sleep(timedelta(hours=1))
        request = await sent_request(handle)
        view = await view_of(handle)
        assert view.open_exception is not None and view.open_exception.kind is ExceptionKind.SLA_BREACH
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    assert [e.resolution for e in view.exceptions] == ["shipment received"]


async def test_a_warning_goes_out_before_the_breach(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    world.configure(ship_by_warning=timedelta(hours=4))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1033", [("TSHIRT", 1)]))
        request = await sent_request(handle)
        await ts_env.sleep(timedelta(hours=44, minutes=1))
        await wait_for(handle, lambda v: any(t.event == "ship-by deadline near" for t in v.timeline), "warning")
        await until_notified(world, 1, "the ship-by notices", lambda n: n.kind is ExceptionKind.SLA_BREACH)
        assert sla_notices(world) == [NotificationLevel.WARNING]
        assert (await view_of(handle)).open_exception is None
        await ts_env.sleep(timedelta(hours=4))
        await wait_for(handle, in_exception(ExceptionKind.SLA_BREACH), "sla breach")
        await until_notified(world, 2, "the ship-by notices", lambda n: n.kind is ExceptionKind.SLA_BREACH)
        assert sla_notices(world) == [NotificationLevel.WARNING, NotificationLevel.EXCEPTION]
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        await handle.result()


async def test_the_channels_own_ship_by_date_is_the_deadline(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    async with world.worker(ts_env.client):
        started = await ts_env.get_current_time()
        ship_by = started + timedelta(hours=3)
        handle = await world.start(ts_env.client, onx_order("1034", [("TSHIRT", 1)], shipByDate=ship_by.isoformat()))
        request = await sent_request(handle)
        view = await view_of(handle)
        assert view.order is not None and view.order.ship_by_date == ship_by
        assert view.ship_by_deadline == ship_by
        await ts_env.sleep(timedelta(hours=3, minutes=1))
        await wait_for(handle, in_exception(ExceptionKind.SLA_BREACH), "sla breach at the channel's date")
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        await handle.result()


async def test_business_days_and_holidays_move_the_deadline(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    async with world.worker(ts_env.client):
        today = (await ts_env.get_current_time()).date()
        calendar = ShipByCalendar(business_days=True, holidays=frozenset(today + timedelta(days=i) for i in range(4)))
        world.configure(ship_by_calendar=calendar, ship_by_sla=timedelta(hours=24))
        handle = await world.start(ts_env.client, onx_order("1035", [("TSHIRT", 1)]))
        request = await sent_request(handle)
        view = await view_of(handle)
        started = (await handle.describe()).start_time
        assert view.ship_by_deadline == ship_by_deadline(started, timedelta(hours=24), calendar)
        assert view.ship_by_deadline is not None and view.ship_by_deadline.date() > today + timedelta(days=4)
        # The last hour counted is on a business day (a whole one ends at the next midnight: run
        # on a Monday, the first business day is Friday and the deadline Saturday 00:00).
        last_counted = view.ship_by_deadline - timedelta(microseconds=1)
        assert last_counted.date() not in calendar.holidays and last_counted.weekday() < 5
        await ts_env.sleep(timedelta(days=3))
        assert (await view_of(handle)).open_exception is None, "holidays do not count"
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        await handle.result()


async def test_a_shipped_order_whose_tracking_was_refused_never_breaches_the_sla(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    rejection = ApplicationError("order is archived", type=ErrorTypes.CHANNEL_REJECTED, non_retryable=True)
    world.configure(push_failures=[rejection])
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1016", [("TSHIRT", 1)]))
        await handle.signal(Signals.SHIPMENT, shipment_for(await sent_request(handle)))
        await wait_for(handle, in_exception(ExceptionKind.TRACKING_REJECTED), "tracking rejected")
        await ts_env.sleep(timedelta(hours=49))
        view = await view_of(handle)
        assert [exc.kind for exc in view.exceptions] == [ExceptionKind.TRACKING_REJECTED]
        result = await update(handle, Updates.RETRY, RetryRequest())
        assert result.message in ("tracking pushed", "tracking push retried")
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    assert ExceptionKind.SLA_BREACH not in [n.kind for n in world.of(Activities.NOTIFY)]
