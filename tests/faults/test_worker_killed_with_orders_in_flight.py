"""The worker is killed (SIGKILL) with orders in flight and started again: every order
completes, none twice, nothing sent or pushed twice, the ledger consistent."""

from __future__ import annotations

import asyncio

import pytest

from orderloop.stack import Stack
from tests.faults.batch import check_nothing_lost_or_doubled, place, settle
from tests.integration.stack import Api

pytestmark = pytest.mark.integration


async def test_orders_survive_a_killed_worker(stack: Stack, api: Api) -> None:
    placing = asyncio.create_task(place(stack, 40, concurrency=4))
    await asyncio.sleep(1.0)
    stack.kill("worker")
    batch = await placing
    await asyncio.sleep(1.0)
    stack.restart("worker")
    views = await settle(api, batch)
    assert batch.statuses == {"completed": 40}
    await check_nothing_lost_or_doubled(stack, batch, views)
