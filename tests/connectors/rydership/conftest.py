"""A RyderShip channel with test credentials, shipping requests it serves, and the connector
bound in-process to the RyderShip sandbox with a loopback receiver standing in for the gateway."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from connectors.rydership import RyderShipConnector
from connectors.rydership.sandbox import Account, create_app
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole, ShippingRequest
from tests.connectors.sandbox_harness import SandboxHarness, harness_factory
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


Harness = SandboxHarness[Account, RyderShipConnector]
MakeHarness = Callable[..., Awaitable[Harness]]


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async for running in running_receiver("/webhooks/rydership"):
        yield running


@pytest_asyncio.fixture
async def make_harness(channel: ChannelConfig, receiver: WebhookReceiver) -> AsyncIterator[MakeHarness]:
    """A sandbox with the given knobs (auto-shipping off unless asked) and a connector on it."""
    async for make in harness_factory(channel, receiver, create_app, RyderShipConnector, BASE_URL, Account):
        yield make


@pytest_asyncio.fixture
async def harness(make_harness: MakeHarness) -> Harness:
    return await make_harness()
