"""WMS test fixtures: the channel as `orderloop.yaml` declares it (its secrets in monkeypatched
environment variables), the WMS payloads under `fixtures/`, a shipping request as the order
workflow builds it, and the sandbox served in-process with a loopback endpoint that keeps the
raw webhooks the sandbox delivers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connectors.base import SandboxOptions
from connectors.wms import WmsConnector
from connectors.wms.sandbox import create_app
from orderloop.config import ChannelConfig
from orderloop.model import Address, ConnectorRole, RequestLine, ShippingRequest
from tests.connectors.webhook_receiver import WebhookReceiver, running_receiver

FIXTURES = Path(__file__).resolve().parent / "fixtures"

WEBHOOK_SECRET_VAR = "ORDERLOOP_WMS_WEBHOOK_SECRET"
API_TOKEN_VAR = "ORDERLOOP_WMS_API_TOKEN"
WEBHOOK_SECRET = "test-wms-webhook-secret"
API_TOKEN = "test-wms-api-token"

REQUEST_ID = "order/storefront/SF-1001/sr1"
ADDRESS = Address(
    first_name="Ada",
    last_name="Lovelace",
    address1="1 Main St",
    address2="Apt 4B",
    city="Springfield",
    state_or_province="IL",
    zip_code_or_postal_code="62701",
    country="US",
    phone="+1-555-123-4567",
)


def raw_payload(name: str) -> bytes:
    """A fixture's bytes exactly as they would arrive on the wire (what the signature covers)."""
    return (FIXTURES / name).read_bytes()


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(raw_payload(name))
    return data


def shipping_request(**changes: Any) -> ShippingRequest:
    """Two T-shirts and a mug of order SF-1001, sent to the east warehouse."""
    fields: dict[str, Any] = {
        "id": REQUEST_ID,
        "idempotency_key": "8d0c5a6e-2f1b-4c1e-9a57-0b1f3c2d4e5f",
        "order_id": "order/storefront/SF-1001",
        "channel_id": "storefront",
        "external_order_id": "SF-1001",
        "fulfillment_channel_id": "wms",
        "location_id": "east",
        "line_items": [
            RequestLine(line_id="li_1", sku="TSHIRT-BLK-M", quantity=2),
            RequestLine(line_id="li_2", sku="MUG-11OZ", quantity=1),
        ],
        "shipping_address": ADDRESS,
        "shipping_code": "UPS_GROUND",
        "created_at": datetime(2026, 11, 23, 9, 31, 5, tzinfo=UTC),
    }
    return ShippingRequest(**(fields | changes))


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> ChannelConfig:
    monkeypatch.setenv(WEBHOOK_SECRET_VAR, WEBHOOK_SECRET)
    monkeypatch.setenv(API_TOKEN_VAR, API_TOKEN)
    return ChannelConfig(
        id="wms",
        type="wms",
        role=ConnectorRole.FULFILLMENT,
        base_url="http://wms.sandbox",
        credentials={"webhook_secret": WEBHOOK_SECRET_VAR, "api_token": API_TOKEN_VAR},
    )


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async for running in running_receiver("/webhooks/wms"):
        yield running


@dataclass(frozen=True)
class Wms:
    """One running WMS sandbox: `http` reaches its API and `/_sandbox` controls, and `connector`
    is the connector under test, bound to the same in-process transport."""

    app: FastAPI
    http: httpx.AsyncClient
    connector: WmsConnector

    async def webhooks_sent(self) -> None:
        """Wait until every webhook the sandbox queued has been delivered (or given up)."""
        await self.app.state.sandbox.sender.drain()

    async def requests_held(self) -> list[dict[str, Any]]:
        """The shipping requests the WMS holds."""
        held: list[dict[str, Any]] = (await self.http.get("/_sandbox/shipping-requests")).json()
        return held

    async def recorded(self, method: str, path_prefix: str) -> list[dict[str, Any]]:
        response = await self.http.get("/_sandbox/requests", params={"method": method, "path_prefix": path_prefix})
        requests: list[dict[str, Any]] = response.json()
        return requests


@pytest.fixture
async def wms(channel: ChannelConfig, receiver: WebhookReceiver) -> AsyncIterator[Wms]:
    # Nothing ships on a timer: each test ships with `POST /_sandbox/ship/{id}` when it means to.
    app = create_app(SandboxOptions(channel=channel, webhook_url=receiver.url, knobs={"auto_ship": False}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=channel.base_url) as http,
    ):
        connector = WmsConnector(channel, http=http)
        yield Wms(app=app, http=http, connector=connector)
        await connector.aclose()
