"""Walmart's deadline on an order, in the time-skipping environment: the purchase order's
`estimatedShipDate`, mapped by the Walmart connector, is the ship-by deadline; an order not
shipped by it opens `sla_breach` there, and the breach escalates (after the channel's
`escalation_delay`) long before Walmart auto-cancels the lines at the ship date + 4 days."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from connectors.walmart.client import WalmartSettings
from connectors.walmart.mapping import map_order
from orderloop.activity_models import NotificationLevel
from orderloop.contracts import Activities, Signals
from orderloop.model import ExceptionKind, OrderStatus
from tests.workflows.fakes import FakeWorld, onx_order, shipment_for
from tests.workflows.helpers import in_exception, sent_request, until_notified, view_of, wait_for

pytestmark = pytest.mark.asyncio

PURCHASE_ORDER = Path(__file__).resolve().parents[1] / "connectors" / "walmart" / "fixtures" / "purchase_order.json"
# Walmart auto-cancels a line not shipped with valid tracking by its estimated ship date + 4 days.
AUTO_CANCEL_AFTER = timedelta(days=4)


async def test_a_walmart_order_breaches_at_its_estimated_ship_date_and_escalates_before_the_auto_cancel(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    now = await ts_env.get_current_time()
    po = copy.deepcopy(json.loads(PURCHASE_ORDER.read_text()))
    po["order"]["orderDate"] = int(now.timestamp() * 1000)
    po["order"]["shippingInfo"]["estimatedShipDate"] = int((now + timedelta(hours=30)).timestamp() * 1000)
    mapped = map_order(
        po,
        order_id="order/test/7001",
        tenant_id="test",
        channel_id="walmart",
        received_at=now,
        ship_methods=WalmartSettings().ship_methods,
    )
    assert mapped.ship_by_date is not None
    async with world.worker(ts_env.client):
        handle = await world.start(
            ts_env.client, onx_order("7001", [("TSHIRT", 1)], shipByDate=mapped.ship_by_date.isoformat())
        )
        request = await sent_request(handle)
        assert (await view_of(handle)).ship_by_deadline == mapped.ship_by_date
        await ts_env.sleep(timedelta(hours=29))
        assert (await view_of(handle)).open_exception is None, "the default 48 h SLA is not Walmart's date"
        await ts_env.sleep(timedelta(hours=1, minutes=1))
        await wait_for(handle, in_exception(ExceptionKind.SLA_BREACH), "sla breach at estimatedShipDate")
        await ts_env.sleep(world.escalation_delay)
        view = await wait_for(
            handle, lambda v: v.open_exception is not None and v.open_exception.escalated_at is not None, "escalation"
        )
        assert view.open_exception is not None and view.open_exception.escalated_at is not None
        assert view.open_exception.escalated_at < mapped.ship_by_date + AUTO_CANCEL_AFTER
        await until_notified(
            world, 2, "the breach and its escalation notified", lambda n: n.kind is ExceptionKind.SLA_BREACH
        )
        levels = [n.level for n in world.of(Activities.NOTIFY) if n.kind is ExceptionKind.SLA_BREACH]
        assert levels == [NotificationLevel.EXCEPTION, NotificationLevel.ESCALATION]
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
