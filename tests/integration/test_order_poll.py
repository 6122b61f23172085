"""Missed webhooks: an order whose webhook never reached Orderloop is started by the channel's
scheduled order poll, once; orders that did arrive are not started again."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from temporalio.client import ScheduleHandle

from orderloop.stack import Stack
from orderloop.temporal_client import connect
from tests.integration.stack import Api
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
        requests = (
            await http.get(f"{base_url(stack, 'wms')}/_sandbox/requests", params={"method": "POST"})
        ).json()
    for external_id in (lost, delivered):
        sent = [r for r in requests if r["path"] == "/shipping-requests" and external_id in json.dumps(r["body"])]
        assert len(sent) == 1, external_id
