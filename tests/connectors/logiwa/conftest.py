"""A Logiwa channel with test credentials, shipping requests it serves, and the connector bound
in-process to the Logiwa sandbox with a loopback receiver standing in for Orderloop's gateway."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from connectors.logiwa import LogiwaConnector
from connectors.logiwa.sandbox import Warehouse, create_app
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole, ShippingRequest
from tests.connectors.sandbox_harness import SandboxHarness, harness_factory
from tests.connectors.shipping_requests import shipping_request_to
from tests.connectors.webhook_receiver import WebhookReceiver, running_receiver

FIXTURES = Path(__file__).parent / "fixtures"
USERNAME = "orderloop.api@brand.test"
PASSWORD = "logiwa-test-password"
WEBHOOK_TOKEN = "logiwa-test-webhook-token"
BASE_URL = "http://logiwa.sandbox.test"
WAREHOUSES = {"east": "WH-EAST", "west": "WH-WEST"}
SETTINGS: dict[str, Any] = {"depositor_code": "ACME", "warehouses": WAREHOUSES, "tier": "premium"}
SECRETS = {
    "ORDERLOOP_TEST_LOGIWA_USERNAME": USERNAME,
    "ORDERLOOP_TEST_LOGIWA_PASSWORD": PASSWORD,
    "ORDERLOOP_TEST_LOGIWA_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def channel_fields(**settings: Any) -> dict[str, Any]:
    return {
        "id": "logiwa",
        "type": "logiwa",
        "role": ConnectorRole.FULFILLMENT,
        "base_url": BASE_URL,
        "rate_limit_per_second": 20,
        "credentials": {
            "username": "ORDERLOOP_TEST_LOGIWA_USERNAME",
            "password": "ORDERLOOP_TEST_LOGIWA_PASSWORD",
            "webhook_token": "ORDERLOOP_TEST_LOGIWA_WEBHOOK_TOKEN",
        },
        "settings": SETTINGS | settings,
    }


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> ChannelConfig:
    for variable, value in SECRETS.items():
        monkeypatch.setenv(variable, value)
    return ChannelConfig(**channel_fields(carriers={"express": "UPS 2nd Day Air"}))


def shipping_request(external_id: str = "1001", **options: Any) -> ShippingRequest:
    """The shared test request (tests/connectors/shipping_requests.py), sent to logiwa."""
    return shipping_request_to("logiwa", external_id, **options)


Harness = SandboxHarness[Warehouse, LogiwaConnector]
MakeHarness = Callable[..., Awaitable[Harness]]


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async for running in running_receiver("/webhooks/logiwa"):
        yield running


@pytest_asyncio.fixture
async def make_harness(channel: ChannelConfig, receiver: WebhookReceiver) -> AsyncIterator[MakeHarness]:
    """A sandbox with the given knobs (auto-shipping off unless asked) and a connector on it."""
    async for make in harness_factory(channel, receiver, create_app, LogiwaConnector, BASE_URL, Warehouse):
        yield make


@pytest_asyncio.fixture
async def harness(make_harness: MakeHarness) -> Harness:
    return await make_harness()
