"""The onX-style bodies that sandboxes of channels speaking Orderloop's own JSON accept (the
storefront, the B2B portal): their timestamps, a fulfillment, an inventory update and a new
order, checked the same way in each, with the same 422 reasons."""

from __future__ import annotations

from collections.abc import Container
from datetime import UTC, datetime
from typing import Any

from connectors.sandbox_kit.errors import SandboxError
from connectors.signing import json_type


def now_text() -> str:
    """Now as these channels write times: UTC, microseconds, `Z`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: Any) -> datetime:
    """A stored time back as an aware datetime; an unreadable one sorts first."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def fulfillment_problem(body: Any) -> str | None:
    """What is wrong with a posted fulfillment (None: nothing)."""
    if not isinstance(body, dict):
        return f"the fulfillment must be a JSON object, not {json_type(body)}"
    items = body.get("lineItems")
    if not isinstance(items, list) or not items:
        return "lineItems must be a non-empty array"
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("sku"):
            return f"lineItems[{i}].sku is missing"
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            return f"lineItems[{i}].quantity must be a positive integer"
    if not isinstance(body.get("trackingNumbers"), list):
        return "trackingNumbers must be an array"
    return None


def inventory_items(body: Any) -> list[dict[str, Any]]:
    """The `items` of an inventory update (`{"items": [{"sku", "available"}]}`), or a 422."""
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise SandboxError(422, 'expected {"items": [{"sku": ..., "available": ...}]}')
    for i, item in enumerate(items):
        available = item.get("available") if isinstance(item, dict) else None
        if not isinstance(item, dict) or not isinstance(item.get("sku"), str) or not item["sku"]:
            raise SandboxError(422, f"items[{i}].sku is missing")
        if isinstance(available, bool) or not isinstance(available, int) or available < 0:
            raise SandboxError(422, f"items[{i}].available must be a non-negative integer")
    return items


def new_order_id(order: Any, known: Container[str], amend_hint: str) -> str:
    """The `externalId` of an order placed through the controls, or a 422/409 saying why not."""
    if not isinstance(order, dict):
        raise SandboxError(422, f"the order must be a JSON object, not {json_type(order)}")
    external_id = order.get("externalId")
    if not isinstance(external_id, str) or not external_id:
        raise SandboxError(422, "externalId is missing")
    if external_id in known:
        raise SandboxError(409, f"order {external_id!r} exists", hint=amend_hint)
    return external_id
