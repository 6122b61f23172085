"""Storefront test fixtures: the channel as `orderloop.yaml` declares it (its secrets in
monkeypatched environment variables), the onX payloads under `fixtures/`, and the sandbox served
in-process with a loopback endpoint that keeps the raw webhooks the sandbox delivers."""

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
from connectors.storefront import StorefrontConnector
from connectors.storefront.mapping import map_order
from connectors.storefront.sandbox import create_app
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole, Order
from tests.connectors.webhook_receiver import WebhookReceiver, running_receiver

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCHEMAS = Path(__file__).resolve().parents[2] / "onx" / "schemas"

WEBHOOK_SECRET_VAR = "ORDERLOOP_STOREFRONT_WEBHOOK_SECRET"
API_TOKEN_VAR = "ORDERLOOP_STOREFRONT_API_TOKEN"
WEBHOOK_SECRET = "test-storefront-webhook-secret"
API_TOKEN = "test-storefront-api-token"

TENANT = "demo-brand"
RECEIVED_AT = datetime(2026, 11, 23, 9, 31, 5, tzinfo=UTC)


def raw_payload(name: str) -> bytes:
    """A fixture's bytes exactly as they would arrive on the wire (what the signature covers)."""
    return (FIXTURES / name).read_bytes()


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(raw_payload(name))
    return data


def onx_schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS / f"{name}.json").read_text())
    return data


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> ChannelConfig:
    monkeypatch.setenv(WEBHOOK_SECRET_VAR, WEBHOOK_SECRET)
    monkeypatch.setenv(API_TOKEN_VAR, API_TOKEN)
    return ChannelConfig(
        id="storefront",
        type="storefront",
        role=ConnectorRole.SELLING,
        base_url="http://storefront.sandbox",
        credentials={"webhook_secret": WEBHOOK_SECRET_VAR, "api_token": API_TOKEN_VAR},
    )


@pytest.fixture
def order(channel: ChannelConfig) -> Order:
    """The fixture order as the connector maps it."""
    return map_order(
        payload("order.json"),
        order_id="order/storefront/SF-1001",
        tenant_id=TENANT,
        channel_id=channel.id,
        received_at=RECEIVED_AT,
    )


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async for running in running_receiver("/webhooks/storefront"):
        yield running


@dataclass(frozen=True)
class Storefront:
    """One running storefront sandbox: `http` reaches its API and `/_sandbox` controls, and
    `connector` is the connector under test, bound to the same in-process transport."""

    app: FastAPI
    http: httpx.AsyncClient
    connector: StorefrontConnector

    async def webhooks_sent(self) -> None:
        """Wait until every webhook the sandbox queued has been delivered (or given up)."""
        await self.app.state.sandbox.sender.drain()

    async def recorded(self, method: str, path_prefix: str) -> list[dict[str, Any]]:
        response = await self.http.get("/_sandbox/requests", params={"method": method, "path_prefix": path_prefix})
        requests: list[dict[str, Any]] = response.json()
        return requests


@pytest.fixture
async def storefront(channel: ChannelConfig, receiver: WebhookReceiver) -> AsyncIterator[Storefront]:
    app = create_app(SandboxOptions(channel=channel, webhook_url=receiver.url))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=channel.base_url) as http,
    ):
        connector = StorefrontConnector(channel, http=http)
        yield Storefront(app=app, http=http, connector=connector)
        await connector.aclose()
