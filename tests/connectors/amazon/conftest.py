"""Amazon test fixtures: the channel as `orderloop.yaml` declares it (its LWA secrets and
notification key in monkeypatched environment variables), SP-API-shaped payloads under
`fixtures/` (the documented examples of orders_2026-01-01.json and OrderChangeNotification.json),
and the sandbox served in-process with a loopback endpoint keeping the notifications it sends."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.amazon import AmazonConnector
from connectors.amazon.sandbox import create_app
from orderloop.config import ChannelConfig
from orderloop.model import Order, Shipment
from tests.connectors.contract.sandbox_session import SandboxSession, channel_with_secrets, open_sandbox
from tests.connectors.contract.steps import shipment_of

FIXTURES = Path(__file__).resolve().parent / "fixtures"

CLIENT_ID = "amzn1.application-oa2-client.sandbox0123456789"
CLIENT_SECRET = "amzn1.oa2-cs.v1.test-secret"
REFRESH_TOKEN = "Atzr|test-refresh-token"
NOTIFICATION_KEY = "test-notification-key"
SELLER_ID = "A2SANDBOXSELLER"
MARKETPLACE = "ATVPDKIKX0DER"
SECRETS = {
    "ORDERLOOP_AMAZON_CLIENT_ID": CLIENT_ID,
    "ORDERLOOP_AMAZON_CLIENT_SECRET": CLIENT_SECRET,
    "ORDERLOOP_AMAZON_REFRESH_TOKEN": REFRESH_TOKEN,
    "ORDERLOOP_AMAZON_NOTIFICATION_KEY": NOTIFICATION_KEY,
}
KEY_HEADER = "x-api-key"
TENANT = "demo-brand"
RECEIVED_AT = datetime(2026, 11, 23, 14, 31, 5, tzinfo=UTC)

ADDRESS = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "address1": "350 5th Ave",
    "city": "New York",
    "stateOrProvince": "NY",
    "zipCodeOrPostalCode": "10118",
    "country": "US",
}
ORDER = {
    "lineItems": [{"sku": "TSHIRT-BLK-M", "quantity": 2, "unitPrice": 19.0}, {"sku": "MUG-11OZ", "quantity": 1}],
    "shippingAddress": ADDRESS,
    "customer": {"firstName": "Ada", "lastName": "Lovelace"},
}


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_bytes())
    return data


def channel_fields(**settings: Any) -> dict[str, Any]:
    return {
        "id": "amazon",
        "type": "amazon",
        "role": "selling",
        "base_url": "http://amazon.sandbox",
        "credentials": {
            "client_id": "ORDERLOOP_AMAZON_CLIENT_ID",
            "client_secret": "ORDERLOOP_AMAZON_CLIENT_SECRET",
            "refresh_token": "ORDERLOOP_AMAZON_REFRESH_TOKEN",
            "notification_key": "ORDERLOOP_AMAZON_NOTIFICATION_KEY",
        },
        "settings": {"seller_id": SELLER_ID, **settings},
    }


def make_channel(monkeypatch: pytest.MonkeyPatch, **settings: Any) -> ChannelConfig:
    return channel_with_secrets(monkeypatch, SECRETS, **channel_fields(**settings))


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> ChannelConfig:
    return make_channel(monkeypatch)


@pytest.fixture
async def session(channel: ChannelConfig) -> AsyncIterator[SandboxSession]:
    async with open_sandbox(channel, create_app) as opened:
        yield opened


@pytest.fixture
async def connector(channel: ChannelConfig, session: SandboxSession) -> AsyncIterator[AmazonConnector]:
    made = AmazonConnector(channel, http=session.http)
    yield made
    await made.aclose()


def map_fixture(connector: AmazonConnector, raw: dict[str, Any]) -> Order:
    return connector.map_order(
        raw, order_id=f"order/amazon/{raw['orderId']}", tenant_id=TENANT, received_at=RECEIVED_AT
    )


def parcel(order: Order, shipment_id: str, lines: slice = slice(None), carrier: str | None = "UPS") -> Shipment:
    """The contract's parcel of some of the order's lines, by `carrier`."""
    return shipment_of(order, shipment_id, lines).model_copy(update={"shipping_carrier": carrier})
