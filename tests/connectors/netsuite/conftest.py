"""A NetSuite channel with test credentials (token-based authentication, or M2M with a key made
for the test), shipping requests it serves, and the connector bound in-process to the NetSuite
sandbox."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.base import SandboxOptions
from connectors.netsuite import NetSuiteConnector
from connectors.netsuite.sandbox import Account, create_app
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole, ShippingRequest
from tests.connectors.sandbox_harness import SandboxHarness
from tests.connectors.shipping_requests import shipping_request_to
from tests.connectors.webhook_receiver import WebhookReceiver

FIXTURES = Path(__file__).parent / "fixtures"
ACCOUNT_ID = "1234567_SB1"
BASE_URL = "http://1234567-sb1.suitetalk.sandbox.test"
LOCATIONS = {"east": 3, "west": 4}
CUSTOMER = 1207
TBA_SECRETS = {
    "ORDERLOOP_TEST_NETSUITE_CONSUMER_KEY": "ns-test-consumer-key",
    "ORDERLOOP_TEST_NETSUITE_CONSUMER_SECRET": "ns-test-consumer-secret",
    "ORDERLOOP_TEST_NETSUITE_TOKEN_ID": "ns-test-token-id",
    "ORDERLOOP_TEST_NETSUITE_TOKEN_SECRET": "ns-test-token-secret",
}
TBA_CREDENTIALS = {
    "consumer_key": "ORDERLOOP_TEST_NETSUITE_CONSUMER_KEY",
    "consumer_secret": "ORDERLOOP_TEST_NETSUITE_CONSUMER_SECRET",
    "token_id": "ORDERLOOP_TEST_NETSUITE_TOKEN_ID",
    "token_secret": "ORDERLOOP_TEST_NETSUITE_TOKEN_SECRET",
}
M2M_CREDENTIALS = {
    "client_id": "ORDERLOOP_TEST_NETSUITE_CLIENT_ID",
    "certificate_id": "ORDERLOOP_TEST_NETSUITE_CERTIFICATE_ID",
    "private_key": "ORDERLOOP_TEST_NETSUITE_PRIVATE_KEY",
}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def private_key_pem() -> str:
    """A fresh 2048-bit RSA key, as `openssl genrsa` makes the certificate's (never committed)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def m2m_secrets(pem: str) -> dict[str, str]:
    return {
        "ORDERLOOP_TEST_NETSUITE_CLIENT_ID": "ns-test-client-id",
        "ORDERLOOP_TEST_NETSUITE_CERTIFICATE_ID": "ns-test-certificate",
        "ORDERLOOP_TEST_NETSUITE_PRIVATE_KEY": pem,
    }


def channel_fields(*, auth: str = "tba", **settings: Any) -> dict[str, Any]:
    return {
        "id": "netsuite",
        "type": "netsuite",
        "role": ConnectorRole.FULFILLMENT,
        "base_url": BASE_URL,
        "rate_limit_per_second": 10,
        "credentials": TBA_CREDENTIALS if auth == "tba" else M2M_CREDENTIALS,
        "settings": {"account_id": ACCOUNT_ID, "auth": auth, "locations": LOCATIONS, "customer": CUSTOMER} | settings,
    }


def selling_channel_fields(**settings: Any) -> dict[str, Any]:
    """The second instance: the same account as a selling channel (the ERP's own orders)."""
    return {
        "id": "netsuite-sales",
        "type": "netsuite",
        "role": ConnectorRole.SELLING,
        "base_url": BASE_URL,
        "rate_limit_per_second": 10,
        "credentials": TBA_CREDENTIALS,
        "settings": {"account_id": ACCOUNT_ID, "auth": "tba"} | settings,
    }


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> ChannelConfig:
    for variable, value in TBA_SECRETS.items():
        monkeypatch.setenv(variable, value)
    return ChannelConfig(**channel_fields())


def shipping_request(external_id: str = "1001", **options: Any) -> ShippingRequest:
    """The shared test request (tests/connectors/shipping_requests.py), sent to netsuite."""
    return shipping_request_to("netsuite", external_id, **options)


Harness = SandboxHarness[Account, NetSuiteConnector]
MakeHarness = Callable[..., Awaitable[Harness]]


async def open_harness(channel: ChannelConfig, **knobs: Any) -> tuple[Harness, Any]:
    """The sandbox (the warehouse fulfils only when a test says so) and a connector on it."""
    given = {"auto_fulfill": False} | knobs
    app = create_app(SandboxOptions(channel=channel, webhook_url="http://127.0.0.1:9/unused", knobs=given))
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    sandbox = app.state.sandbox
    assert isinstance(sandbox, Account)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)
    receiver = WebhookReceiver()  # NetSuite sends no webhooks: never started
    return SandboxHarness(app, sandbox, http, NetSuiteConnector(channel, http=http), receiver), lifespan


@pytest_asyncio.fixture
async def make_harness(channel: ChannelConfig) -> AsyncIterator[MakeHarness]:
    """A sandbox with the given knobs and a connector on it (`channel_config` to override)."""
    made: list[tuple[Harness, Any]] = []

    async def make(channel_config: ChannelConfig = channel, **knobs: Any) -> Harness:
        made.append(await open_harness(channel_config, **knobs))
        return made[-1][0]

    yield make
    for harness, lifespan in made:
        await harness.connector.aclose()
        await harness.http.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest_asyncio.fixture
async def harness(make_harness: MakeHarness) -> Harness:
    return await make_harness()
