"""A buyer's cancel request on Amazon before the shipping request is sent: its ORDER_CHANGE
(BuyerRequestedChange) reaches the gateway, the order read back carries the item's
`cancellationRequest` from BUYER, and the order ends cancelled with nothing sent to a warehouse
and nothing confirmed to Amazon. The module runs a stack of its own whose Amazon channel holds
orders 20 s, so the cancel lands in the hold window."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from orderloop.loopback_stack import make_stack
from orderloop.stack import Stack
from tests.integration.stack import Api, edit_config, set_channel, started
from tests.integration.test_amazon import ORDER, logged
from tests.integration.test_order_loop import base_url

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    built = make_stack(tmp_path_factory.mktemp("amazon-cancel"))
    edit_config(built.config_path, set_channel(amazon={"hold_window": "20s"}))
    async with started(built) as running:
        yield running


def status_is(*statuses: str) -> Any:
    return lambda view: view["status"] in statuses


async def test_a_buyer_cancel_in_the_hold_window_cancels_the_order_and_sends_nothing(stack: Stack, api: Api) -> None:
    async with httpx.AsyncClient(base_url=base_url(stack, "amazon"), timeout=10) as amazon:
        placed = await amazon.post("/_sandbox/orders", json=ORDER)
        assert placed.status_code == 201, placed.text
        order_id = str(placed.json()["id"])
        view = await api.wait_order("amazon", order_id, status_is("in_hold_window", "cancelled"))
        assert view["status"] == "in_hold_window", view["timeline"]

        asked = await amazon.post(f"/_sandbox/orders/{order_id}/buyer-cancel", json={"reason": "Found it cheaper"})
        assert asked.status_code == 200, asked.text
        view = await api.wait_order("amazon", order_id, status_is("cancelled", "sent_to_fulfillment", "completed"))
        reads = await logged(amazon, "GET", f"/orders/2026-01-01/orders/{order_id}")
        confirmations = await logged(amazon, "POST", f"/orders/v0/orders/{order_id}/shipmentConfirmation")

    assert view["status"] == "cancelled"
    assert view["shippingRequests"] == [] and view["allocation"] is None
    assert [(line["ordered"], line["cancelled"]) for line in view["lines"]] == [(2, 2), (1, 1)]
    assert any("Found it cheaper" in (entry.get("detail") or "") for entry in view["timeline"]), view["timeline"]
    # One read per notification (placed Unshipped, then the buyer's request); nothing confirmed.
    assert len(reads) == 2 and confirmations == []
