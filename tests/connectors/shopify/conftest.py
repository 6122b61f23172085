"""Shopify test fixtures: the channel as `orderloop.yaml` declares it (its secrets in monkeypatched
environment variables), Shopify-shaped payloads under `fixtures/`, and the Shopify sandbox served
in-process with a loopback endpoint that keeps the raw webhooks the sandbox delivers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connectors.base import SandboxOptions
from connectors.shopify import ShopifyConnector
from connectors.shopify.mapping import map_order
from connectors.shopify.sandbox import ShopifySandbox, create_app
from connectors.signing import base64_hmac_sha256
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole, Order, Shipment, ShipmentLine
from tests.connectors.webhook_receiver import WebhookReceiver, running_receiver

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCHEMAS = Path(__file__).resolve().parents[2] / "onx" / "schemas"

ACCESS_TOKEN_VAR = "ORDERLOOP_SHOPIFY_ACCESS_TOKEN"
WEBHOOK_SECRET_VAR = "ORDERLOOP_SHOPIFY_WEBHOOK_SECRET"
ACCESS_TOKEN = "shpat_test_0123456789abcdef"
WEBHOOK_SECRET = "test-shopify-app-client-secret"
LOCATION_ID = 655441491
API_VERSION = "2026-01"

TENANT = "demo-brand"
RECEIVED_AT = datetime(2026, 11, 23, 14, 31, 5, tzinfo=UTC)

ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "address1": "350 5th Ave",
    "city": "New York",
    "province_code": "NY",
    "zip": "10118",
    "country_code": "US",
}


def raw_payload(name: str) -> bytes:
    """A fixture's bytes exactly as they would arrive on the wire (what the HMAC covers)."""
    return (FIXTURES / name).read_bytes()


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(raw_payload(name))
    return data


def onx_schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS / f"{name}.json").read_text())
    return data


def shopify_headers(body: bytes, topic: str, secret: str = WEBHOOK_SECRET, **extra: str) -> dict[str, str]:
    """Every header Shopify sends with a webhook, signed over `body`."""
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": base64_hmac_sha256(secret, body),
        "X-Shopify-Shop-Domain": "orderloop-apparel.myshopify.com",
        "X-Shopify-API-Version": API_VERSION,
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-Triggered-At": "2026-11-23T14:30:16.508431Z",
        **extra,
    }


def make_channel(
    monkeypatch: pytest.MonkeyPatch, base_url: str = "http://shop.sandbox", **settings: Any
) -> ChannelConfig:
    monkeypatch.setenv(ACCESS_TOKEN_VAR, ACCESS_TOKEN)
    monkeypatch.setenv(WEBHOOK_SECRET_VAR, WEBHOOK_SECRET)
    return ChannelConfig(
        id="shopify",
        type="shopify",
        role=ConnectorRole.SELLING,
        base_url=base_url,
        credentials={"access_token": ACCESS_TOKEN_VAR, "webhook_secret": WEBHOOK_SECRET_VAR},
        settings={"api_version": API_VERSION, **settings},
    )


def shipment_for(
    order: Order, *lines: tuple[str, int], number: str | None = "1Z999AA10123456784", sid: str = "S1"
) -> Shipment:
    """A shipment of `(sku, quantity)` lines, naming the order's Shopify line item ids."""
    by_sku = {line.sku: line.id for line in order.line_items}
    return Shipment(
        id=sid,
        shipping_request_id=f"{order.id}/sr1",
        fulfillment_channel_id="wms",
        location_id="east",
        line_items=[ShipmentLine(sku=sku, quantity=qty, line_id=by_sku[sku]) for sku, qty in lines],
        tracking_numbers=[number] if number else [],
        shipping_carrier="UPS",
        shipped_at=datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC),
    )


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> ChannelConfig:
    return make_channel(monkeypatch, location_id=LOCATION_ID)


@pytest.fixture
def order(channel: ChannelConfig) -> Order:
    """The documented-style fixture order as the connector maps it."""
    return map_order(
        payload("order.json"),
        order_id="order/shopify/450789469",
        tenant_id=TENANT,
        channel_id=channel.id,
        received_at=RECEIVED_AT,
    )


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async for running in running_receiver("/webhooks/shopify"):
        yield running


@dataclass(frozen=True)
class Shop:
    """One running Shopify sandbox: `http` reaches its API and `/_sandbox` controls, and
    `connector` is the connector under test, bound to the same in-process transport."""

    app: FastAPI
    http: httpx.AsyncClient
    connector: ShopifyConnector

    @property
    def sandbox(self) -> ShopifySandbox:
        sandbox: ShopifySandbox = self.app.state.sandbox
        return sandbox

    async def place(self, body: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
        """Place an order through the sandbox control (default: 2 black T-shirts and a mug)."""
        body = body or {
            "line_items": [{"sku": "TSHIRT-BLK-M", "quantity": 2}, {"sku": "MUG-11OZ", "quantity": 1}],
            "shipping_address": ADDRESS,
            "email": "ada@example.com",
        }
        response = await self.http.post("/_sandbox/orders", json=body, params=params)
        assert response.status_code == 201, response.text
        placed: dict[str, Any] = response.json()
        return placed

    def map(self, raw: dict[str, Any]) -> Order:
        return self.connector.map_order(
            raw, order_id=f"order/shopify/{raw['id']}", tenant_id=TENANT, received_at=RECEIVED_AT
        )

    async def configure(self, **knobs: Any) -> None:
        response = await self.http.post("/_sandbox/config", json=knobs)
        assert response.status_code == 200, response.text

    async def recorded(self, method: str, path_prefix: str) -> list[dict[str, Any]]:
        response = await self.http.get("/_sandbox/requests", params={"method": method, "path_prefix": path_prefix})
        requests: list[dict[str, Any]] = response.json()
        return requests

    async def webhooks_sent(self) -> None:
        """Wait until every webhook the sandbox sent or released has been answered (or given up)."""
        await self.sandbox.sender.drain()


ShopFactory = Callable[..., Awaitable[Shop]]


@pytest.fixture
async def open_shop(monkeypatch: pytest.MonkeyPatch, receiver: WebhookReceiver) -> AsyncIterator[ShopFactory]:
    """Opens sandboxes with the given knobs and channel settings; all are closed at the end."""
    stack: list[tuple[Any, httpx.AsyncClient, ShopifyConnector]] = []

    async def open_one(knobs: dict[str, Any] | None = None, **settings: Any) -> Shop:
        channel = make_channel(monkeypatch, **({"location_id": LOCATION_ID} | settings))
        app = create_app(SandboxOptions(channel=channel, webhook_url=receiver.url, knobs=knobs or {}))
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=channel.base_url)
        connector = ShopifyConnector(channel, http=http)
        stack.append((lifespan, http, connector))
        return Shop(app=app, http=http, connector=connector)

    yield open_one
    for lifespan, http, connector in reversed(stack):
        await connector.aclose()
        await http.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def shop(open_shop: ShopFactory) -> Shop:
    return await open_shop()
