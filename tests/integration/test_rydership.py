"""The loop through RyderShip over the real stack: Shopify orders with a black T-shirt route to
the RyderShip warehouse (the `shopify-black-tees-from-rydership` rule), one Whiplash order is
created even when the first answer is lost and the activity retries (the retry is refused as a
known `order_orig` and the search finds the order), the shipment arrives by the signed
`order.shipped` webhook or, with every webhook lost, by the poller, the tracking reaches Shopify
once per parcel, `order.attention` opens `fulfillment_hold` with the warehouse's message, and a
cancel releases the stock before pick and opens `cancel_after_ship` after it. Call counts come
from the sandboxes' request logs. The module runs a stack of its own, whose RyderShip channel
polls shipments every 2 s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import pytest_asyncio

from orderloop.loopback_stack import make_stack
from orderloop.stack import Stack
from orderloop.temporal_client import connect
from tests.integration.stack import (
    Api,
    View,
    edit_config,
    logged,
    only_request,
    open_exception,
    place_shopify_order,
    reserved_at,
    sandbox_client,
    sent,
    set_channel,
    shopify_fulfillments,
    started,
)
from tests.integration.test_order_loop import completed

pytestmark = pytest.mark.integration

LOCATION = "rydership-ga"


@pytest_asyncio.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    built = make_stack(tmp_path_factory.mktemp("rydership"))
    edit_config(built.config_path, set_channel(rydership={"poll_shipments_every": "2s"}))
    async with started(built) as running:
        yield running


@pytest_asyncio.fixture
async def rydership(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with sandbox_client(stack, "rydership") as http:
        yield http


async def place(stack: Stack, tees: int = 2) -> str:
    """A Shopify order of black T-shirts and a mug (the rule card sends it to RyderShip)."""
    lines = [{"sku": "TSHIRT-BLK-M", "quantity": tees, "price": "19.00"}, {"sku": "MUG-11OZ", "quantity": 1}]
    return await place_shopify_order(stack, lines)


async def creates(http: httpx.AsyncClient, request_id: str) -> list[dict[str, Any]]:
    return [
        r for r in await logged(http, "POST", "/api/v2/orders") if (r["body"] or {}).get("order_orig") == request_id
    ]


async def orders_of(http: httpx.AsyncClient, request_id: str) -> list[dict[str, Any]]:
    return [o for o in (await http.get("/_sandbox/orders")).json() if o["order_orig"] == request_id]


def request_of(view: View) -> tuple[str, str | None]:
    return only_request(view, LOCATION)


async def test_one_order_under_a_retried_create_and_tracking_once(
    stack: Stack, api: Api, rydership: httpx.AsyncClient
) -> None:
    await rydership.post("/_sandbox/config", json={"lose_create_answers": 1})
    external_id = await place(stack)
    view = await api.wait_order("shopify", external_id, completed)

    request_id, vendor_id = request_of(view)
    [order] = await orders_of(rydership, request_id)
    assert str(order["id"]) == vendor_id
    # The lost answer, then the retry refused as a known order_orig (the search finds the order).
    assert [r["status"] for r in await creates(rydership, request_id)] == [504, 422]
    assert [(ln["sku"], ln["shipped"]) for ln in view["lines"]] == [("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)]
    webhooks = (await rydership.get("/_sandbox/webhooks", params={"topic": "order.shipped"})).json()
    assert [w["state"] for w in webhooks if request_id in w["body"]] == ["delivered"]
    [shipment] = view["shipments"]
    [fulfillment] = await shopify_fulfillments(stack, external_id)
    assert [fulfillment["tracking_number"]] == shipment["trackingNumbers"]
    assert sum(item["quantity"] for item in fulfillment["line_items"]) == 3


async def test_with_every_webhook_lost_the_poller_finds_the_shipment(
    stack: Stack, api: Api, rydership: httpx.AsyncClient
) -> None:
    await rydership.post("/_sandbox/config", json={"deliver_webhooks": False})
    external_id = await place(stack)
    view = await api.wait_order("shopify", external_id, completed, timeout=90)

    request_id, vendor_id = request_of(view)
    webhooks = (await rydership.get("/_sandbox/webhooks", params={"topic": "order.shipped"})).json()
    assert [w["state"] for w in webhooks if request_id in w["body"]] == ["not_delivered"]
    assert len(await creates(rydership, request_id)) == 1
    assert await logged(rydership, "GET", f"/api/v2/orders/{vendor_id}")
    assert len(view["shipments"]) == 1
    assert len(await shopify_fulfillments(stack, external_id)) == 1


async def test_attention_opens_fulfillment_hold_with_the_warehouse_message(
    stack: Stack, api: Api, rydership: httpx.AsyncClient
) -> None:
    await rydership.post("/_sandbox/config", json={"auto_ship": False})
    external_id = await place(stack)
    view = await api.wait_order("shopify", external_id, sent)
    request_id, _ = request_of(view)
    flagged = await rydership.post(f"/_sandbox/attention/{request_id}", json={"message": "Damaged item in bin C-12"})
    assert flagged.status_code == 200, flagged.text

    view = await api.wait_order(
        "shopify",
        external_id,
        open_exception("fulfillment_hold"),
    )
    [hold] = [e for e in view["exceptions"] if e["kind"] == "fulfillment_hold"]
    assert "Damaged item in bin C-12" in str(hold)
    # The shipment clears it.
    assert (await rydership.post(f"/_sandbox/ship/{request_id}")).status_code == 200
    await api.wait_order("shopify", external_id, completed)


async def test_cancel_before_pick_releases_the_stock(stack: Stack, api: Api, rydership: httpx.AsyncClient) -> None:
    await rydership.post("/_sandbox/config", json={"auto_ship": False})
    before = await reserved_at(api, "TSHIRT-BLK-M", LOCATION)

    external_id = await place(stack)
    view = await api.wait_order("shopify", external_id, sent)
    request_id, vendor_id = request_of(view)
    assert await reserved_at(api, "TSHIRT-BLK-M", LOCATION) == before + 2
    cancelled = await api.http.post(f"/api/orders/shopify/{external_id}/cancel", json={"reason": "customer"})
    assert cancelled.status_code < 300, cancelled.text
    await api.wait_order("shopify", external_id, lambda v: v["status"] == "cancelled")

    [order] = await orders_of(rydership, request_id)
    assert order["status_name"] == "Cancelled"
    cancels = await logged(rydership, "PUT", f"/api/v2/orders/{vendor_id}/call/cancel")
    assert [r["status"] for r in cancels][:1] == [200]
    assert await reserved_at(api, "TSHIRT-BLK-M", LOCATION) == before
    assert await shopify_fulfillments(stack, external_id) == []


async def test_cancel_after_pick_opens_cancel_after_ship(stack: Stack, api: Api, rydership: httpx.AsyncClient) -> None:
    await rydership.post("/_sandbox/config", json={"auto_ship": False})
    external_id = await place(stack)
    view = await api.wait_order("shopify", external_id, sent)
    request_id, vendor_id = request_of(view)
    assert (await rydership.post(f"/_sandbox/pick/{request_id}")).status_code == 200
    cancelled = await api.http.post(f"/api/orders/shopify/{external_id}/cancel", json={"reason": "customer"})
    assert cancelled.status_code < 300, cancelled.text

    await api.wait_order(
        "shopify",
        external_id,
        open_exception("cancel_after_ship"),
    )
    # Whiplash refused each cancel the workflow sent (422), none retried.
    cancels = await logged(rydership, "PUT", f"/api/v2/orders/{vendor_id}/call/cancel")
    assert cancels and all(r["status"] == 422 for r in cancels)
    [order] = await orders_of(rydership, request_id)
    assert order["status_name"] == "Picked"


async def test_a_cancel_or_an_edit_in_ryderships_ui_is_found_by_the_shipment_poll(
    stack: Stack, api: Api, rydership: httpx.AsyncClient
) -> None:
    # Held in the warehouse, and the order.cancelled webhook lost: only the poll can tell.
    await rydership.post("/_sandbox/config", json={"auto_ship": False, "deliver_webhooks": False})
    before = await reserved_at(api, "TSHIRT-BLK-M", LOCATION)
    cancelled_id, changed_id = await place(stack), await place(stack)
    cancelled_request, _ = request_of(await api.wait_order("shopify", cancelled_id, sent))
    changed_request, _ = request_of(await api.wait_order("shopify", changed_id, sent))
    assert (await rydership.post(f"/_sandbox/cancel/{cancelled_request}")).status_code == 200
    edit = {"items": {"TSHIRT-BLK-M": 1}}
    assert (await rydership.post(f"/_sandbox/edit/{changed_request}", json=edit)).status_code == 200

    cancelled = await api.wait_order("shopify", cancelled_id, lambda v: v["status"] == "exception")
    changed = await api.wait_order("shopify", changed_id, lambda v: v["status"] == "exception")
    exc = cancelled["exceptions"][-1]
    assert exc["kind"] == "shipping_request_rejected" and "found by the shipment poll" in exc["message"]
    assert [s["state"] for s in cancelled["shippingRequests"]] == ["cancelled"]
    exc = changed["exceptions"][-1]
    assert exc["kind"] == "fulfillment_changed"
    assert exc["detail"]["changes"] == "TSHIRT-BLK-M: 2 sent, 1 at the vendor"
    # The cancelled request's units are released; the changed one still holds its two.
    assert await reserved_at(api, "TSHIRT-BLK-M", LOCATION) == before + 2
    webhooks = (await rydership.get("/_sandbox/webhooks", params={"topic": "order.cancelled"})).json()
    assert [w["state"] for w in webhooks if cancelled_request in w["body"]] == ["not_delivered"]


async def test_a_restarted_worker_renews_with_the_rotated_refresh_token_and_writes_no_token_down(
    stack: Stack, api: Api, rydership: httpx.AsyncClient
) -> None:
    # Whiplash revokes a refresh token once spent; the worker keeps the rotated one in the ledger.
    await rydership.post("/_sandbox/tokens/expire")
    first = await api.wait_order("shopify", await place(stack), completed)
    stack.kill("worker")
    stack.restart("worker")
    await stack.wait_worker()
    await rydership.post("/_sandbox/tokens/expire")
    second = await api.wait_order("shopify", await place(stack), completed, timeout=90)

    grants = await logged(rydership, "POST", "/oauth/token")
    assert len(grants) >= 3 and [g["status"] for g in grants] == [200] * len(grants)
    # Every refresh token spent after the configured one, and every access token used.
    spent = [parse_qs(str(g["body"]))["refresh_token"][0] for g in grants[1:]]
    used = {
        r["headers"]["authorization"].removeprefix("Bearer ")
        for r in await logged(rydership, None, "/api/v2/")
        if "authorization" in r["headers"]
    }
    tokens = set(spent) | used
    assert len(tokens) >= 4
    written = "".join(path.read_text(errors="replace") for path in stack.logs_dir.glob("*.log"))
    client = await connect(stack.address)
    for view in (first, second):
        written += (await client.get_workflow_handle(view["workflowId"]).fetch_history()).to_json()
    assert [token for token in tokens if token in written] == []
