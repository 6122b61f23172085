"""BigCommerce test fixtures: the channel as `orderloop.yaml` declares it (its secrets in
monkeypatched environment variables), payloads under `fixtures/` shaped like the examples of
BigCommerce's v2 orders reference, deliveries signed as BigCommerce signs them, and the
BigCommerce sandbox served in-process with a loopback endpoint that keeps what it delivers."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connectors.base import SandboxOptions
from connectors.bigcommerce import BigCommerceConnector, webhooks
from connectors.bigcommerce.mapping import map_order, order_document
from connectors.bigcommerce.sandbox import BigCommerceSandbox, create_app
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole, Order, Shipment, ShipmentLine
from tests.connectors.webhook_receiver import WebhookReceiver, running_receiver

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCHEMAS = Path(__file__).resolve().parents[2] / "onx" / "schemas"

ACCESS_TOKEN_VAR = "ORDERLOOP_BIGCOMMERCE_ACCESS_TOKEN"
CLIENT_SECRET_VAR = "ORDERLOOP_BIGCOMMERCE_CLIENT_SECRET"
ACCESS_TOKEN = "test-bigcommerce-x-auth-token"
CLIENT_SECRET = "test-bigcommerce-app-client-secret"
STORE_HASH = "abc123"
BASE_URL = "http://bigcommerce.sandbox"

TENANT = "demo-brand"
RECEIVED_AT = datetime(2026, 11, 23, 14, 31, 5, tzinfo=UTC)

ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "street_1": "350 5th Ave",
    "city": "New York",
    "state": "New York",
    "zip": "10118",
    "country_iso2": "US",
}


def raw_payload(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def payload(name: str) -> Any:
    return json.loads(raw_payload(name))


def onx_schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS / f"{name}.json").read_text())
    return data


def fixture_document(**order_fields: Any) -> dict[str, Any]:
    """The fixture order as the connector reads it back: order, products, shipping addresses."""
    return order_document(
        {**payload("order.json"), **order_fields}, payload("products.json"), payload("shipping_addresses.json")
    )


def signed_headers(
    body: bytes,
    secret: str = CLIENT_SECRET,
    msg_id: str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
    timestamp: int | None = None,
) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": webhooks.sign(secret, msg_id, stamp, body),
    }


def make_channel(monkeypatch: pytest.MonkeyPatch, base_url: str = BASE_URL, **settings: Any) -> ChannelConfig:
    monkeypatch.setenv(ACCESS_TOKEN_VAR, ACCESS_TOKEN)
    monkeypatch.setenv(CLIENT_SECRET_VAR, CLIENT_SECRET)
    return ChannelConfig(
        id="bigcommerce",
        type="bigcommerce",
        role=ConnectorRole.SELLING,
        base_url=base_url,
        credentials={"access_token": ACCESS_TOKEN_VAR, "client_secret": CLIENT_SECRET_VAR},
        settings={"store_hash": STORE_HASH, **settings},
    )


def shipment_for(
    order: Order,
    *lines: tuple[str, int],
    number: str | None = "1Z999AA10123456784",
    sid: str = "S1",
    carrier: str = "UPS",
) -> Shipment:
    by_sku = {line.sku: line.id for line in order.line_items}
    return Shipment(
        id=sid,
        shipping_request_id=f"{order.id}/sr1",
        fulfillment_channel_id="shipbob",
        location_id="shipbob-nj",
        line_items=[ShipmentLine(sku=sku, quantity=qty, line_id=by_sku[sku]) for sku, qty in lines],
        tracking_numbers=[number] if number else [],
        shipping_carrier=carrier,
        shipped_at=datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC),
    )


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> ChannelConfig:
    return make_channel(monkeypatch)


@pytest.fixture
def order(channel: ChannelConfig) -> Order:
    return map_order(
        fixture_document(),
        order_id="order/bigcommerce/247",
        tenant_id=TENANT,
        channel_id=channel.id,
        received_at=RECEIVED_AT,
    )


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async for running in running_receiver("/webhooks/bigcommerce"):
        yield running


@dataclass(frozen=True)
class Store:
    """One running BigCommerce sandbox: `http` reaches its API and `/_sandbox` controls, and
    `connector` is the connector under test, bound to the same in-process transport."""

    app: FastAPI
    http: httpx.AsyncClient
    connector: BigCommerceConnector
    receiver: WebhookReceiver

    @property
    def sandbox(self) -> BigCommerceSandbox:
        sandbox: BigCommerceSandbox = self.app.state.sandbox
        return sandbox

    async def place(self, body: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
        body = body or {
            "products": [{"sku": "TSHIRT-BLK-M", "quantity": 2}, {"sku": "MUG-11OZ", "quantity": 1}],
            "shipping_addresses": [ADDRESS],
            "customer": {"email": "ada@example.com"},
        }
        response = await self.http.post("/_sandbox/orders", json=body, params=params)
        assert response.status_code == 201, response.text
        placed: dict[str, Any] = response.json()
        return placed

    async def mapped(self, order_id: int) -> Order:
        document = (await self.http.get(f"/_sandbox/orders/{order_id}")).json()
        return self.connector.map_order(
            document, order_id=f"order/bigcommerce/{order_id}", tenant_id=TENANT, received_at=RECEIVED_AT
        )

    async def configure(self, **knobs: Any) -> None:
        response = await self.http.post("/_sandbox/config", json=knobs)
        assert response.status_code == 200, response.text

    async def recorded(self, method: str, path_prefix: str) -> list[dict[str, Any]]:
        response = await self.http.get("/_sandbox/requests", params={"method": method, "path_prefix": path_prefix})
        requests: list[dict[str, Any]] = response.json()
        return requests

    async def delivered(self) -> None:
        await self.sandbox.sender.drain()


StoreFactory = Callable[..., Awaitable[Store]]


@pytest.fixture
async def open_store(monkeypatch: pytest.MonkeyPatch, receiver: WebhookReceiver) -> AsyncIterator[StoreFactory]:
    """Opens sandboxes with the given knobs and channel settings; all are closed at the end."""
    opened: list[tuple[Any, httpx.AsyncClient, BigCommerceConnector]] = []

    async def open_one(knobs: dict[str, Any] | None = None, **settings: Any) -> Store:
        channel = make_channel(monkeypatch, **settings)
        app = create_app(SandboxOptions(channel=channel, webhook_url=receiver.url, knobs=knobs or {}))
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=channel.base_url)
        connector = BigCommerceConnector(channel, http=http)
        opened.append((lifespan, http, connector))
        return Store(app=app, http=http, connector=connector, receiver=receiver)

    yield open_one
    for lifespan, http, connector in reversed(opened):
        await connector.aclose()
        await http.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def store(open_store: StoreFactory) -> Store:
    return await open_store()
