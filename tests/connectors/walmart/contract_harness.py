"""Walmart's moves for the selling-channel contract (tests/connectors/contract/): orders placed
through the sandbox's `/_sandbox/orders`, ORDER_UPDATES notifications HMAC-signed as an HMAC
subscription is (RETURN_CREATED too, for a customer's return of shipped units), and the
sandbox's real per-operation token buckets answering 429 with
`X-Next-Replenishment-Time` (epoch milliseconds; the delay counted from the answer's `Date`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx
import pytest

from connectors.walmart import WalmartConnector
from connectors.walmart.sandbox import create_app
from orderloop.model import Order
from tests.connectors.contract.roles import SellingHarness
from tests.connectors.contract.sandbox_session import KitFaults, SandboxSession, open_sandbox, resigned
from tests.connectors.walmart.conftest import CLIENT_ID, CLIENT_SECRET, ORDER, make_channel
from tests.connectors.webhook_receiver import ReceivedWebhook

TOPIC = "ORDER_UPDATES"
RETURN_TOPIC = "RETURN_CREATED"
NODE = "10001234567"


@dataclass(frozen=True)
class WalmartHarness(KitFaults):
    session: SandboxSession
    connector: WalmartConnector
    signature_header: str = "Authorization"
    retry_header: str = "X-Next-Replenishment-Time"
    inventory_skus: tuple[str, ...] = ("TSHIRT-BLK-M", "MUG-11OZ")
    poll_path: str = "/v3/orders"

    @property
    def http(self) -> httpx.AsyncClient:
        return self.session.http

    def throttle_delay(self, response: httpx.Response) -> float | None:
        if response.status_code != 429:
            return None
        at = int(response.headers[self.retry_header]) / 1000
        return max(0.0, at - parsedate_to_datetime(response.headers["Date"]).timestamp())

    def sign_wrongly(self, webhook: ReceivedWebhook) -> ReceivedWebhook:
        digest = hmac.new(b"not-the-client-secret", webhook.body, hashlib.sha256).digest()
        return resigned(webhook, self.signature_header, base64.b64encode(digest).decode())

    async def order_webhook(self, *, redelivered: bool = False) -> list[ReceivedWebhook]:
        mark = self.session.mark()
        await self.session.control("POST", "/_sandbox/orders", json=ORDER)
        return await self.session.topic_webhooks(mark, TOPIC, redelivered)

    async def tracking_records(self, external_order_id: str) -> int:
        return len(await self.session.control("GET", f"/_sandbox/shipments/{external_order_id}"))

    async def published_quantities(self) -> dict[str, int]:
        levels = (await self.session.control("GET", "/_sandbox/inventory"))["levels"]
        return {sku: at[NODE] for sku, at in levels.items() if NODE in at}

    async def place_orders_beyond_one_page(self) -> list[str]:
        await self.session.configure(max_page_size=2, deliver_webhooks=False)
        placed = [await self.session.control("POST", "/_sandbox/orders", json=ORDER) for _ in range(5)]
        return [str(order["id"]) for order in placed]

    async def return_webhook(self, order: Order) -> list[ReceivedWebhook]:
        first = order.line_items[0]
        mark = self.session.mark()
        lines = [{"lineNumber": first.id, "quantity": first.quantity, "reason": "NO_LONGER_WANTED"}]
        await self.session.control("POST", f"/_sandbox/orders/{order.external_id}/returns", json={"lines": lines})
        return await self.session.topic_webhooks(mark, RETURN_TOPIC, False)

    async def received_notices(self, external_return_id: str) -> int:
        """Refund calls Walmart accepted for the return (its "received" is the refund)."""
        returns = await self.session.control("GET", "/_sandbox/returns")
        return sum(len(r["refunds"]) for r in returns if r["returnOrderId"] == external_return_id)

    async def arm_rejection(self) -> None:
        await self.session.configure(reject_shipments=True)

    async def arm_rate_limit(self) -> None:
        # Walmart's own 429: buckets of one call that barely refill, the token API's used by
        # another client of the seller.
        await self.session.configure(burst=1, calls_per_second=0.01)
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        headers = {"Authorization": f"Basic {basic}", "WM_QOS.CORRELATION_ID": "c-1", "WM_SVC.NAME": "Other"}
        await self.session.control("POST", "/v3/token", data={"grant_type": "client_credentials"}, headers=headers)
        # The connector's token (taken while the order was read) runs out: its renewal meets the
        # empty token bucket.
        await self.session.control("POST", "/_sandbox/tokens/expire")


@asynccontextmanager
async def open_selling(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SellingHarness]:
    channel = make_channel(monkeypatch)
    async with open_sandbox(channel, create_app) as session:
        yield WalmartHarness(session, WalmartConnector(channel, http=session.http))
