"""Orders whose exception an edit resolves replay: the histories of an unmappable order fixed by
the channel's edit, and of a wholesale order off its case pack amended by the buyer, each run to
completion in the time-skipping server and replayed from their history (a worker that lost its
cache, or a query on an evicted order, replays them so)."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from orderloop.contracts import MARKERLESS_REVISION, ORDER_REVISION, ChannelEdit, Signals
from orderloop.model import ExceptionKind
from orderloop.temporal_client import data_converter
from tests.workflows.fakes import FakeWorld, onx_order, shipment_for
from tests.workflows.helpers import in_exception, sent_request, wait_for
from tests.workflows.test_wholesale_orders import wholesale
from workflows.order import OrderWorkflow


async def replays(handle: object) -> None:
    history = await handle.fetch_history()  # type: ignore[attr-defined]
    replayer = Replayer(workflows=[OrderWorkflow], data_converter=data_converter())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


async def test_an_unmappable_order_fixed_by_an_edit_replays(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, {"externalId": "re-1", "items": "not onx"})
        await wait_for(handle, in_exception(ExceptionKind.INVALID_ORDER), "invalid order")
        await handle.signal(Signals.CHANNEL_EDIT, ChannelEdit(raw_payload=onx_order("re-1", [("TSHIRT", 1)])))
        request = await sent_request(handle)
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        await handle.result()
    await replays(handle)


async def test_a_wholesale_order_amended_to_its_case_packs_replays(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, wholesale("re-2", [("TEE-6", 12, 6), ("MUG-12", 10, 12)]))
        await wait_for(handle, in_exception(ExceptionKind.CASE_PACK_VIOLATION), "case_pack_violation")
        amended = wholesale("re-2", [("TEE-6", 12, 6), ("MUG-12", 24, 12)])
        await handle.signal(Signals.CHANNEL_EDIT, ChannelEdit(raw_payload=amended))
        request = await sent_request(handle)
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        await handle.result()
    await replays(handle)


async def test_an_order_of_this_revision_asks_no_patch(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    assert world.revision == ORDER_REVISION >= MARKERLESS_REVISION
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, wholesale("re-3", [("TEE-6", 12, 6), ("MUG-12", 10, 12)]))
        await wait_for(handle, in_exception(ExceptionKind.CASE_PACK_VIOLATION), "case_pack_violation")
        await handle.signal(Signals.CHANNEL_EDIT, ChannelEdit(raw_payload=wholesale("re-3", [("MUG-12", 24, 12)])))
        request = await sent_request(handle)
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        await handle.result()
    history = await handle.fetch_history()
    markers = [
        e.marker_recorded_event_attributes.marker_name
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    ]
    assert markers and "core_patch" not in markers  # local activities' markers only
