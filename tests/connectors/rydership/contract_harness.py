"""RyderShip's moves for the fulfillment-channel contract (tests/connectors/contract/): orders
shipped by the sandbox's `/_sandbox/ship/{order_orig}`, `order.shipped` webhooks signed with
`X-WHIPLASH-SIGNATURE`, stock per warehouse through `/_sandbox/stock`, refusals as 422, and the
sandbox's real 10-a-second window answering 429 with `Retry-After` and `X-RateLimit-*`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from connectors.rydership import RyderShipConnector
from connectors.rydership.sandbox import create_app
from connectors.rydership.webhooks import SIGNATURE_HEADER, RyderShipEvent
from orderloop.model import ShippingRequest
from tests.connectors.contract.roles import FulfillmentHarness
from tests.connectors.contract.sandbox_session import (
    KitFaults,
    SandboxSession,
    channel_with_secrets,
    open_sandbox,
    resigned,
)
from tests.connectors.rydership.conftest import (
    SECRETS,
    WAREHOUSES,
    channel_fields,
    shipping_request,
)
from tests.connectors.webhook_receiver import ReceivedWebhook


@dataclass(frozen=True)
class RyderShipHarness(KitFaults):
    session: SandboxSession
    connector: RyderShipConnector
    signature_header: str = SIGNATURE_HEADER
    location_id: str = "east"

    @property
    def http(self) -> httpx.AsyncClient:
        return self.session.http

    def sign_wrongly(self, webhook: ReceivedWebhook) -> ReceivedWebhook:
        return resigned(webhook, self.signature_header, "0" * 64)

    def shipping_request(self, ref: str) -> ShippingRequest:
        return shipping_request(ref, location=self.location_id)

    def rejected_request(self, ref: str) -> ShippingRequest:
        # Whiplash refuses an item it does not know (422).
        return shipping_request(ref, location=self.location_id, lines=(("NO-SUCH-SKU", 1), ("MUG-11OZ", 1)))

    async def vendor_orders(self, request_id: str) -> int:
        orders = await self.session.control("GET", "/_sandbox/orders")
        return sum(1 for o in orders if o["order_orig"] == request_id)

    async def ship(self, request: ShippingRequest, *, redelivered: bool = False) -> list[ReceivedWebhook]:
        return await self.session.ship(f"/_sandbox/ship/{request.id}", RyderShipEvent.ORDER_SHIPPED, redelivered)

    async def set_stock(self, levels: Mapping[str, int]) -> None:
        stock = {str(WAREHOUSES[self.location_id]): dict(levels)}
        await self.session.control("POST", "/_sandbox/stock", json={"stock": stock})

    async def arm_rate_limit(self) -> None:
        # Whiplash's own 429: a window of one call a second, used up by another call of the
        # account (with the connector's token: a second grant would spend its refresh token).
        await self.session.configure(per_second=1)
        token = await self.connector.client.tokens.token()
        await self.session.control("GET", "/api/v2/items", headers={"Authorization": f"Bearer {token}"})


@asynccontextmanager
async def open_fulfillment(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FulfillmentHarness]:
    channel = channel_with_secrets(monkeypatch, SECRETS, **channel_fields())
    async with open_sandbox(channel, create_app, auto_ship=False) as session:
        yield RyderShipHarness(session, RyderShipConnector(channel, http=session.http))
