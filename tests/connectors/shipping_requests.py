"""The shipping request the 3PL connectors' tests send: two lines to a Chicago address, made as
the order workflow makes one (request id, idempotency key), for the fulfillment channel named."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orderloop.model import Address, RequestLine, ShippingRequest


def shipping_request_to(
    fulfillment_channel_id: str,
    external_id: str = "1001",
    *,
    location: str = "east",
    lines: tuple[tuple[str, int], ...] = (("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)),
    shipping_code: str | None = "express",
    **address: Any,
) -> ShippingRequest:
    order_id = f"order/storefront/{external_id}"
    return ShippingRequest(
        id=ShippingRequest.request_id(order_id, 1),
        idempotency_key=f"{order_id}/sr1/key",
        order_id=order_id,
        channel_id="storefront",
        external_order_id=external_id,
        fulfillment_channel_id=fulfillment_channel_id,
        location_id=location,
        line_items=[RequestLine(line_id=f"L{i}", sku=sku, quantity=q) for i, (sku, q) in enumerate(lines, 1)],
        shipping_address=Address(
            **{
                "first_name": "Ada",
                "last_name": "Lovelace",
                "address1": "100 N Racine Ave",
                "city": "Chicago",
                "state_or_province": "IL",
                "zip_code_or_postal_code": "60607",
                "country": "US",
                "email": "ada@example.com",
            }
            | address
        ),
        shipping_code=shipping_code,
        created_at=datetime(2026, 3, 2, 10, 15, tzinfo=UTC),
    )
