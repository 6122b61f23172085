"""The worker is killed (SIGKILL) while the inventory sync runs and stock keeps moving; after
the restart every selling channel converges to the ledger's available-to-sell."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from orderloop.stack import Stack
from tests.integration.stack import Api
from tests.integration.test_order_loop import base_url, new_id

pytestmark = pytest.mark.integration


async def storefront_levels(http: httpx.AsyncClient, stack: Stack) -> dict[str, int]:
    data = (await http.get(f"{base_url(stack, 'storefront')}/_sandbox/inventory")).json()
    return {sku: level["available"] for sku, level in data["levels"].items()}


async def test_no_stock_update_is_lost_when_the_worker_dies(stack: Stack, api: Api) -> None:
    skus = [f"DRILL-{new_id()}-{i}".upper() for i in range(6)]
    async with httpx.AsyncClient(timeout=10) as http:
        wms = f"{base_url(stack, 'wms')}/_sandbox/stock"
        # Some changes reach the ledger just before the kill, some while the worker is down.
        for i, sku in enumerate(skus[:3]):
            (await http.post(wms, json={"east": {sku: 10 + i}})).raise_for_status()
        stack.kill("worker")
        for i, sku in enumerate(skus):
            (await http.post(wms, json={"west": {sku: 20 + i}})).raise_for_status()
        await asyncio.sleep(0.5)
        levels = await storefront_levels(http, stack)
        # With the worker dead nothing reaches the channel.
        assert not all(levels.get(sku) == 30 + 2 * i for i, sku in enumerate(skus[:3]))
        stack.restart("worker")
        expected = {sku: (10 + i if i < 3 else 0) + 20 + i for i, sku in enumerate(skus)}
        # Temporal retries the sync activity after its 10 s heartbeat timeout, from its cursor.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            levels = await storefront_levels(http, stack)
            if all(levels.get(sku) == qty for sku, qty in expected.items()):
                break
            await asyncio.sleep(0.5)
    assert {sku: levels.get(sku) for sku in skus} == expected
    # The channel has the figures once the push lands; the ledger records them as published just
    # after the channel answered, so the preview may trail the channel by a moment.
    deadline = time.monotonic() + 30
    while True:
        preview = (await api.http.get("/api/inventory/channels/storefront/preview", params={"sku": skus})).json()
        rows = preview["skus"]
        if all(row["published"] == row["wouldPublish"] == expected[row["sku"]] for row in rows):
            break
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.25)
    assert all(row["published"] == row["wouldPublish"] == expected[row["sku"]] for row in preview["skus"])
