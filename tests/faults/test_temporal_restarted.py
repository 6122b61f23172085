"""The Temporal dev server is stopped and started again on its persistent file mid-run: the
gateway answers 503 meanwhile (nothing accepted and lost), the senders' retries are accepted
afterwards, and every order, in flight or sent during the outage, completes once."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from orderloop.stack import Stack
from tests.faults.batch import check_nothing_lost_or_doubled, place, settle
from tests.integration.stack import Api

pytestmark = pytest.mark.integration


async def test_orders_survive_a_temporal_restart(stack: Stack, api: Api) -> None:
    assert stack.devserver is not None
    before = await place(stack, 15)
    stack.devserver.stop()
    async with httpx.AsyncClient(timeout=10) as http:
        ready = await http.get(f"{stack.gateway_url}/readyz")
    assert ready.status_code == 503 and ready.json()["temporal"] != "ok"
    during = asyncio.create_task(place(stack, 15))
    # Longer than the gateway's 3 s wait for Temporal, so senders see 503s.
    await asyncio.sleep(6)
    await stack.devserver.start()
    outage = await during
    # The channel's sender was refused while Temporal was down, and got through afterwards.
    assert outage.refused_attempts > 0
    for batch in (before, outage):
        views = await settle(api, batch, timeout=180)
        assert batch.statuses == {"completed": 15}
        await check_nothing_lost_or_doubled(stack, batch, views)
