"""Missed webhooks: an order whose webhook never reached Orderloop is started by the channel's
scheduled order poll, once; orders that did arrive are not started again; a cancel or an edit
of an accepted order whose webhook was lost reaches the order's workflow by the poll, once."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from temporalio.client import ScheduleHandle

from orderloop.contracts.scheduled_jobs import PollOrdersReport
from orderloop.stack import Stack
from orderloop.temporal_client import connect
from tests.integration.stack import Api, run_schedule_now
from tests.integration.test_channel_paths import ok, status_is
from tests.integration.test_order_loop import base_url, completed, new_id, order_body

pytestmark = pytest.mark.integration


async def run_poll_now(handle: ScheduleHandle) -> None:
    before = len((await handle.describe()).info.recent_actions)
    await handle.trigger()
    for _ in range(100):
        if len((await handle.describe()).info.recent_actions) > before:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the order poll schedule did not run")


async def test_an_order_whose_webhook_was_lost_is_started_by_the_poll_once(stack: Stack, api: Api) -> None:
    lost, delivered = new_id(), new_id()
    storefront = base_url(stack, "storefront")
    async with httpx.AsyncClient(timeout=10) as http:
        for external_id, deliver in ((lost, "false"), (delivered, "true")):
            placed = await http.post(
                f"{storefront}/_sandbox/orders", params={"deliver": deliver}, json=order_body(external_id)
            )
            assert placed.status_code in (200, 201, 202), placed.text
        await api.wait_order("storefront", delivered, completed)
        assert (await api.order("storefront", lost)).status_code == 404

        client = await connect(stack.address)
        handle = client.get_schedule_handle(f"{stack.task_queue_prefix}/order-poll/storefront")
        await run_poll_now(handle)
        view = await api.wait_order("storefront", lost, completed)
        assert view["rawPayload"]["externalId"] == lost
        # A second poll sees both orders again and starts neither.
        await run_poll_now(handle)
        await asyncio.sleep(1)
        requests = (await http.get(f"{base_url(stack, 'wms')}/_sandbox/requests", params={"method": "POST"})).json()
    for external_id in (lost, delivered):
        sent = [r for r in requests if r["path"] == "/shipping-requests" and external_id in json.dumps(r["body"])]
        assert len(sent) == 1, external_id


async def test_a_cancel_and_an_edit_whose_webhooks_were_lost_reach_the_order_by_the_poll_once(
    stack: Stack, api: Api
) -> None:
    cancelled, edited = new_id(), new_id()
    storefront, wms = base_url(stack, "storefront"), base_url(stack, "wms")
    async with httpx.AsyncClient(timeout=10) as http:
        await ok(await http.post(f"{wms}/_sandbox/config", json={"auto_ship": False}))
        try:
            for external_id in (cancelled, edited):
                await ok(await http.post(f"{storefront}/_sandbox/orders", json=order_body(external_id)))
                await api.wait_order("storefront", external_id, status_is("sent_to_fulfillment"), timeout=90)
            lost = {"deliver": "false"}
            await ok(await http.post(f"{storefront}/_sandbox/orders/{cancelled}/cancel", params=lost, json={}))
            await ok(await http.post(f"{storefront}/_sandbox/orders/{edited}/edit", params=lost, json={"note": "x"}))
            await asyncio.sleep(1)
            first = await run_schedule_now(stack, "order-poll/storefront", PollOrdersReport)
            view = await api.wait_order("storefront", cancelled, status_is("cancelled", "exception"))
            second = await run_schedule_now(stack, "order-poll/storefront", PollOrdersReport)
            edited_view = await api.wait_order("storefront", edited, status_is("sent_to_fulfillment"))
        finally:
            await ok(await http.post(f"{wms}/_sandbox/config", json={"auto_ship": True}))
    workflow_id = view["workflowId"]
    assert view["status"] == "cancelled", view["exceptions"]
    assert [s["state"] for s in view["shippingRequests"]] == ["cancelled"]
    assert workflow_id in first.cancels_delivered
    assert edited_view["workflowId"] in first.edits_delivered
    assert workflow_id not in second.cancels_delivered and edited_view["workflowId"] not in second.edits_delivered
    # The edit came after the release: it reached the order (which says what it did with it).
    assert any("edit" in entry["event"] for entry in edited_view["timeline"])


async def test_the_test_stack_pauses_the_slow_schedules_and_keeps_the_fast_ones(stack: Stack) -> None:
    client = await connect(stack.address)
    poll = await client.get_schedule_handle(f"{stack.task_queue_prefix}/order-poll/storefront").describe()
    reports = await client.get_schedule_handle(f"{stack.task_queue_prefix}/report-poll/files").describe()

    # The 10-minute order poll would fire by itself at :00, :10 ... in the middle of a test.
    assert poll.schedule.state.paused and "run_schedule_now" in (poll.schedule.state.note or "")
    assert not reports.schedule.state.paused  # every 5 s: tests wait for it
