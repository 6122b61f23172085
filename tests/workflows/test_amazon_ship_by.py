"""Amazon's late-shipment risk on the ship-by clock (time-skipping): an Amazon order mapped by the
connector carries Amazon's LatestShipDate (`shipByWindow.latestDateTime`) as its ship-by date, so
the order breaches at Amazon's date, hours before the channel's default SLA would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from connectors.amazon import mapping
from orderloop.contracts import Signals
from orderloop.model import ExceptionKind
from tests.connectors.amazon.conftest import payload
from tests.workflows.fakes import FakeWorld, shipment_for
from tests.workflows.helpers import in_exception, sent_request, view_of, wait_for

pytestmark = pytest.mark.asyncio


async def test_an_amazon_order_breaches_at_amazons_latest_ship_date(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(ship_by_sla=timedelta(hours=48))
    async with world.worker(ts_env.client):
        latest = (await ts_env.get_current_time()).replace(microsecond=0) + timedelta(hours=3)
        raw = payload("order_unshipped.json")
        raw["fulfillment"]["shipByWindow"]["latestDateTime"] = latest.isoformat().replace("+00:00", "Z")
        order = mapping.map_order(
            raw, order_id="order/amazon/x", tenant_id="test", channel_id="amazon", received_at=latest
        )
        assert order.ship_by_date == latest
        # The order as the workflow's ingest sees it (onX, with the channel's ship-by date).
        handle = await world.start(ts_env.client, {**order.to_onx(), "shipByDate": latest.isoformat()})
        request = await sent_request(handle)
        assert (await view_of(handle)).ship_by_deadline == latest

        await ts_env.sleep(timedelta(hours=2, minutes=59))
        assert (await view_of(handle)).open_exception is None
        await ts_env.sleep(timedelta(minutes=2))
        view = await wait_for(handle, in_exception(ExceptionKind.SLA_BREACH), "sla breach at Amazon's date")
        assert view.open_exception is not None
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        await handle.result()
