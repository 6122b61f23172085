"""What the WMS says about a request reaches the order through the gateway: a hold opens the
order's `fulfillment_hold` with the WMS's reason, its release clears it, the request then ships
and the order completes."""

from __future__ import annotations

import uuid

import httpx
import pytest

from orderloop.stack import Stack
from tests.integration.stack import Api
from tests.integration.test_channel_paths import ok, status_is
from tests.integration.test_order_loop import base_url, order_body

pytestmark = pytest.mark.integration


async def test_a_wms_hold_is_an_exception_with_its_reason_until_the_wms_releases_it(stack: Stack, api: Api) -> None:
    external_id = f"held-{uuid.uuid4().hex[:8]}"
    storefront, wms = base_url(stack, "storefront"), base_url(stack, "wms")
    async with httpx.AsyncClient(timeout=10) as http:
        await ok(await http.post(f"{wms}/_sandbox/config", json={"auto_ship": False}))
        try:
            await ok(await http.post(f"{storefront}/_sandbox/orders", json=order_body(external_id)))
            view = await api.wait_order("storefront", external_id, status_is("sent_to_fulfillment"), timeout=90)
            request_id = view["shippingRequests"][0]["request"]["id"]
            await ok(await http.post(f"{wms}/_sandbox/hold/{request_id}", json={"reason": "address to check"}))
            held = await api.wait_order("storefront", external_id, status_is("exception"))
            await ok(await http.post(f"{wms}/_sandbox/release/{request_id}"))
            released = await api.wait_order("storefront", external_id, status_is("sent_to_fulfillment"))
            await ok(await http.post(f"{wms}/_sandbox/ship/{request_id}"))
            done = await api.wait_order("storefront", external_id, status_is("completed"))
        finally:
            await ok(await http.post(f"{wms}/_sandbox/config", json={"auto_ship": True}))
    exception = held["exceptions"][-1]
    assert exception["kind"] == "fulfillment_hold"
    assert "address to check" in exception["message"]
    assert exception["detail"] == {"requestId": request_id, "status": "on_hold", "reason": "address to check"}
    assert released["exceptions"][-1]["resolution"] == "released by wms"
    assert done["status"] == "completed"
