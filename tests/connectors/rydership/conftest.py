"""A RyderShip channel with test credentials, shipping requests it serves, and the connector
bound in-process to the RyderShip sandbox with a loopback receiver standing in for the gateway."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from connectors.base import SandboxOptions
from connectors.rydership import RyderShipConnector
from connectors.rydership.sandbox import Account, create_app
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole, ShippingRequest
from tests.connectors.shipping_requests import shipping_request_to
from tests.connectors.webhook_receiver import WebhookReceiver, running_receiver

FIXTURES = Path(__file__).parent / "fixtures"
CLIENT_ID = "rydership-test-client-id"
CLIENT_SECRET = "rydership-test-client-secret"
REFRESH_TOKEN = "rydership-test-refresh-token"
BASE_URL = "http://rydership.sandbox.test"
WAREHOUSES = {"east": 11, "west": 12}
SECRETS = {
    "ORDERLOOP_TEST_RYDERSHIP_CLIENT_ID": CLIENT_ID,
    "ORDERLOOP_TEST_RYDERSHIP_CLIENT_SECRET": CLIENT_SECRET,
    "ORDERLOOP_TEST_RYDERSHIP_REFRESH_TOKEN": REFRESH_TOKEN,
    "ORDERLOOP_TEST_RYDERSHIP_WEBHOOK_SECRET": CLIENT_SECRET,
}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def channel_fields(**settings: Any) -> dict[str, Any]:
    return {
        "id": "rydership",
        "type": "rydership",
        "role": ConnectorRole.FULFILLMENT,
        "base_url": BASE_URL,
        "rate_limit_per_second": 10,
        "credentials": {
            "client_id": "ORDERLOOP_TEST_RYDERSHIP_CLIENT_ID",
            "client_secret": "ORDERLOOP_TEST_RYDERSHIP_CLIENT_SECRET",
            "refresh_token": "ORDERLOOP_TEST_RYDERSHIP_REFRESH_TOKEN",
            "webhook_secret": "ORDERLOOP_TEST_RYDERSHIP_WEBHOOK_SECRET",
        },
        "settings": {"warehouses": WAREHOUSES} | settings,
    }


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> ChannelConfig:
    for variable, value in SECRETS.items():
        monkeypatch.setenv(variable, value)
    return ChannelConfig(**channel_fields(shipping_methods={"express": "UPS 2nd Day Air"}))


def shipping_request(external_id: str = "1001", **options: Any) -> ShippingRequest:
    """The shared test request (tests/connectors/shipping_requests.py), sent to rydership."""
    return shipping_request_to("rydership", external_id, **options)


@dataclass
class Harness:
    """The sandbox app, its state, a client for it, the connector bound to it, the receiver."""

    app: Any
    sandbox: Account
    http: httpx.AsyncClient
    connector: RyderShipConnector
    receiver: WebhookReceiver

    async def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, f"/_sandbox/{path}", **kwargs)
        assert response.is_success, response.text
        return response.json()

    def calls(self, method: str, path: str) -> int:
        return len(self.sandbox.recorder.matching(method, path))


MakeHarness = Callable[..., Awaitable[Harness]]


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async for running in running_receiver("/webhooks/rydership"):
        yield running


@pytest_asyncio.fixture
async def make_harness(channel: ChannelConfig, receiver: WebhookReceiver) -> AsyncIterator[MakeHarness]:
    made: list[tuple[Harness, Any]] = []

    async def make(channel_config: ChannelConfig = channel, **knobs: Any) -> Harness:
        options = SandboxOptions(channel=channel_config, webhook_url=receiver.url, knobs={"auto_ship": False} | knobs)
        app = create_app(options)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)
        harness = Harness(app, app.state.sandbox, http, RyderShipConnector(channel_config, http=http), receiver)
        made.append((harness, lifespan))
        return harness

    yield make
    for harness, lifespan in made:
        await harness.connector.aclose()
        await harness.http.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest_asyncio.fixture
async def harness(make_harness: MakeHarness) -> Harness:
    return await make_harness()
