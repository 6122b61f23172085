"""A BigCommerce payment dispute (status 13) through the real stack: on an order already with
ShipBob it opens the order's `payment_disputed` channel exception, and the operator's cancel
cancels at ShipBob (nothing is told back: the dispute is answered at the payment provider)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from orderloop.stack import Stack
from tests.integration.stack import Api
from tests.integration.test_bigcommerce import place
from tests.integration.test_order_loop import base_url

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def bigcommerce(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """The BigCommerce sandbox, with ShipBob holding its parcels for the test."""
    async with (
        httpx.AsyncClient(base_url=base_url(stack, "bigcommerce"), timeout=10) as http,
        httpx.AsyncClient(base_url=base_url(stack, "shipbob"), timeout=10) as shipbob,
    ):
        await shipbob.post("/_sandbox/config", json={"auto_ship": False})
        try:
            yield http
        finally:
            await shipbob.post("/_sandbox/config", json={"auto_ship": True})


def disputed(view: dict[str, Any]) -> bool:
    return any(e.get("channelKind") == "payment_disputed" and not e.get("resolvedAt") for e in view["exceptions"])


async def test_a_dispute_on_an_order_with_shipbob_opens_payment_disputed_and_a_cancel_stops_the_parcel(
    stack: Stack, api: Api, bigcommerce: httpx.AsyncClient
) -> None:
    order_id = await place(bigcommerce)
    view = await api.wait_order("bigcommerce", order_id, lambda v: v["status"] == "sent_to_fulfillment", timeout=90)
    changed = await bigcommerce.post(f"/_sandbox/orders/{order_id}/status", json={"status_id": 13})
    assert changed.status_code < 300, changed.text

    view = await api.wait_order("bigcommerce", order_id, disputed)
    exc = view["exceptions"][-1]
    assert exc["kind"] == "channel_exception" and "disputes the payment" in exc["message"]
    assert view["status"] == "exception"
    cancelled = await api.http.post(f"/api/orders/bigcommerce/{order_id}/cancel", json={"reason": "payment disputed"})
    assert cancelled.status_code < 300, cancelled.text
    view = await api.wait_order("bigcommerce", order_id, lambda v: v["status"] == "cancelled")
    assert [r["state"] for r in view["shippingRequests"]] == ["cancelled"]
    assert view["exceptions"][-1]["resolution"] == "order cancelled"
