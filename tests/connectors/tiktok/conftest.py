"""TikTok Shop test fixtures: the channel as `orderloop.yaml` declares it (its secrets in
monkeypatched environment variables), TikTok-shaped payloads under `fixtures/`, and the TikTok
sandbox served in-process with a loopback endpoint keeping the notifications it delivers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.tiktok import TikTokConnector
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole
from tests.connectors.contract.sandbox_session import SandboxSession, channel_with_secrets, open_sandbox

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCHEMAS = Path(__file__).resolve().parents[2] / "onx" / "schemas"

APP_KEY = "6b8btm3gasnk7"
APP_SECRET = "test-tiktok-app-secret"
REFRESH_TOKEN = "ROW_test-refresh-token"
SHOP_CIPHER = "GCP_test_shop_cipher"
SHOP_ID = "7494049642642441621"
SECRETS = {
    "ORDERLOOP_TIKTOK_APP_KEY": APP_KEY,
    "ORDERLOOP_TIKTOK_APP_SECRET": APP_SECRET,
    "ORDERLOOP_TIKTOK_REFRESH_TOKEN": REFRESH_TOKEN,
}
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
    "phone": "2125550188",
}


def raw_payload(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(raw_payload(name))
    return data


def channel_fields(**settings: Any) -> dict[str, Any]:
    return {
        "id": "tiktok",
        "type": "tiktok",
        "role": ConnectorRole.SELLING,
        "base_url": "http://tiktok.sandbox.test",
        "credentials": {
            "app_key": "ORDERLOOP_TIKTOK_APP_KEY",
            "app_secret": "ORDERLOOP_TIKTOK_APP_SECRET",
            "refresh_token": "ORDERLOOP_TIKTOK_REFRESH_TOKEN",
        },
        "settings": {"shop_cipher": SHOP_CIPHER, "shop_id": SHOP_ID, **settings},
    }


def make_channel(monkeypatch: pytest.MonkeyPatch, **settings: Any) -> ChannelConfig:
    return channel_with_secrets(monkeypatch, SECRETS, **channel_fields(**settings))


@pytest.fixture
async def tiktok(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[SandboxSession, TikTokConnector]]:
    """The sandbox (webhooks to a loopback receiver) and a connector bound to it."""
    channel = make_channel(monkeypatch)
    from connectors.tiktok.sandbox import create_app

    async with open_sandbox(channel, create_app, on_hold_seconds=0) as session:
        connector = TikTokConnector(channel, http=session.http)
        yield session, connector
        await connector.aclose()
