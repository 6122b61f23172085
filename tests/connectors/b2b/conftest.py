"""B2B portal test fixtures: the channel as `orderloop.yaml` declares it (its secrets in
monkeypatched environment variables, two buyer accounts with their own buffer and share), the
portal order under `fixtures/`, and the sandbox served in-process with a loopback endpoint that
keeps the raw webhooks it delivers."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connectors.b2b import B2BPortalConnector
from connectors.b2b.sandbox import create_app
from connectors.base import SandboxOptions
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole
from tests.connectors.webhook_receiver import WebhookReceiver, running_receiver

FIXTURES = Path(__file__).resolve().parent / "fixtures"

WEBHOOK_SECRET_VAR = "ORDERLOOP_B2B_WEBHOOK_SECRET"
API_TOKEN_VAR = "ORDERLOOP_B2B_API_TOKEN"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"test-b2b-portal-signing-key").decode()
API_TOKEN = "test-b2b-api-token"
TENANT = "demo-brand"
RECEIVED_AT = datetime(2026, 11, 30, 14, 5, 30, tzinfo=UTC)
ACCOUNTS = {"acme-retail": {"buffer": 2, "share": 50}, "corner-shop": {}}


def payload(name: str = "order.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def portal_order(external_id: str, **changes: Any) -> dict[str, Any]:
    order = copy.deepcopy(payload())
    order.update(externalId=external_id, **changes)
    return order


def channel_fields() -> dict[str, Any]:
    return {
        "id": "b2b",
        "type": "b2b",
        "role": ConnectorRole.SELLING,
        "base_url": "http://b2b.sandbox",
        "credentials": {"webhook_secret": WEBHOOK_SECRET_VAR, "api_token": API_TOKEN_VAR},
        "settings": {"accounts": ACCOUNTS},
    }


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> ChannelConfig:
    monkeypatch.setenv(WEBHOOK_SECRET_VAR, WEBHOOK_SECRET)
    monkeypatch.setenv(API_TOKEN_VAR, API_TOKEN)
    return ChannelConfig(**channel_fields())


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async for running in running_receiver("/webhooks/b2b"):
        yield running


@dataclass(frozen=True)
class Portal:
    app: FastAPI
    http: httpx.AsyncClient
    connector: B2BPortalConnector

    async def webhooks_sent(self) -> None:
        await self.app.state.sandbox.sender.drain()

    async def recorded(self, method: str, path_prefix: str) -> list[dict[str, Any]]:
        response = await self.http.get("/_sandbox/requests", params={"method": method, "path_prefix": path_prefix})
        requests: list[dict[str, Any]] = response.json()
        return requests


@pytest.fixture
async def portal(channel: ChannelConfig, receiver: WebhookReceiver) -> AsyncIterator[Portal]:
    app = create_app(SandboxOptions(channel=channel, webhook_url=receiver.url))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=channel.base_url) as http,
    ):
        connector = B2BPortalConnector(channel, http=http)
        yield Portal(app=app, http=http, connector=connector)
        await connector.aclose()
