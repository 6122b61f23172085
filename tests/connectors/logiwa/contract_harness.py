"""Logiwa's moves for the fulfillment-channel contract (tests/connectors/contract/): orders
shipped by the sandbox's `/_sandbox/ship/{code}` (nothing ships on a timer), "Order Shipment
Info" webhooks carrying the brand's token (Logiwa signs nothing, so a changed body is caught by
`confirm_event`, not here), stock per warehouse through `/_sandbox/stock`, refusals in HTTP 200
`Success: false` bodies, and the sandbox's real per-minute window answering 403 with the delay
in its text."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from connectors.logiwa import LogiwaConnector
from connectors.logiwa.client import throttle_delay
from connectors.logiwa.sandbox import create_app
from connectors.logiwa.webhooks import LogiwaTopic
from orderloop.model import ShippingRequest
from tests.connectors.contract.roles import FulfillmentHarness
from tests.connectors.contract.sandbox_session import (
    KitFaults,
    SandboxSession,
    channel_with_secrets,
    open_sandbox,
    resigned,
)
from tests.connectors.logiwa.conftest import PASSWORD, SECRETS, USERNAME, WAREHOUSES, channel_fields, shipping_request
from tests.connectors.webhook_receiver import ReceivedWebhook


@dataclass(frozen=True)
class LogiwaHarness(KitFaults):
    session: SandboxSession
    connector: LogiwaConnector
    signature_header: str = "X-Orderloop-Token"
    retry_header = "(none: the delay is in the 403 body)"
    signs_body = False
    refuses_in_body = True
    location_id: str = "east"

    @property
    def http(self) -> httpx.AsyncClient:
        return self.session.http

    def throttle_delay(self, response: httpx.Response) -> float | None:
        return throttle_delay(response)

    def sign_wrongly(self, webhook: ReceivedWebhook) -> ReceivedWebhook:
        return resigned(webhook, self.signature_header, "not-the-channel-webhook-token")

    def shipping_request(self, ref: str) -> ShippingRequest:
        return shipping_request(ref, location=self.location_id)

    def rejected_request(self, ref: str) -> ShippingRequest:
        # Logiwa refuses an item it does not know (HTTP 200, Success: false).
        return shipping_request(ref, location=self.location_id, lines=(("NO-SUCH-SKU", 1), ("MUG-11OZ", 1)))

    async def vendor_orders(self, request_id: str) -> int:
        orders = await self.session.control("GET", "/_sandbox/orders")
        return sum(1 for o in orders if o["Code"] == request_id)

    async def ship(self, request: ShippingRequest, *, redelivered: bool = False) -> list[ReceivedWebhook]:
        return await self.session.ship(f"/_sandbox/ship/{request.id}", LogiwaTopic.ORDER_SHIPMENT_INFO, redelivered)

    async def set_stock(self, levels: Mapping[str, int]) -> None:
        stock = {WAREHOUSES[self.location_id]: dict(levels)}
        await self.session.control("POST", "/_sandbox/stock", json={"stock": stock})

    async def arm_rate_limit(self) -> None:
        # Logiwa's own 403: a window of one call a minute, used by another client of the tenant.
        await self.session.configure(per_minute=1)
        form = {"grant_type": "password", "username": USERNAME, "password": PASSWORD}
        token = (await self.session.control("POST", "/token", data=form))["access_token"]
        await self.session.control(
            "POST", "/en/api/IntegrationApi/WarehouseOrderSearch", json={}, headers={"Authorization": f"Bearer {token}"}
        )


@asynccontextmanager
async def open_fulfillment(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FulfillmentHarness]:
    channel = channel_with_secrets(monkeypatch, SECRETS, **channel_fields())
    async with open_sandbox(channel, create_app, auto_ship=False) as session:
        yield LogiwaHarness(session, LogiwaConnector(channel, http=session.http))
