"""BigCommerce's moves for the selling-channel contract (tests/connectors/contract/): orders placed
through the sandbox's `/_sandbox/orders`, thin `store/order/created` hooks signed with the Standard
Webhooks scheme keyed by the client secret, and the sandbox's real store quota answering 429 with
`X-Rate-Limit-Time-Reset-Ms` (milliseconds)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from connectors.bigcommerce import BigCommerceConnector, webhooks
from connectors.bigcommerce.client import AUTH_HEADER, RESET_HEADER
from connectors.bigcommerce.sandbox import create_app
from tests.connectors.bigcommerce.conftest import ACCESS_TOKEN, ADDRESS, STORE_HASH, make_channel
from tests.connectors.contract.roles import SellingHarness
from tests.connectors.contract.sandbox_session import KitFaults, SandboxSession, open_sandbox, resigned
from tests.connectors.webhook_receiver import ReceivedWebhook

ORDER = {
    "products": [{"sku": "TSHIRT-BLK-M", "quantity": 2}, {"sku": "MUG-11OZ", "quantity": 1}],
    "shipping_addresses": [ADDRESS],
    "customer": {"email": "ada@example.com"},
}


@dataclass(frozen=True)
class BigCommerceHarness(KitFaults):
    session: SandboxSession
    connector: BigCommerceConnector
    signature_header: str = webhooks.SIGNATURE_HEADER
    retry_header: str = RESET_HEADER
    inventory_skus: tuple[str, ...] = ("TSHIRT-BLK-M", "MUG-11OZ")
    poll_path: str = f"/stores/{STORE_HASH}/v2/orders"

    @property
    def http(self) -> httpx.AsyncClient:
        return self.session.http

    def throttle_delay(self, response: httpx.Response) -> float | None:
        if response.status_code != 429 or RESET_HEADER not in response.headers:
            return None
        return int(response.headers[RESET_HEADER]) / 1000

    def sign_wrongly(self, webhook: ReceivedWebhook) -> ReceivedWebhook:
        msg_id, stamp = webhook.headers["webhook-id"], int(webhook.headers["webhook-timestamp"])
        return resigned(
            webhook, webhooks.SIGNATURE_HEADER, webhooks.sign("not-the-client-secret", msg_id, stamp, webhook.body)
        )

    async def order_webhook(self, *, redelivered: bool = False) -> list[ReceivedWebhook]:
        mark = self.session.mark()
        await self.session.control("POST", "/_sandbox/orders", json=ORDER)
        return await self.session.topic_webhooks(mark, webhooks.Scope.ORDER_CREATED, redelivered)

    async def tracking_records(self, external_order_id: str) -> int:
        return len(await self.session.control("GET", "/_sandbox/shipments", params={"order": external_order_id}))

    async def published_quantities(self) -> dict[str, int]:
        levels = (await self.session.control("GET", "/_sandbox/inventory"))["levels"]
        return {sku: at["1"] for sku, at in levels.items() if "1" in at}

    async def place_orders_beyond_one_page(self) -> list[str]:
        # The connector pages by 2 (settings.page_size), so five orders span three pages.
        await self.session.configure(deliver_webhooks=False)
        placed = [await self.session.control("POST", "/_sandbox/orders", json=ORDER) for _ in range(5)]
        return [str(order["id"]) for order in placed]

    async def arm_rejection(self) -> None:
        await self.session.configure(reject_shipments=True)

    async def arm_rate_limit(self) -> None:
        # The store's own quota: one request per 30-second window, spent by another client.
        await self.session.configure(quota=1)
        await self.session.control("GET", f"/stores/{STORE_HASH}/v2/orders", headers={AUTH_HEADER: ACCESS_TOKEN})


@asynccontextmanager
async def open_selling(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SellingHarness]:
    channel = make_channel(monkeypatch, page_size=2)
    async with open_sandbox(channel, create_app) as session:
        yield BigCommerceHarness(session, BigCommerceConnector(channel, http=session.http))
