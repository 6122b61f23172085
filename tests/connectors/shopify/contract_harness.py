"""Shopify's moves for the selling-channel contract (tests/connectors/contract/): orders placed
through the sandbox's `/_sandbox/orders`, `orders/create` webhooks HMAC-signed as Shopify signs
them, and the sandbox's real leaky bucket answering 429 with `Retry-After`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from connectors.shopify import ShopifyConnector
from connectors.shopify.client import ACCESS_TOKEN_HEADER
from connectors.shopify.sandbox import create_app
from connectors.shopify.webhooks import HMAC_HEADER
from connectors.signing import base64_hmac_sha256
from orderloop.model import Order
from tests.connectors.contract.roles import SellingHarness
from tests.connectors.contract.sandbox_session import KitFaults, SandboxSession, open_sandbox, resigned
from tests.connectors.shopify.conftest import ACCESS_TOKEN, ADDRESS, API_VERSION, LOCATION_ID, make_channel
from tests.connectors.webhook_receiver import ReceivedWebhook

ORDER_CREATED = "orders/create"
ORDER = {
    "line_items": [{"sku": "TSHIRT-BLK-M", "quantity": 2}, {"sku": "MUG-11OZ", "quantity": 1}],
    "shipping_address": ADDRESS,
    "email": "ada@example.com",
}


@dataclass(frozen=True)
class ShopifyHarness(KitFaults):
    session: SandboxSession
    connector: ShopifyConnector
    signature_header: str = HMAC_HEADER
    inventory_skus: tuple[str, ...] = ("TSHIRT-BLK-M", "MUG-11OZ")
    poll_path: str = f"/admin/api/{API_VERSION}/orders.json"

    @property
    def http(self) -> httpx.AsyncClient:
        return self.session.http

    def sign_wrongly(self, webhook: ReceivedWebhook) -> ReceivedWebhook:
        return resigned(webhook, HMAC_HEADER, base64_hmac_sha256("not-the-app-client-secret", webhook.body))

    async def order_webhook(self, *, redelivered: bool = False) -> list[ReceivedWebhook]:
        mark = self.session.mark()
        await self.session.control("POST", "/_sandbox/orders", json=ORDER)
        return await self.session.topic_webhooks(mark, ORDER_CREATED, redelivered)

    async def tracking_records(self, external_order_id: str) -> int:
        return len(await self.session.control("GET", "/_sandbox/fulfillments", params={"order": external_order_id}))

    async def published_quantities(self) -> dict[str, int]:
        levels = (await self.session.control("GET", "/_sandbox/inventory"))["levels"]
        return {sku: at[str(LOCATION_ID)] for sku, at in levels.items() if str(LOCATION_ID) in at}

    async def place_orders_beyond_one_page(self) -> list[str]:
        # Shopify's page cap made small, so five orders span three pages.
        await self.session.configure(max_page_size=2, deliver_webhooks=False)
        placed = [await self.session.control("POST", "/_sandbox/orders", json=ORDER) for _ in range(5)]
        return [str(order["id"]) for order in placed]

    async def return_webhook(self, order: Order) -> list[ReceivedWebhook]:
        mark = self.session.mark()
        first = order.line_items[0]
        body = {"line_items": [{"line_item_id": int(first.id), "quantity": first.quantity}]}
        await self.session.control("POST", f"/_sandbox/orders/{order.external_id}/returns", json=body)
        return await self.session.topic_webhooks(mark, "returns/request", False)

    async def received_notices(self, external_return_id: str) -> int:
        """Dispose mutations Shopify applied to the return's reverse fulfillment order."""
        calls = await self.session.control("GET", "/_sandbox/requests", params={"method": "POST"})
        disposes = [c for c in calls if "reverseFulfillmentOrderDispose(" in json.dumps(c.get("body"))]
        return sum(1 for c in disposes if c.get("status") == 200)

    async def arm_rejection(self) -> None:
        await self.session.configure(reject_fulfillments=True)

    async def arm_rate_limit(self) -> None:
        # Shopify's own 429 with `Retry-After`: a bucket of one call that barely leaks, filled by
        # one call of another client.
        await self.session.configure(bucket_size=1, leak_rate=0.01)
        await self.session.control(
            "GET", f"/admin/api/{API_VERSION}/locations.json", headers={ACCESS_TOKEN_HEADER: ACCESS_TOKEN}
        )


@asynccontextmanager
async def open_selling(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SellingHarness]:
    channel = make_channel(monkeypatch, location_id=LOCATION_ID)
    async with open_sandbox(channel, create_app) as session:
        yield ShopifyHarness(session, ShopifyConnector(channel, http=session.http))
