"""Vendors misbehave for a while: the fulfillment channel answers 503, then 429 with
Retry-After; the selling channel fails or refuses the tracking push. Temporal's retries carry
every order through (an outright refusal waits in `tracking_rejected` for the operator), with
nothing sent or pushed twice."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from orderloop.stack import Stack
from tests.faults.batch import channel_url, check_nothing_lost_or_doubled, place, settle
from tests.integration.stack import Api

pytestmark = pytest.mark.integration


async def arm(stack: Stack, channel: str, **fault: object) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        (await http.post(f"{channel_url(stack, channel)}/_sandbox/faults", json=fault)).raise_for_status()


async def injected(stack: Stack, channel: str) -> int:
    async with httpx.AsyncClient(timeout=10) as http:
        state = (await http.get(f"{channel_url(stack, channel)}/_sandbox/faults")).json()
    return int(state["injected"])


async def test_fulfillment_channel_503_then_429_with_retry_after(stack: Stack, api: Api) -> None:
    await arm(stack, "wms", status=503, count=8, path_prefix="/shipping-requests")
    batch = await place(stack, 10)
    await asyncio.sleep(1.5)
    await arm(stack, "wms", status=429, count=8, retry_after=1, path_prefix="/shipping-requests")
    views = await settle(api, batch, timeout=180)
    assert batch.statuses == {"completed": 10}
    assert await injected(stack, "wms") >= 8
    await check_nothing_lost_or_doubled(stack, batch, views)
    async with httpx.AsyncClient(timeout=10) as http:
        await http.delete(f"{channel_url(stack, 'wms')}/_sandbox/faults")


async def test_selling_channel_unavailable_for_tracking_then_back(stack: Stack, api: Api) -> None:
    await arm(stack, "storefront", status=503, count=10, path_prefix="/orders/")
    batch = await place(stack, 8)
    views = await settle(api, batch, timeout=180)
    assert batch.statuses == {"completed": 8}
    await check_nothing_lost_or_doubled(stack, batch, views)


async def test_selling_channel_refusing_tracking_waits_for_the_operator(stack: Stack, api: Api) -> None:
    storefront = channel_url(stack, "storefront")
    async with httpx.AsyncClient(timeout=10) as http:
        (await http.post(f"{storefront}/_sandbox/config", json={"reject_fulfillments": True})).raise_for_status()
        batch = await place(stack, 5)
        views = await settle(api, batch, allowed=frozenset({"tracking_rejected"}))
        assert batch.statuses == {"exception:tracking_rejected": 5}
        (await http.post(f"{storefront}/_sandbox/config", json={"reject_fulfillments": False})).raise_for_status()
    for external_id in batch.external_ids:
        retried = await api.http.post(f"/api/orders/storefront/{external_id}/retry", json={"operator": "drill"})
        assert retried.status_code == 200, retried.text
    views = await settle(api, batch)
    assert batch.statuses == {"completed": 5}
    await check_nothing_lost_or_doubled(stack, batch, views)
