"""Generic storefront payloads <-> the canonical model: its webhook body is an onX order, so
mapping is mostly validation with readable reasons.

Order type: a custom field named `orderType` wins, else a tag `order-type:<type>`; the type is
one of `OrderType` (`standard`, `pre_order`, `bundle`, `subscription`, `wholesale`; hyphens
accepted, e.g. `order-type:pre-order`). No marker means `standard`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connectors.base import MappingError, validated_order
from connectors.json_values import money, text, utc_time
from connectors.signing import json_type
from orderloop.model import Address, Customer, CustomField, Order, OrderLine, OrderType, Shipment

ORDER_TYPE_FIELD = "orderType"
ORDER_TYPE_TAG = "order-type:"

_ADDRESS_FIELDS = tuple(Address.model_fields)
_CUSTOMER_FIELDS = ("id", "external_id", "email", "first_name", "last_name", "phone")
_ORDER_TEXT = (
    "name",
    "status",
    "currency",
    "shipping_carrier",
    "shipping_class",
    "shipping_code",
    "shipping_note",
    "order_note",
    "order_source",
    "payment_status",
    "gift_note",
)
_ORDER_MONEY = ("shipping_price", "order_discount", "order_tax", "sub_total_price", "total_price")
_LINE_MONEY = ("unit_price", "unit_discount", "total_price")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def external_order_id(raw: Mapping[str, Any]) -> str | None:
    """The storefront's order id (`externalId`), as text; None when absent or not a scalar."""
    value = raw.get("externalId")
    return text(value) if isinstance(value, str | int) else None


def map_order(
    raw: Mapping[str, Any], *, order_id: str, tenant_id: str, channel_id: str, received_at: datetime
) -> Order:
    """An onX order JSON as the storefront sends it -> `Order`; `MappingError` says what is wrong.

    A missing or incomplete shipping address maps (the workflow raises `invalid_address`)."""
    if not isinstance(raw, Mapping):
        raise MappingError(f"the order must be a JSON object, not {json_type(raw)}")
    external_id = external_order_id(raw)
    if external_id is None:
        raise MappingError("externalId is missing or not a string")
    fields: dict[str, Any] = {
        "id": order_id,
        "external_id": external_id,
        "tenant_id": tenant_id,
        "channel_id": channel_id,
        "created_at": utc_time(raw.get("createdAt")) or received_at,
        "updated_at": utc_time(raw.get("updatedAt")) or received_at,
        "line_items": _lines(raw.get("lineItems")),
        "shipping_address": _address(raw.get("shippingAddress"), "shippingAddress"),
        "billing_address": _address(raw.get("billingAddress"), "billingAddress"),
        "customer": _customer(raw.get("customer")),
        "tags": _tags(raw.get("tags")),
        "custom_fields": _custom_fields(raw.get("customFields"), "customFields"),
    }
    for name in _ORDER_TEXT:
        fields[name] = text(raw.get(_camel(name)))
    for name in _ORDER_MONEY:
        fields[name] = money(raw.get(_camel(name)), _camel(name))
    fields["order_type"] = order_type(fields["custom_fields"], fields["tags"])
    return validated_order(fields)


def order_type(custom_fields: list[CustomField], tags: list[str]) -> OrderType:
    """See the module docstring: custom field `orderType`, else tag `order-type:<type>`."""
    marker = next((f.value for f in custom_fields if f.name == ORDER_TYPE_FIELD), None)
    source = f"customFields {ORDER_TYPE_FIELD}"
    if marker is None:
        tag = next((t for t in tags if t.lower().startswith(ORDER_TYPE_TAG)), None)
        marker = tag[len(ORDER_TYPE_TAG) :] if tag else None
        source = f"tag {tag!r}"
    if marker is None:
        return OrderType.STANDARD
    try:
        return OrderType(marker.strip().lower().replace("-", "_"))
    except ValueError:
        allowed = ", ".join(t.value for t in OrderType)
        raise MappingError(f"unknown order type {marker!r} in {source}; expected one of {allowed}") from None


