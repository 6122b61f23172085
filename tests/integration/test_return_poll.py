"""Return requests found by polling, through the real stack: Amazon has no return webhook, so a
buyer's return of a shipped order reaches Orderloop when the channel's return poll runs (its
schedule, `poll_returns_every`; triggered here rather than waited for): the return workflow
starts once, linked to its order, and a second poll starts nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from orderloop.contracts import channel_task_queue, orders_task_queue
from orderloop.contracts.scheduled_jobs import RETURN_POLL_WORKFLOW, PollReturnsInput, PollReturnsReport
from orderloop.stack import Stack
from orderloop.temporal_client import connect
from tests.integration.stack import Api
from tests.integration.test_amazon import place
from tests.integration.test_order_loop import base_url, completed

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def amazon(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url(stack, "amazon"), timeout=10) as http:
        yield http


async def poll_now(stack: Stack) -> PollReturnsReport:
    """One run of the channel's return poll, as its schedule starts it."""
    client = await connect(stack.address)
    prefix = stack.task_queue_prefix
    return await client.execute_workflow(
        RETURN_POLL_WORKFLOW,
        PollReturnsInput(channel_id="amazon", task_queue=channel_task_queue(prefix, "amazon")),
        id=f"{prefix}/return-poll/amazon/{uuid.uuid4().hex[:8]}",
        task_queue=orders_task_queue(prefix),
        result_type=PollReturnsReport,
        execution_timeout=timedelta(minutes=2),
    )


async def test_an_amazon_return_is_found_by_the_poll_and_started_once(
    stack: Stack, api: Api, amazon: httpx.AsyncClient
) -> None:
    order_id = await place(amazon)
    await api.wait_order("amazon", order_id, completed)
    returned = await amazon.post(f"/_sandbox/orders/{order_id}/returns", json={})
    assert returned.status_code < 300, returned.text
    rma: str = returned.json()["amazonRmaId"]

    report = await poll_now(stack)
    assert f"return/amazon/{rma}" in report.started
    view: dict[str, Any] = (await api.http.get(f"/api/returns/amazon/{rma}")).json()
    assert view["orderWorkflowId"] == f"order/amazon/{order_id}"
    again = await poll_now(stack)
    assert f"return/amazon/{rma}" not in again.started and again.already_known >= 1
