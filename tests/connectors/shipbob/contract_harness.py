"""ShipBob's moves for the fulfillment-channel contract (tests/connectors/contract/): orders
labelled by the sandbox's `/_sandbox/ship/{ref}` (nothing ships on a timer), `order.shipped`
webhooks signed with Standard Webhooks, stock per fulfillment center through `/_sandbox/stock`,
and the sandbox's real sliding-window limit answering 429 with `x-retry-after`."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from connectors.shipbob import ShipBobConnector
from connectors.shipbob.client import RETRY_AFTER_HEADER
from connectors.shipbob.sandbox import create_app
from connectors.shipbob.webhooks import ShipBobTopic
from connectors.signing import standard_webhook_signature
from orderloop.model import ConnectorRole, ShippingRequest
from tests.connectors.contract.roles import FulfillmentHarness
from tests.connectors.contract.sandbox_session import (
    KitFaults,
    SandboxSession,
    channel_with_secrets,
    open_sandbox,
    resigned,
)
from tests.connectors.shipbob.conftest import API_TOKEN, BASE_URL, SHIPBOB_CHANNEL_ID, WEBHOOK_SECRET, shipping_request
from tests.connectors.webhook_receiver import ReceivedWebhook

API_TOKEN_VAR = "ORDERLOOP_CONTRACT_SHIPBOB_API_TOKEN"
WEBHOOK_SECRET_VAR = "ORDERLOOP_CONTRACT_SHIPBOB_WEBHOOK_SECRET"
OTHER_SECRET = "whsec_" + base64.b64encode(b"not-the-subscription-signing-key").decode()
CENTERS = {"east": 8, "west": 10}


@dataclass(frozen=True)
class ShipBobHarness(KitFaults):
    session: SandboxSession
    connector: ShipBobConnector
    signature_header: str = "webhook-signature"
    retry_header = RETRY_AFTER_HEADER
    location_id: str = "east"

    @property
    def http(self) -> httpx.AsyncClient:
        return self.session.http

    def sign_wrongly(self, webhook: ReceivedWebhook) -> ReceivedWebhook:
        headers = webhook.headers
        signature = standard_webhook_signature(
            OTHER_SECRET, headers["webhook-id"], int(headers["webhook-timestamp"]), webhook.body
        )
        return resigned(webhook, "webhook-signature", signature)

    def shipping_request(self, ref: str) -> ShippingRequest:
        return shipping_request(ref, location=self.location_id)

    def rejected_request(self, ref: str) -> ShippingRequest:
        # ShipBob refuses a recipient address without a city (422 with its field errors).
        return shipping_request(ref, location=self.location_id, city=None)

    async def vendor_orders(self, request_id: str) -> int:
        orders = await self.session.control("GET", "/_sandbox/orders")
        return sum(1 for o in orders if o["reference_id"] == request_id)

    async def vendor_returns(self, return_id: str) -> int:
        held = await self.session.control("GET", "/_sandbox/returns")
        return sum(1 for r in held if r["reference_id"] == return_id)

    async def ship(self, request: ShippingRequest, *, redelivered: bool = False) -> list[ReceivedWebhook]:
        return await self.session.ship(f"/_sandbox/ship/{request.id}", ShipBobTopic.ORDER_SHIPPED, redelivered)

    async def set_stock(self, levels: Mapping[str, int]) -> None:
        center = str(CENTERS[self.location_id])
        await self.session.control("POST", "/_sandbox/stock", json={center: dict(levels)}, params={"replace": True})

    async def arm_rate_limit(self) -> None:
        # ShipBob's own 429 with `x-retry-after`: a window of one call, used up by another client
        # of the same token.
        await self.session.configure(rate_limit=1, rate_window=60)
        await self.session.control("GET", "/2026-01/channel", headers={"Authorization": f"Bearer {API_TOKEN}"})


@asynccontextmanager
async def open_fulfillment(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FulfillmentHarness]:
    channel = channel_with_secrets(
        monkeypatch,
        {API_TOKEN_VAR: API_TOKEN, WEBHOOK_SECRET_VAR: WEBHOOK_SECRET},
        id="shipbob",
        type="shipbob",
        role=ConnectorRole.FULFILLMENT,
        base_url=BASE_URL,
        credentials={"api_token": API_TOKEN_VAR, "webhook_secret": WEBHOOK_SECRET_VAR},
        settings={"channel_id": SHIPBOB_CHANNEL_ID, "fulfillment_centers": CENTERS},
    )
    async with open_sandbox(channel, create_app, auto_ship=False, partial_ratio=0) as session:
        yield ShipBobHarness(session, ShipBobConnector(channel, http=session.http))
