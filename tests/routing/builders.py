"""Small builders for routing tests: configurations, orders and stock from plain values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orderloop.config import OrderloopConfig
from orderloop.model import Order
from orderloop.routing import Decision, RoutingContext, Stock, route

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)

# Real warehouse towns, so `closest` is checked against real distances.
ZIPS = {
    "newark": "07102",  # NJ
    "reno": "89501",  # NV
    "dallas": "75201",  # TX
    "chicago": "60606",  # IL
    "atlanta": "30303",  # GA
}
NYC, LA, SEATTLE, MIAMI, HOUSTON = "10118", "90012", "98109", "33131", "77002"


def channel(channel_id: str, role: str = "selling", **extra: Any) -> dict[str, Any]:
    kind = "storefront" if role == "selling" else "wms"
    return {"id": channel_id, "type": kind, "role": role, "base_url": "http://sandbox.invalid", **extra}


def location(location_id: str, postal_code: str, **extra: Any) -> dict[str, Any]:
    return {"id": location_id, "fulfillment_channel": "wms", "country": "US", "postal_code": postal_code, **extra}


def make_config(
    locations: list[dict[str, Any]],
    rules: list[dict[str, Any]],
    *,
    selling: tuple[str, ...] = ("storefront", "b2b"),
    channels: list[dict[str, Any]] | None = None,
    sku_tags: dict[str, list[str]] | None = None,
) -> OrderloopConfig:
    return OrderloopConfig.model_validate(
        {
            "tenant_id": "brand",
            "locations": locations,
            "channels": channels or [*(channel(c) for c in selling), channel("wms", "fulfillment")],
            "routing": {"rules": rules, "sku_tags": sku_tags or {}},
        }
    )


def make_order(
    lines: list[tuple[str, int]],
    *,
    channel_id: str = "storefront",
    postal_code: str = NYC,
    country: str = "US",
    state: str | None = None,
    external_id: str = "1001",
    **extra: Any,
) -> Order:
    return Order.model_validate(
        {
            "id": f"order/{channel_id}/{external_id}",
            "externalId": external_id,
            "tenantId": "brand",
            "createdAt": NOW.isoformat(),
            "updatedAt": NOW.isoformat(),
            "channelId": channel_id,
            "lineItems": [{"id": str(i + 1), "sku": sku, "quantity": qty} for i, (sku, qty) in enumerate(lines)],
            "shippingAddress": {
                "address1": "1 Main St",
                "city": "Somewhere",
                "country": country,
                "stateOrProvince": state,
                "zipCodeOrPostalCode": postal_code,
            },
            **extra,
        }
    )


def make_stock(levels: dict[str, dict[str, int]]) -> Stock:
    """{location: {sku: units}} -> {(sku, location): units}."""
    return {(sku, loc): units for loc, skus in levels.items() for sku, units in skus.items()}


def decide(
    order: Order,
    config: OrderloopConfig,
    stock: Stock,
    *,
    now: datetime = NOW,
    orders_today: dict[str, int] | None = None,
    force: str | None = None,
    exclude: list[str] | None = None,
) -> Decision:
    ctx = RoutingContext(
        now=now, orders_today=orders_today or {}, force_location=force, exclude_locations=exclude or []
    )
    return route(order, config, stock, ctx)


def shipped(decision: Decision) -> dict[str, list[str]]:
    """Location -> line ids, in the order the decision chose them."""
    return {loc: [line.id for line in lines] for loc, _, lines in decision.placements}
