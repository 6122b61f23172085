"""Webhooks delivered twice and out of order: every order creation arrives twice, and each
order's two shipment reports are held back, then delivered newest first, then all delivered
again. One workflow per order, one request per order at the WMS, one tracking push per parcel,
and the orders complete with both parcels counted once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from orderloop.stack import Stack
from tests.faults.batch import Batch, channel_url, check_nothing_lost_or_doubled, order_body, settle
from tests.integration.stack import Api

pytestmark = pytest.mark.integration


async def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json()


async def test_duplicate_and_reordered_webhooks_change_nothing(stack: Stack, api: Api) -> None:
    storefront, wms = channel_url(stack, "storefront"), channel_url(stack, "wms")
    batch = Batch(channel="storefront", external_ids=[f"twice-{i}" for i in range(8)])
    async with httpx.AsyncClient(timeout=10) as http:
        await ok(await http.post(f"{wms}/_sandbox/config", json={"partial_ratio": 1.0}))
        await ok(await http.post(f"{wms}/_sandbox/webhooks/hold", params={"topic": "shipment.created"}))
        await ok(await http.post(f"{storefront}/_sandbox/webhooks/duplicate"))
        for external_id in batch.external_ids:
            await ok(await http.post(f"{storefront}/_sandbox/orders", json=order_body(external_id, 2)))
        for _ in range(120):
            held = await ok(await http.get(f"{wms}/_sandbox/webhooks/held"))
            if len(held) == 16:
                break
            await asyncio.sleep(0.25)
        assert len(held) == 16, held
        # Nothing shipped reached Orderloop yet; then the parcels arrive newest first...
        assert all(v["status"] == "sent_to_fulfillment" for v in (await _views(api, batch)).values())
        await ok(await http.post(f"{wms}/_sandbox/webhooks/release", params={"order": "reverse"}))
        views = await settle(api, batch)
        # ...and every report once more, after the orders completed.
        reports = await ok(await http.get(f"{wms}/_sandbox/webhooks", params={"topic": "shipment.created"}))
        for report in reports:
            await ok(await http.post(f"{wms}/_sandbox/webhooks/{report['webhook_id']}/redeliver"))
        await http.delete(f"{storefront}/_sandbox/webhooks/duplicate")
        await ok(await http.post(f"{wms}/_sandbox/config", json={"partial_ratio": 0.2}))
        await asyncio.sleep(1)
        created = await ok(await http.get(f"{storefront}/_sandbox/webhooks", params={"topic": "order.created"}))
    assert batch.statuses == {"completed": 8}
    mine = [w for w in created if any(i in str(w["body"]) for i in batch.external_ids)]
    assert len(mine) == 8 and all(w["sends"] == 2 for w in mine)
    assert all(len(v["shipments"]) == 2 for v in views.values())
    await check_nothing_lost_or_doubled(stack, batch, views)


async def _views(api: Api, batch: Batch) -> dict[str, Any]:
    for _ in range(120):
        views = {i: (await api.order(batch.channel, i)) for i in batch.external_ids}
        if all(r.status_code == 200 for r in views.values()):
            loaded = {i: r.json() for i, r in views.items()}
            if all(v["status"] == "sent_to_fulfillment" for v in loaded.values()):
                return loaded
        await asyncio.sleep(0.25)
    raise AssertionError("orders did not all reach the WMS")
