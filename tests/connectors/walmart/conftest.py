"""Walmart test fixtures: the channel as `orderloop.yaml` declares it (its secrets in monkeypatched
environment variables), purchase orders shaped like Walmart's documented examples under
`fixtures/`, and the sandbox served in-process (`open_sandbox`) with a loopback endpoint keeping
the notifications it sends."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from connectors.walmart import WalmartConnector
from connectors.walmart.sandbox import Seller, create_app
from orderloop.config import ChannelConfig
from tests.connectors.contract.sandbox_session import SandboxSession, channel_with_secrets, open_sandbox

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCHEMAS = Path(__file__).resolve().parents[2] / "onx" / "schemas"

CLIENT_ID = "test-walmart-client-id"
CLIENT_SECRET = "test-walmart-client-secret"
SECRETS = {"ORDERLOOP_WALMART_CLIENT_ID": CLIENT_ID, "ORDERLOOP_WALMART_CLIENT_SECRET": CLIENT_SECRET}
BASE_URL = "http://walmart.test"
TENANT = "demo-brand"
RECEIVED_AT = datetime(2026, 11, 23, 14, 31, 5, tzinfo=UTC)

# An order as `orderloop demo` places it on a sandbox (onX-ish).
ORDER: dict[str, Any] = {
    "externalId": "demo-0001",
    "shippingCode": "standard",
    "shippingAddress": {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "address1": "350 5th Ave",
        "city": "New York",
        "stateOrProvince": "NY",
        "zipCodeOrPostalCode": "10118",
        "country": "US",
    },
    "lineItems": [{"sku": "TSHIRT-BLK-M", "quantity": 2, "unitPrice": 19.0}, {"sku": "MUG-11OZ", "quantity": 1}],
}


def channel_fields(**settings: Any) -> dict[str, Any]:
    return {
        "id": "walmart",
        "type": "walmart",
        "role": "selling",
        "base_url": BASE_URL,
        "credentials": {"client_id": "ORDERLOOP_WALMART_CLIENT_ID", "client_secret": "ORDERLOOP_WALMART_CLIENT_SECRET"},
        "settings": settings,
    }


def make_channel(monkeypatch: pytest.MonkeyPatch, **settings: Any) -> ChannelConfig:
    return channel_with_secrets(monkeypatch, SECRETS, **channel_fields(**settings))


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_bytes())
    return data


@dataclass(frozen=True)
class Walmart:
    """The sandbox session, its state and the connector bound to it."""

    session: SandboxSession
    seller: Seller
    connector: WalmartConnector

    async def place(self, order: dict[str, Any] = ORDER) -> str:
        placed = await self.session.control("POST", "/_sandbox/orders", json=order)
        return str(placed["id"])

    def calls(self, method: str, path: str) -> int:
        return len(self.seller.recorder.matching(method, path))


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> ChannelConfig:
    return make_channel(monkeypatch)


@pytest_asyncio.fixture
async def walmart(channel: ChannelConfig) -> AsyncIterator[Walmart]:
    async with open_sandbox(channel, create_app) as session:
        connector = WalmartConnector(channel, http=session.http)
        yield Walmart(session, session.app.state.sandbox, connector)
        await connector.aclose()
