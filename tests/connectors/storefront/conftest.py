"""Storefront test fixtures: the channel as `orderloop.yaml` declares it (its secrets in
monkeypatched environment variables), the onX payloads under `fixtures/`, and the sandbox served
in-process with a loopback endpoint that keeps the raw webhooks the sandbox delivers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class ReceivedWebhook:
    headers: httpx.Headers
    body: bytes


@dataclass
class WebhookReceiver:
    """A loopback HTTP/1.1 endpoint answering 204 to every POST and keeping its headers and raw
    body, so a test verifies the signature over the bytes the sandbox actually sent."""

    received: list[ReceivedWebhook] = field(default_factory=list)
    url: str = ""
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/webhooks/storefront"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:  # the sender keeps its connection alive between deliveries
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                lines = [line.split(":", 1) for line in head.split("\r\n")[1:] if line]
                headers = httpx.Headers([(name.strip(), value.strip()) for name, value in lines])
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.received.append(ReceivedWebhook(headers, body))
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def aclose(self) -> None:
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    await receiver.start()
    yield receiver
    await receiver.aclose()


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
