"""The storefront's moves for the selling-channel contract (tests/connectors/contract/): orders
placed through its sandbox's `/_sandbox/orders`, webhooks signed with Orderloop's scheme, and
its rate limit and outages from the kit's fault injector (429 with `Retry-After`)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from itertools import count

import httpx
import pytest

from connectors.signing import ORDERLOOP_SIGNATURE_HEADER, orderloop_signature
from connectors.storefront import StorefrontConnector
from connectors.storefront.sandbox import create_app
from connectors.storefront.webhooks import StorefrontEvent
from orderloop.model import ConnectorRole, Order
from tests.connectors.contract.roles import SellingHarness
from tests.connectors.contract.sandbox_session import (
    KitFaults,
    SandboxSession,
    channel_with_secrets,
    open_sandbox,
    resigned,
)
from tests.connectors.storefront.conftest import API_TOKEN, API_TOKEN_VAR, WEBHOOK_SECRET, WEBHOOK_SECRET_VAR, payload
from tests.connectors.webhook_receiver import ReceivedWebhook

# The storefront client reads orders 100 to a page.
POLL_PAGE = 100


@dataclass
class StorefrontHarness(KitFaults):
    session: SandboxSession
    connector: StorefrontConnector
    signature_header: str = ORDERLOOP_SIGNATURE_HEADER
    inventory_skus: tuple[str, ...] = ("TSHIRT-BLK-M", "MUG-11OZ")
    poll_path: str = "/orders"

    def __post_init__(self) -> None:
        self._ids = count(1)

    @property
    def http(self) -> httpx.AsyncClient:
        return self.session.http

    def sign_wrongly(self, webhook: ReceivedWebhook) -> ReceivedWebhook:
        return resigned(webhook, ORDERLOOP_SIGNATURE_HEADER, orderloop_signature("not-the-secret", webhook.body))

    async def _place(self, deliver: bool = True) -> str:
        order = copy.deepcopy(payload("order.json"))
        external_id = f"SF-C{next(self._ids):04d}"
        order["externalId"] = external_id
        order.pop("createdAt", None)
        order.pop("updatedAt", None)
        await self.session.control("POST", "/_sandbox/orders", json=order, params={"deliver": deliver})
        return external_id

    async def order_webhook(self, *, redelivered: bool = False) -> list[ReceivedWebhook]:
        mark = self.session.mark()
        await self._place()
        return await self.session.topic_webhooks(mark, StorefrontEvent.ORDER_CREATED, redelivered)

    async def tracking_records(self, external_order_id: str) -> int:
        return len(await self.session.control("GET", "/_sandbox/fulfillments", params={"order": external_order_id}))

    async def published_quantities(self) -> dict[str, int]:
        levels = (await self.session.control("GET", "/_sandbox/inventory"))["levels"]
        return {sku: level["available"] for sku, level in levels.items()}

    async def place_orders_beyond_one_page(self) -> list[str]:
        return [await self._place(deliver=False) for _ in range(POLL_PAGE + 3)]

    async def return_webhook(self, order: Order) -> list[ReceivedWebhook]:
        mark = self.session.mark()
        first = order.line_items[0]
        body = {
            "externalId": f"RET-{order.external_id}",
            "orderId": order.external_id,
            "returnLineItems": [
                {"id": "r1", "orderLineItemId": first.id, "sku": first.sku, "quantityReturned": first.quantity}
            ],
        }
        await self.session.control("POST", "/_sandbox/returns", json=body)
        return await self.session.topic_webhooks(mark, StorefrontEvent.RETURN_REQUESTED, False)

    async def received_notices(self, external_return_id: str) -> int:
        stored = await self.session.control("GET", "/_sandbox/returns")
        return sum(len(r.get("receivedNotices") or []) for r in stored if r["externalId"] == external_return_id)

    async def arm_rejection(self) -> None:
        await self.session.configure(reject_fulfillments=True)


@asynccontextmanager
async def open_selling(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SellingHarness]:
    channel = channel_with_secrets(
        monkeypatch,
        {WEBHOOK_SECRET_VAR: WEBHOOK_SECRET, API_TOKEN_VAR: API_TOKEN},
        id="storefront",
        type="storefront",
        role=ConnectorRole.SELLING,
        base_url="http://storefront.sandbox",
        credentials={"webhook_secret": WEBHOOK_SECRET_VAR, "api_token": API_TOKEN_VAR},
    )
    async with open_sandbox(channel, create_app) as session:
        yield StorefrontHarness(session, StorefrontConnector(channel, http=session.http))
