"""A ShipHero channel with test credentials and the shipping requests the tests send it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from orderloop.config import ChannelConfig
from orderloop.model import Address, ConnectorRole, RequestLine, ShippingRequest

FIXTURES = Path(__file__).parent / "fixtures"
REFRESH_TOKEN = "shiphero-test-refresh-token"
WEBHOOK_SECRET = "shiphero-test-shared-signature-secret"
BASE_URL = "http://shiphero.sandbox.test"
WAREHOUSES = {"east": "V2FyZWhvdXNlOjExMTE=", "west": "V2FyZWhvdXNlOjIyMjI="}
REFRESH_VAR = "ORDERLOOP_TEST_SHIPHERO_REFRESH_TOKEN"
SECRET_VAR = "ORDERLOOP_TEST_SHIPHERO_WEBHOOK_SECRET"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def channel_fields() -> dict[str, Any]:
    return {
        "id": "shiphero",
        "type": "shiphero",
        "role": ConnectorRole.FULFILLMENT,
        "base_url": BASE_URL,
        "credentials": {"refresh_token": REFRESH_VAR, "webhook_secret": SECRET_VAR},
        "settings": {"warehouses": WAREHOUSES, "shipping_methods": {"express": "2-Day"}},
    }


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> ChannelConfig:
    monkeypatch.setenv(REFRESH_VAR, REFRESH_TOKEN)
    monkeypatch.setenv(SECRET_VAR, WEBHOOK_SECRET)
    return ChannelConfig(**channel_fields())


def shipping_request(
    external_id: str = "1001",
    *,
    location: str = "east",
    lines: tuple[tuple[str, int], ...] = (("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)),
    **address: Any,
) -> ShippingRequest:
    order_id = f"order/storefront/{external_id}"
    fields: dict[str, Any] = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "address1": "12 Analytical Row",
        "city": "Brooklyn",
        "state_or_province": "NY",
        "zip_code_or_postal_code": "11201",
        "country": "US",
        "email": "ada@example.com",
        **address,
    }
    return ShippingRequest(
        id=ShippingRequest.request_id(order_id, 1),
        idempotency_key=f"{order_id}/sr1/key",
        order_id=order_id,
        channel_id="storefront",
        external_order_id=external_id,
        fulfillment_channel_id="shiphero",
        location_id=location,
        line_items=[RequestLine(line_id=f"L{i}", sku=sku, quantity=q) for i, (sku, q) in enumerate(lines, 1)],
        shipping_address=Address(**fields),
        shipping_code="express",
        created_at=datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
    )
