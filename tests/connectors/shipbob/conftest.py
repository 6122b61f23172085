"""A ShipBob channel with test credentials, the connector bound in-process to the ShipBob sandbox,
and a webhook receiver standing in for Orderloop's gateway."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request, Response

from connectors.base import SandboxOptions
from connectors.shipbob import ShipBobConnector
from connectors.shipbob.sandbox import ShipBobSandbox, create_app
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole, ShippingRequest
from tests.connectors.shipping_requests import shipping_request_to

FIXTURES = Path(__file__).parent / "fixtures"
API_TOKEN = "shipbob-test-personal-access-token"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"orderloop-shipbob-test-signing-key").decode()
SHIPBOB_CHANNEL_ID = 341234
BASE_URL = "http://shipbob.sandbox.test"
WEBHOOK_URL = "http://orderloop.test/webhooks/shipbob"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> ChannelConfig:
    monkeypatch.setenv("ORDERLOOP_TEST_SHIPBOB_API_TOKEN", API_TOKEN)
    monkeypatch.setenv("ORDERLOOP_TEST_SHIPBOB_WEBHOOK_SECRET", WEBHOOK_SECRET)
    return ChannelConfig(
        id="shipbob",
        type="shipbob",
        role=ConnectorRole.FULFILLMENT,
        base_url=BASE_URL,
        credentials={
            "api_token": "ORDERLOOP_TEST_SHIPBOB_API_TOKEN",
            "webhook_secret": "ORDERLOOP_TEST_SHIPBOB_WEBHOOK_SECRET",
        },
        settings={
            "channel_id": SHIPBOB_CHANNEL_ID,
            "fulfillment_centers": {"east": 8, "west": 10},
            "shipping_methods": {"express": "2-Day"},
        },
    )


def shipping_request(external_id: str = "1001", **options: Any) -> ShippingRequest:
    """The shared test request (tests/connectors/shipping_requests.py), sent to shipbob."""
    return shipping_request_to("shipbob", external_id, **({"address2": "Suite 100", "phone": "555-555-5555"} | options))


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """Orderloop's webhook endpoint as the sandbox sees it: answers 200 and keeps each delivery."""

    deliveries: list[Received] = field(default_factory=list)
    status: int = 200
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/webhooks/shipbob")
        async def receive(request: Request) -> Response:
            self.deliveries.append(Received({k.lower(): v for k, v in request.headers.items()}, await request.body()))
            self.arrived.set()
            return Response(status_code=self.status)

        return app

    async def wait_for(self, count: int, timeout: float = 3.0) -> list[Received]:
        async with asyncio.timeout(timeout):
            while len(self.deliveries) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.deliveries


@dataclass
class Harness:
    """The sandbox app, its state, a raw client for its controls, and the connector bound to it."""

    app: FastAPI
    sandbox: ShipBobSandbox
    http: httpx.AsyncClient
    connector: ShipBobConnector
    receiver: WebhookReceiver

    async def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, f"/_sandbox/{path}", **kwargs)
        assert response.is_success, response.text
        return response.json()

    def requests(self, method: str | None = None, path_prefix: str | None = None) -> list[Any]:
        return self.sandbox.recorder.matching(method, path_prefix)


MakeHarness = Callable[..., Awaitable[Harness]]


@pytest_asyncio.fixture
async def make_harness(channel: ChannelConfig) -> AsyncIterator[MakeHarness]:
    """Build a sandbox with the given knobs (auto-shipping off unless asked) and a connector on it."""
    made: list[Harness] = []

    async def make(channel_config: ChannelConfig = channel, **knobs: Any) -> Harness:
        receiver = WebhookReceiver()
        options = SandboxOptions(
            channel=channel_config, webhook_url=WEBHOOK_URL, knobs={"auto_ship": False, "partial_ratio": 0} | knobs
        )
        app = create_app(options, webhook_transport=httpx.ASGITransport(app=receiver.app()))
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)
        harness = Harness(app, app.state.sandbox, http, ShipBobConnector(channel_config, http=http), receiver)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        await harness.connector.aclose()
        await harness.sandbox.aclose()
        await harness.http.aclose()


@pytest_asyncio.fixture
async def harness(make_harness: MakeHarness) -> Harness:
    return await make_harness()
