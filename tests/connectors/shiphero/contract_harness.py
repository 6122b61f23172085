"""ShipHero's moves for the fulfillment-channel contract (tests/connectors/contract/): orders
labelled by the sandbox's `/_sandbox/ship/{ref}` (nothing ships on a timer), Shipment Update
webhooks signed with the base64 HMAC of the body, stock per warehouse through `/_sandbox/stock`,
and the sandbox's real request cap answering 429 with `Retry-After`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from connectors.shiphero import ShipHeroConnector
from connectors.shiphero.sandbox import create_app
from connectors.shiphero.webhooks import SIGNATURE_HEADER, WebhookType, signature
from orderloop.model import ShippingRequest
from tests.connectors.contract.roles import FulfillmentHarness
from tests.connectors.contract.sandbox_session import (
    KitFaults,
    SandboxSession,
    channel_with_secrets,
    open_sandbox,
    resigned,
)
from tests.connectors.shiphero.conftest import (
    REFRESH_TOKEN,
    REFRESH_VAR,
    SECRET_VAR,
    WAREHOUSES,
    WEBHOOK_SECRET,
    channel_fields,
    shipping_request,
)
from tests.connectors.webhook_receiver import ReceivedWebhook


@dataclass(frozen=True)
class ShipHeroHarness(KitFaults):
    session: SandboxSession
    connector: ShipHeroConnector
    signature_header: str = SIGNATURE_HEADER
    retry_header = "Retry-After"
    location_id: str = "east"

    @property
    def http(self) -> httpx.AsyncClient:
        return self.session.http

    def sign_wrongly(self, webhook: ReceivedWebhook) -> ReceivedWebhook:
        return resigned(webhook, SIGNATURE_HEADER, signature("not-the-shared-secret", webhook.body))

    def shipping_request(self, ref: str) -> ShippingRequest:
        return shipping_request(ref, location=self.location_id)

    def rejected_request(self, ref: str) -> ShippingRequest:
        # ShipHero refuses a shipping address without a city (errors[] in a 200 answer).
        return shipping_request(ref, location=self.location_id, city=None)

    async def vendor_orders(self, request_id: str) -> int:
        orders = await self.session.control("GET", "/_sandbox/orders")
        return sum(1 for o in orders if o["partner_order_id"] == request_id)

    async def vendor_returns(self, return_id: str) -> int:
        returns = await self.session.control("GET", "/_sandbox/returns")
        return sum(1 for r in returns if r["partner_id"] == return_id)

    async def ship(self, request: ShippingRequest, *, redelivered: bool = False) -> list[ReceivedWebhook]:
        return await self.session.ship(f"/_sandbox/ship/{request.id}", WebhookType.SHIPMENT_UPDATE, redelivered)

    async def set_stock(self, levels: Mapping[str, int]) -> None:
        await self.session.control(
            "POST", "/_sandbox/stock", json={WAREHOUSES[self.location_id]: dict(levels)}, params={"replace": True}
        )

    async def arm_rate_limit(self) -> None:
        # ShipHero's hard cap answered 429 with Retry-After: a cap of one request, used up by
        # another client of the same account.
        await self.session.configure(request_limit=1, request_window=300)
        token = await self.session.control("POST", "/auth/refresh", json={"refresh_token": REFRESH_TOKEN})
        await self.session.control(
            "POST",
            "/graphql",
            json={"query": "{ orders { request_id } }"},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )


@asynccontextmanager
async def open_fulfillment(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FulfillmentHarness]:
    channel = channel_with_secrets(
        monkeypatch, {REFRESH_VAR: REFRESH_TOKEN, SECRET_VAR: WEBHOOK_SECRET}, **channel_fields()
    )
    async with open_sandbox(channel, create_app, auto_ship=False) as session:
        yield ShipHeroHarness(session, ShipHeroConnector(channel, http=session.http))
