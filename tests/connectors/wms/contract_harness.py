"""The WMS's moves for the fulfillment-channel contract (tests/connectors/contract/): requests
shipped by the sandbox's `/_sandbox/ship/{id}` (nothing ships on a timer), `shipment.created`
webhooks signed with Orderloop's scheme, stock set through `/_sandbox/stock`, and its rate limit
and outages from the kit's fault injector (429 with `Retry-After`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from connectors.signing import ORDERLOOP_SIGNATURE_HEADER, orderloop_signature
from connectors.wms import WmsConnector
from connectors.wms.sandbox import create_app
from connectors.wms.webhooks import WmsEvent
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole, ShippingRequest
from tests.connectors.contract.roles import FulfillmentHarness
from tests.connectors.contract.sandbox_session import SandboxSession, open_sandbox
from tests.connectors.webhook_receiver import ReceivedWebhook
from tests.connectors.wms.conftest import (
    ADDRESS,
    API_TOKEN,
    API_TOKEN_VAR,
    WEBHOOK_SECRET,
    WEBHOOK_SECRET_VAR,
    shipping_request,
)


@dataclass(frozen=True)
class WmsHarness:
    session: SandboxSession
    connector: WmsConnector
    signature_header: str = ORDERLOOP_SIGNATURE_HEADER
    retry_header: str = "Retry-After"
    location_id: str = "east"

    @property
    def http(self) -> httpx.AsyncClient:
        return self.session.http

    def sign_wrongly(self, webhook: ReceivedWebhook) -> ReceivedWebhook:
        headers = httpx.Headers(webhook.headers)
        headers[ORDERLOOP_SIGNATURE_HEADER] = orderloop_signature("not-the-webhook-secret", webhook.body)
        return ReceivedWebhook(headers, webhook.body)

    def shipping_request(self, ref: str) -> ShippingRequest:
        order_id = f"order/storefront/{ref}"
        return shipping_request(
            id=ShippingRequest.request_id(order_id, 1),
            idempotency_key=f"{order_id}/sr1/key",
            order_id=order_id,
            external_order_id=ref,
            location_id=self.location_id,
        )

    def rejected_request(self, ref: str) -> ShippingRequest:
        # No street: the WMS's carrier cannot produce a label (422).
        return self.shipping_request(ref).model_copy(
            update={"shipping_address": ADDRESS.model_copy(update={"address1": ""})}
        )

    async def vendor_orders(self, request_id: str) -> int:
        held = await self.session.control("GET", "/_sandbox/shipping-requests")
        return sum(1 for r in held if r["externalId"] == request_id)

    async def ship(self, request: ShippingRequest) -> list[ReceivedWebhook]:
        mark = self.session.mark()
        shipped = await self.session.control("POST", f"/_sandbox/ship/{request.id}")
        return await self.session.webhooks_since(mark, WmsEvent.SHIPMENT_CREATED, count=len(shipped["shipments"]))

    async def set_stock(self, levels: Mapping[str, int]) -> None:
        await self.session.control(
            "POST", "/_sandbox/stock", json={self.location_id: dict(levels)}, params={"replace": True}
        )

    async def arm_rate_limit(self) -> None:
        await self.session.arm_fault(429, retry_after=7)

    async def arm_unavailable(self) -> None:
        await self.session.arm_fault(503)


@asynccontextmanager
async def open_fulfillment(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FulfillmentHarness]:
    monkeypatch.setenv(WEBHOOK_SECRET_VAR, WEBHOOK_SECRET)
    monkeypatch.setenv(API_TOKEN_VAR, API_TOKEN)
    channel = ChannelConfig(
        id="wms",
        type="wms",
        role=ConnectorRole.FULFILLMENT,
        base_url="http://wms.sandbox",
        credentials={"webhook_secret": WEBHOOK_SECRET_VAR, "api_token": API_TOKEN_VAR},
    )
    async with open_sandbox(channel, create_app, auto_ship=False) as session:
        yield WmsHarness(session, WmsConnector(channel, http=session.http))
