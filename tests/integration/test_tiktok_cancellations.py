"""A TikTok buyer's cancellation request on an order already with the 3PL, through the real
stack: TikTok's notification (type 11), confirmed by reading the order's cancellations, opens the
order's `cancellation_requested` channel exception with TikTok's deadline; the operator's
decision answers TikTok exactly once: `cancel` cancels at ShipBob and approves the request,
`retry` (the order goes on) rejects it with the configured reason and the order ships."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from orderloop.stack import Stack
from tests.integration.stack import Api
from tests.integration.test_order_loop import base_url
from tests.integration.test_tiktok import logged, place

pytestmark = pytest.mark.integration

CANCELLATIONS = "/return_refund/202309/cancellations/"


@pytest_asyncio.fixture
async def tiktok(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """The TikTok sandbox (orders leave the remorse window by a control), with ShipBob holding
    its parcels until the test ships them."""
    async with (
        httpx.AsyncClient(base_url=base_url(stack, "tiktok"), timeout=10) as http,
        httpx.AsyncClient(base_url=base_url(stack, "shipbob"), timeout=10) as shipbob,
    ):
        await http.post("/_sandbox/config", json={"on_hold_seconds": 3600})
        await shipbob.post("/_sandbox/config", json={"auto_ship": False})
        try:
            yield http
        finally:
            await shipbob.post("/_sandbox/config", json={"auto_ship": True})
            await http.post("/_sandbox/config", json={"on_hold_seconds": 1.0})


def status(name: str) -> Any:
    return lambda view: view["status"] == name


def in_case(view: dict[str, Any]) -> bool:
    exc = view["exceptions"][-1] if view["exceptions"] else None
    return exc is not None and exc.get("channelKind") == "cancellation_requested" and exc.get("resolvedAt") is None


async def requested(api: Api, tiktok: httpx.AsyncClient) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """An order sent to ShipBob whose buyer asks to cancel: (order id, the view in the case,
    TikTok's cancellation)."""
    order_id = await place(tiktok)
    released = await tiktok.post(f"/_sandbox/orders/{order_id}/release")
    assert released.status_code == 200, released.text
    await api.wait_order("tiktok", order_id, status("sent_to_fulfillment"), timeout=90)
    asked = await tiktok.post(f"/_sandbox/orders/{order_id}/buyer_cancel", json={"reason": "Ordered by mistake"})
    assert asked.status_code == 200, asked.text
    cancellation = asked.json()["cancellation"]
    view = await api.wait_order("tiktok", order_id, in_case)
    return order_id, view, cancellation


async def decisions(tiktok: httpx.AsyncClient, cancel_id: str) -> list[str]:
    """The seller's answers TikTok took for the cancellation, once the first arrived (the answer
    goes out beside the order's next step; a cap, not a timing check)."""
    for _ in range(300):
        calls = await logged(tiktok, "POST", f"{CANCELLATIONS}{cancel_id}/")
        answered = [c["path"].rsplit("/", 1)[-1] for c in calls if c["status"] == 200]
        if answered:
            return answered
        await asyncio.sleep(0.1)
    return []


async def test_a_cancellation_request_after_send_is_approved_once_the_order_is_cancelled_at_shipbob(
    stack: Stack, api: Api, tiktok: httpx.AsyncClient
) -> None:
    order_id, view, cancellation = await requested(api, tiktok)

    exc = view["exceptions"][-1]
    assert (exc["kind"], exc["reference"]) == ("channel_exception", cancellation["cancel_id"])
    deadline = datetime.fromisoformat(exc["deadline"].replace("Z", "+00:00"))
    assert int(deadline.timestamp()) == cancellation["cancel_order_sla_time"]
    cancelled = await api.http.post(f"/api/orders/tiktok/{order_id}/cancel", json={"reason": "the buyer asked"})
    assert cancelled.status_code < 300, cancelled.text
    view = await api.wait_order("tiktok", order_id, status("cancelled"))

    assert await decisions(tiktok, cancellation["cancel_id"]) == ["approve"]
    order = (await tiktok.get(f"/_sandbox/orders/{order_id}")).json()
    assert order["status"] == "CANCELLED"
    assert view["exceptions"][-1]["resolution"] == "order cancelled"
    assert [r["state"] for r in view["shippingRequests"]] == ["cancelled"]


async def test_a_cancellation_request_the_seller_declines_is_rejected_and_the_order_ships(
    stack: Stack, api: Api, tiktok: httpx.AsyncClient
) -> None:
    order_id, view, cancellation = await requested(api, tiktok)

    retried = await api.http.post(f"/api/orders/tiktok/{order_id}/retry", json={"note": "already packed"})
    assert retried.status_code < 300, retried.text
    assert await decisions(tiktok, cancellation["cancel_id"]) == ["reject"]
    [call] = await logged(tiktok, "POST", f"{CANCELLATIONS}{cancellation['cancel_id']}/reject")
    assert call["body"]["reject_reason"] == "seller_reject_apply_product_has_been_packed"
    request_id = view["shippingRequests"][0]["request"]["id"]
    async with httpx.AsyncClient(base_url=base_url(stack, "shipbob"), timeout=10) as shipbob:
        shipped = await shipbob.post(f"/_sandbox/ship/{request_id}")
    assert shipped.status_code < 300, shipped.text
    view = await api.wait_order("tiktok", order_id, status("completed"))
    assert view["exceptions"][-1]["resolution"] == "the seller goes on with the order"
    order = (await tiktok.get(f"/_sandbox/orders/{order_id}")).json()
    assert order["status"] != "CANCELLED"
