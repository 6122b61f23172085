"""A cancel or an edit made by hand in the WMS's own UI sends no webhook; the shipment poll of
the real stack reads the request back and the order says so: a request cancelled there is the
WMS's cancel (the units released, `shipping_request_rejected`), one changed there is
`fulfillment_changed` with the diff. The WMS here is polled every 2 s and delivers that long."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from orderloop.loopback_stack import make_stack
from orderloop.stack import Stack
from tests.integration.stack import Api, edit_config, set_channel, started
from tests.integration.test_channel_paths import ok, reservations, status_is
from tests.integration.test_order_loop import base_url, order_body

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    built = make_stack(tmp_path_factory.mktemp("checks"))
    edit_config(built.config_path, set_channel(wms={"poll_shipments_every": "2s"}, storefront={"hold_window": "0s"}))
    async with started(built) as running:
        yield running


async def _sent(http: httpx.AsyncClient, stack: Stack, api: Api, quantity: int = 2) -> dict[str, object]:
    external_id = f"byhand-{uuid.uuid4().hex[:8]}"
    storefront = base_url(stack, "storefront")
    await ok(await http.post(f"{storefront}/_sandbox/orders", json=order_body(external_id, quantity=quantity)))
    view: dict[str, object] = await api.wait_order("storefront", external_id, status_is("sent_to_fulfillment"))
    view["externalId"] = external_id
    return view


async def test_requests_cancelled_or_changed_by_hand_at_the_wms_become_exceptions(stack: Stack, api: Api) -> None:
    wms = base_url(stack, "wms")
    async with httpx.AsyncClient(timeout=10) as http:
        await ok(await http.post(f"{wms}/_sandbox/config", json={"auto_ship": False}))
        try:
            cancelled, changed = await _sent(http, stack, api), await _sent(http, stack, api)
            cancelled_id = cancelled["shippingRequests"][0]["request"]["id"]  # type: ignore[index]
            changed_request = changed["shippingRequests"][0]["request"]  # type: ignore[index]
            await ok(await http.post(f"{wms}/_sandbox/cancel/{cancelled_id}"))
            lines = [{**changed_request["lineItems"][0], "quantity": 1}]
            await ok(await http.post(f"{wms}/_sandbox/edit/{changed_request['id']}", json={"lineItems": lines}))
            first = await api.wait_order("storefront", str(cancelled["externalId"]), status_is("exception"))
            second = await api.wait_order("storefront", str(changed["externalId"]), status_is("exception"))
        finally:
            await ok(await http.post(f"{wms}/_sandbox/config", json={"auto_ship": True}))
    exc = first["exceptions"][-1]
    assert exc["kind"] == "shipping_request_rejected" and "found by the shipment poll" in exc["message"]
    assert [s["state"] for s in first["shippingRequests"]] == ["cancelled"]
    assert [state for *_, state in await reservations(stack, str(first["workflowId"]))] == ["released"]
    exc = second["exceptions"][-1]
    assert exc["kind"] == "fulfillment_changed"
    assert exc["detail"]["changes"] == "TSHIRT-BLK-M: 2 sent, 1 at the vendor"
