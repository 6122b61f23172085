"""The order's locations as operators search them: a split order is found under each of its
locations (the KeywordList `FulfillmentLocations`); an order started before the list existed
keeps writing the comma-joined Keyword `FulfillmentLocation` it started with, so its history
replays and the operator API still finds it."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from orderloop.contracts import LOCATIONS_REVISION, SearchAttributes, Signals
from orderloop.model import OrderStatus
from tests.workflows.fakes import FakeWorld, onx_order, shipment_for
from tests.workflows.helpers import sent_request, view_of, wait_for


async def test_a_split_order_is_found_under_each_of_its_locations(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(split=True)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("2001", [("TSHIRT", 1), ("MUG", 2)]))
        await sent_request(handle, 2)
        await wait_for(handle, lambda v: v.status is OrderStatus.SENT_TO_FULFILLMENT, "sent")
        found = (await handle.describe()).typed_search_attributes
        assert found.get(SearchAttributes.LOCATIONS) == ["east", "west"]
        assert found.get(SearchAttributes.LOCATION) is None
        view = await view_of(handle)
        for n, sent in enumerate(view.shipping_requests, start=1):
            await handle.signal(Signals.SHIPMENT, shipment_for(sent.request, n=n))
        assert (await handle.result()).status is OrderStatus.COMPLETED


async def test_an_order_started_before_the_keyword_list_keeps_its_keyword(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(split=True, revision=LOCATIONS_REVISION - 1)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("2002", [("TSHIRT", 1), ("MUG", 2)]))
        await sent_request(handle, 2)
        await wait_for(handle, lambda v: v.status is OrderStatus.SENT_TO_FULFILLMENT, "sent")
        found = (await handle.describe()).typed_search_attributes
        assert found.get(SearchAttributes.LOCATION) == "east,west"
        assert found.get(SearchAttributes.LOCATIONS) is None