def _lines(value: Any) -> list[OrderLine]:
    if value is None:
        raise MappingError("lineItems is missing: an order needs at least one line")
    if not isinstance(value, list):
        raise MappingError(f"lineItems must be an array, not {json_type(value)}")
    if not value:
        raise MappingError("lineItems is empty: an order needs at least one line")
    # Ids the lines bring themselves: a line without one is keyed by its position, unless
    # another line already uses that number as its own id.
    own = {text(i.get("id")) or text(i.get("externalId")) for i in value if isinstance(i, Mapping)}
    lines = [_line(item, position, own) for position, item in enumerate(value, start=1)]
    seen: set[str] = set()
    for line in lines:
        if line.id in seen:
            raise MappingError(f"two lines share the id {line.id!r}: line ids must be unique within the order")
        seen.add(line.id)
    return lines


def _line(item: Any, position: int, taken: set[str | None]) -> OrderLine:
    where = f"lineItems[{position - 1}]"
    if not isinstance(item, Mapping):
        raise MappingError(f"{where} must be an object, not {json_type(item)}")
    sku = text(item.get("sku"))
    if not sku:
        raise MappingError(f"{where}: sku is missing or empty")
    external_id = text(item.get("externalId"))
    # The line key reservations and shipments refer to: the storefront's own line id when it
    # sends one, so tracking pushed back names lines it knows.
    fallback = str(position) if str(position) not in taken else f"line-{position}"
    line_id = text(item.get("id")) or external_id or fallback
    fields: dict[str, Any] = {
        "id": line_id,
        "external_id": external_id,
        "sku": sku,
        "quantity": _quantity(item.get("quantity"), where),
        "name": text(item.get("name")),
        "custom_fields": _custom_fields(item.get("customFields"), f"{where}.customFields"),
    }
    for name in _LINE_MONEY:
        fields[name] = money(item.get(_camel(name)), f"{where}.{_camel(name)}")
    return OrderLine(**fields)


def _quantity(value: Any, where: str) -> int:
    # Integral floats (2.0) pass: some storefronts serialise every number as a float.
    integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not integral or value < 1:
        shown = "missing" if value is None else repr(value)
        raise MappingError(f"{where}: quantity must be a positive integer, got {shown}")
    return int(value)


def _address(value: Any, where: str) -> Address | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise MappingError(f"{where} must be an object, not {json_type(value)}")
    return Address(**{name: text(value.get(_camel(name))) for name in _ADDRESS_FIELDS})


def _customer(value: Any) -> Customer | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise MappingError(f"customer must be an object, not {json_type(value)}")
    return Customer(**{name: text(value.get(_camel(name))) for name in _CUSTOMER_FIELDS}, tags=_tags(value.get("tags")))


def _tags(value: Any) -> list[str]:
    if value is None:
        return []
    # Some storefronts send tags as one comma-separated string.
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        raise MappingError(f"tags must be an array of strings, not {json_type(value)}")
    return [tag for tag in (text(item) for item in items) if tag]


def _custom_fields(value: Any, where: str) -> list[CustomField]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(f"{where} must be an array, not {json_type(value)}")
    fields = []
    for i, item in enumerate(value):
        name = text(item.get("name")) if isinstance(item, Mapping) else None
        if name is None:
            raise MappingError(f"{where}[{i}] must be an object with a name")
        fields.append(CustomField(name=name, value=text(item.get("value")) or ""))
    return fields


def fulfillment_body(order: Order, shipment: Shipment) -> dict[str, Any]:
    """The onX fulfillment the storefront receives for `shipment`, with the storefront's own
    order id and, per line, the storefront's line id when Orderloop knows it."""
    body = shipment.to_onx_fulfillment(tenant_id=order.tenant_id, order_id=order.external_id)
    for item, line in zip(body["lineItems"], shipment.line_items, strict=True):
        if line.line_id is not None:
            item["id"] = line.line_id
    if order.shipping_code and "shippingCode" not in body:
        body["shippingCode"] = order.shipping_code
    return body


def inventory_body(quantities: Mapping[str, int]) -> dict[str, Any]:
    return {"items": [{"sku": sku, "available": int(qty)} for sku, qty in sorted(quantities.items())]}
