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
from orderloop.model import ConnectorRole, ShippingRequest
from tests.connectors.contract.roles import FulfillmentHarness
from tests.connectors.contract.sandbox_session import (
    KitFaults,
    SandboxSession,
    channel_with_secrets,
    open_sandbox,
    resigned,
)
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
class WmsHarness(KitFaults):
    session: SandboxSession
    connector: WmsConnector
    signature_header: str = ORDERLOOP_SIGNATURE_HEADER
    location_id: str = "east"

    @property
    def http(self) -> httpx.AsyncClient:
        return self.session.http

    def sign_wrongly(self, webhook: ReceivedWebhook) -> ReceivedWebhook:
        return resigned(webhook, ORDERLOOP_SIGNATURE_HEADER, orderloop_signature("not-the-secret", webhook.body))

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

    async def vendor_returns(self, return_id: str) -> int:
        held = await self.session.control("GET", "/_sandbox/returns")
        return sum(1 for r in held if r["externalId"] == return_id)

    async def ship(self, request: ShippingRequest, *, redelivered: bool = False) -> list[ReceivedWebhook]:
        return await self.session.ship(f"/_sandbox/ship/{request.id}", WmsEvent.SHIPMENT_CREATED, redelivered)

    async def set_stock(self, levels: Mapping[str, int]) -> None:
        await self.session.control(
            "POST", "/_sandbox/stock", json={self.location_id: dict(levels)}, params={"replace": True}
        )


@asynccontextmanager
async def open_fulfillment(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FulfillmentHarness]:
    channel = channel_with_secrets(
        monkeypatch,
        {WEBHOOK_SECRET_VAR: WEBHOOK_SECRET, API_TOKEN_VAR: API_TOKEN},
        id="wms",
        type="wms",
        role=ConnectorRole.FULFILLMENT,
        base_url="http://wms.sandbox",
        credentials={"webhook_secret": WEBHOOK_SECRET_VAR, "api_token": API_TOKEN_VAR},
    )
    async with open_sandbox(channel, create_app, auto_ship=False) as session:
        yield WmsHarness(session, WmsConnector(channel, http=session.http))
