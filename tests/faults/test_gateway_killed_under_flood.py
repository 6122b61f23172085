"""The gateway process is killed (SIGKILL) under a webhook flood and started again: every order
webhook it answered 2xx for was already in Temporal when it died; every one it did not answer,
the channel's sender retried (same delivery, same body) until the new gateway took it; each
order started once and completed once, nothing sent or pushed twice."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from dataclasses import dataclass, field

import httpx
import pytest
from temporalio.client import Client

from connectors.signing import orderloop_webhook_headers
from orderloop.contracts import order_workflow_id
from orderloop.stack import Stack
from orderloop.temporal_client import connect
from tests.faults.batch import Batch, check_nothing_lost_or_doubled, order_body, settle
from tests.integration.stack import Api

pytestmark = pytest.mark.integration

ORDERS = 40


@dataclass
class Flood:
    """What the sender saw: when each webhook was first answered 2xx, and how many attempts
    got no answer (connection refused or cut) or a 5xx."""

    answered_at: dict[str, float] = field(default_factory=dict)
    unanswered: int = 0


async def send_until_taken(http: httpx.AsyncClient, url: str, external_id: str, flood: Flood) -> None:
    body = json.dumps(order_body(external_id)).encode()
    # One delivery, retried as it was: the same delivery id and body every time.
    headers = orderloop_webhook_headers(os.environ["ORDERLOOP_STOREFRONT_WEBHOOK_SECRET"], "order.created", body)
    for attempt in range(200):
        try:
            response = await http.post(url, content=body, headers=headers)
            if response.status_code < 500:
                assert response.status_code in (200, 202), response.text
                flood.answered_at[external_id] = time.monotonic()
                return
        except httpx.TransportError:
            pass
        flood.unanswered += 1
        await asyncio.sleep(min(0.1 * (attempt + 1), 1.0))
    raise AssertionError(f"{external_id}: the gateway never took it")


async def in_temporal(client: Client, external_ids: list[str]) -> list[str]:
    """The external ids whose order workflow does not exist."""
    missing = []
    for external_id in external_ids:
        try:
            await client.get_workflow_handle(order_workflow_id("storefront", external_id)).describe()
        except Exception:
            missing.append(external_id)
    return missing


async def test_webhooks_answered_before_the_kill_are_in_temporal_and_the_rest_land(stack: Stack, api: Api) -> None:
    client = await connect(stack.address)
    batch = Batch(channel="storefront", external_ids=[f"flood-{uuid.uuid4().hex[:8]}-{i}" for i in range(ORDERS)])
    flood = Flood()
    url = f"{stack.gateway_url}/webhooks/storefront"
    gate = asyncio.Semaphore(8)

    async def one(external_id: str) -> None:
        async with gate:
            await send_until_taken(http, url, external_id, flood)

    async with httpx.AsyncClient(timeout=10) as http:
        sending = asyncio.gather(*(one(i) for i in batch.external_ids))
        for _ in range(200):
            if len(flood.answered_at) >= ORDERS // 4:
                break
            await asyncio.sleep(0.02)
        stack.kill("gateway")
        killed_at = time.monotonic()
        answered_before = [i for i, at in flood.answered_at.items() if at < killed_at]
        # With the gateway dead: what it acknowledged is in Temporal already.
        assert 0 < len(answered_before) < ORDERS
        assert await in_temporal(client, answered_before) == []
        await asyncio.sleep(2)
        stack.restart("gateway")
        await stack.wait_http(f"{stack.gateway_url}/readyz")
        await sending
    assert flood.unanswered > 0
    assert sorted(flood.answered_at) == sorted(batch.external_ids)
    views = await settle(api, batch, timeout=180)
    assert batch.statuses == {"completed": ORDERS}
    await check_nothing_lost_or_doubled(stack, batch, views)
