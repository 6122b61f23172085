"""TikTok Shop payloads <-> the canonical model: an order of `GET /order/202309/orders` to
`Order`, a `Shipment` to the body of a package marked shipped (its line item ids), available
quantities to inventory update bodies.

Line items: TikTok's line item is one unit (the documented order sample has no quantity field;
an item that does carry `quantity` counts that many). The line items of one SKU (`sku_id`) are
one `OrderLine` whose id is the `sku_id` and whose quantity is their count; a cancelled line item
(`display_status` CANCELLED, or a `cancel_user`) is left out. A shipment's lines are mapped back
to as many line item ids of their SKU not yet in a shipped package (`package_lines`).

Which orders may ship: `AWAITING_SHIPMENT` and later. `UNPAID` and `ON_HOLD` (the buyer's remorse
window) are refused with a reason (the connector never starts them: the webhook and the poll
report them held, `hold_of`, until TikTok moves them on), as are orders fulfilled by TikTok (FBT) or shipped on a TikTok
label (`shipping_type` TIKTOK): a seller's warehouse does not ship those. `rts_sla_time` (ready to
ship by) is `Order.ship_by_date`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from connectors.base import ChannelHold, MappingError, validated_order
from connectors.json_values import integer, money, text
from connectors.signing import json_type
from orderloop.model import Address, Customer, CustomField, Order, OrderLine, Shipment

LINE_ITEM_IDS_FIELD = "tiktokLineItemIds"
# Quantities TikTok takes per SKU and warehouse.
MAX_INVENTORY = 99_999


class OrderStatus(StrEnum):
    UNPAID = "UNPAID"
    ON_HOLD = "ON_HOLD"
    AWAITING_SHIPMENT = "AWAITING_SHIPMENT"
    PARTIALLY_SHIPPING = "PARTIALLY_SHIPPING"
    AWAITING_COLLECTION = "AWAITING_COLLECTION"
    IN_TRANSIT = "IN_TRANSIT"
    DELIVERED = "DELIVERED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


# Not yet shippable: the connector does not start these.
NOT_YET_SHIPPABLE = frozenset({OrderStatus.UNPAID, OrderStatus.ON_HOLD})
# Our shipping (or someone's) has happened: nothing new to start.
AFTER_SHIPPING = frozenset(
    {
        OrderStatus.PARTIALLY_SHIPPING,
        OrderStatus.AWAITING_COLLECTION,
        OrderStatus.IN_TRANSIT,
        OrderStatus.DELIVERED,
        OrderStatus.COMPLETED,
    }
)


class ShippingType(StrEnum):
    TIKTOK = "TIKTOK"
    SELLER = "SELLER"


class FulfillmentType(StrEnum):
    FULFILLMENT_BY_SELLER = "FULFILLMENT_BY_SELLER"
    FULFILLMENT_BY_TIKTOK = "FULFILLMENT_BY_TIKTOK"


def external_order_id(raw: Mapping[str, Any]) -> str | None:
    """TikTok's order id (a digit string) as text."""
    value = text(raw.get("id"))
    return value if value and value.isdigit() else None


def status_of(raw: Mapping[str, Any]) -> OrderStatus | None:
    try:
        return OrderStatus(str(raw.get("status")))
    except ValueError:
        return None


def unix_time(value: Any) -> datetime | None:
    """A TikTok time (Unix seconds, as a number or digit string) in UTC."""
    seconds = integer(value)
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None and seconds > 0 else None


def seller_ships(raw: Mapping[str, Any]) -> bool:
    """Whether a seller's warehouse ships the order (not FBT, not on a TikTok label)."""
    return (
        raw.get("fulfillment_type") != FulfillmentType.FULFILLMENT_BY_TIKTOK
        and raw.get("shipping_type") != ShippingType.TIKTOK
    )


def hold_reason(status: OrderStatus) -> str:
    """Why TikTok holds an `UNPAID` or `ON_HOLD` order back, for the hold and the answer."""
    why = "in the buyer's remorse window" if status is OrderStatus.ON_HOLD else "not paid"
    return f"the order is {status} ({why}): it starts once TikTok moves it to AWAITING_SHIPMENT"


def hold_of(raw: Mapping[str, Any]) -> ChannelHold | None:
    """TikTok's hold of an order a seller's warehouse will ship (`UNPAID`, or `ON_HOLD` in the
    buyer's remorse window); None for any other (FBT and TikTok-label orders are never ours)."""
    status = status_of(raw)
    if status is None or status not in NOT_YET_SHIPPABLE or not seller_ships(raw):
        return None
    return ChannelHold(reason=hold_reason(status), status=str(status))


def map_order(
    raw: Mapping[str, Any], *, order_id: str, tenant_id: str, channel_id: str, received_at: datetime
) -> Order:
    """A TikTok order -> `Order`; `MappingError` says why it cannot ship (module docstring)."""
    if not isinstance(raw, Mapping):
        raise MappingError(f"the order must be a JSON object, not {json_type(raw)}")
    external_id = external_order_id(raw)
    if external_id is None:
        raise MappingError("id is missing or not a TikTok order id")
    status = status_of(raw)
    if status is None:
        raise MappingError(f"status {raw.get('status')!r} is not a TikTok order status")
    if status in NOT_YET_SHIPPABLE:
        raise MappingError(f"the order is {status}: TikTok lets it ship once it is AWAITING_SHIPMENT")
    if raw.get("fulfillment_type") == FulfillmentType.FULFILLMENT_BY_TIKTOK:
        raise MappingError("the order is fulfilled by TikTok (FBT): TikTok's warehouse ships it")
    if raw.get("shipping_type") == ShippingType.TIKTOK:
        raise MappingError("the order ships on a TikTok label (shipping_type TIKTOK): TikTok arranges its shipping")
    payment = raw.get("payment") if isinstance(raw.get("payment"), Mapping) else {}
    assert isinstance(payment, Mapping)
    email = text(raw.get("buyer_email"))
    fields: dict[str, Any] = {
        "id": order_id,
        "external_id": external_id,
        "tenant_id": tenant_id,
        "channel_id": channel_id,
        "created_at": unix_time(raw.get("create_time")) or received_at,
        "updated_at": unix_time(raw.get("update_time")) or received_at,
        "status": status.value,
        "currency": text(payment.get("currency")),
        "payment_status": "paid" if raw.get("paid_time") else None,
        "line_items": order_lines(raw.get("line_items")),
        "shipping_address": _address(raw.get("recipient_address"), email),
        "customer": _customer(raw, email),
        "order_note": text(raw.get("buyer_message")),
        "shipping_code": text(raw.get("delivery_option_id")),
        "shipping_class": text(raw.get("delivery_option_name")),
        "shipping_price": money(payment.get("shipping_fee"), "payment.shipping_fee"),
        "sub_total_price": money(payment.get("sub_total"), "payment.sub_total"),
        "order_tax": money(payment.get("tax"), "payment.tax"),
        "total_price": money(payment.get("total_amount"), "payment.total_amount"),
        "order_source": "tiktok_shop",
        "ship_by_date": unix_time(raw.get("rts_sla_time")),
    }
    return validated_order(fields)


def _customer(raw: Mapping[str, Any], email: str | None) -> Customer | None:
    user_id = text(raw.get("user_id"))
    return Customer(external_id=user_id, email=email) if user_id or email else None


@dataclass
class _Group:
    sku_id: str
    seller_sku: str
    name: str | None
    unit_price: Decimal | None
    item_ids: list[str]
    units: int = 0


def line_items_of(value: Any) -> list[Mapping[str, Any]]:
    if value is None:
        raise MappingError("line_items is missing: an order needs at least one line")
    if not isinstance(value, list):
        raise MappingError(f"line_items must be an array, not {json_type(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise MappingError(f"line_items[{index}] must be an object, not {json_type(item)}")
    return list(value)


def is_cancelled(item: Mapping[str, Any]) -> bool:
    return item.get("display_status") == OrderStatus.CANCELLED or bool(text(item.get("cancel_user")))


def units_of(item: Mapping[str, Any], where: str) -> int:
    """One unit per line item, unless the item says otherwise (`quantity`)."""
    if item.get("quantity") is None:
        return 1
    quantity = integer(item.get("quantity"))
    if quantity is None or quantity < 1:
        raise MappingError(f"{where}.quantity must be a positive whole number, got {item.get('quantity')!r}")
    return quantity


def order_lines(value: Any) -> list[OrderLine]:
    """The order's line items grouped by `sku_id` (module docstring); `MappingError` when none is
    left to ship or a line item lacks its SKU."""
    groups: dict[str, _Group] = {}
    for index, item in enumerate(line_items_of(value)):
        where = f"line_items[{index}]"
        if is_cancelled(item):
            continue
        item_id, sku_id = text(item.get("id")), text(item.get("sku_id"))
        seller_sku = text(item.get("seller_sku"))
        if item_id is None or sku_id is None:
            raise MappingError(f"{where}: id and sku_id are required")
        if seller_sku is None:
            raise MappingError(
                f"{where} (sku {sku_id}, {text(item.get('product_name')) or 'no name'}) has no seller_sku: "
                "give the SKU a seller SKU in TikTok Shop so a warehouse can pick it"
            )
        group = groups.setdefault(
            sku_id,
            _Group(
                sku_id,
                seller_sku,
                text(item.get("product_name")),
                money(item.get("sale_price"), f"{where}.sale_price"),
                [],
            ),
        )
        group.item_ids.append(item_id)
        group.units += units_of(item, where)
    if not groups:
        raise MappingError("no line item left to ship: every line item is cancelled")
    return [
        OrderLine(
            id=g.sku_id,
            external_id=g.sku_id,
            sku=g.seller_sku,
            quantity=g.units,
            unit_price=g.unit_price,
            total_price=g.unit_price * g.units if g.unit_price is not None else None,
            name=g.name,
            custom_fields=[CustomField(name=LINE_ITEM_IDS_FIELD, value=",".join(g.item_ids))],
        )
        for g in groups.values()
    ]


def _address(value: Any, email: str | None) -> Address | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise MappingError(f"recipient_address must be an object, not {json_type(value)}")
    levels = _district_levels(value.get("district_info"))
    first, last = text(value.get("first_name")), text(value.get("last_name"))
    if first is None and last is None and (name := text(value.get("name"))):
        first, _, rest = name.partition(" ")
        last = rest.strip() or None
    line2 = " ".join(p for p in (text(value.get(f"address_line{n}")) for n in (2, 3, 4)) if p) or None
    return Address(
        first_name=first,
        last_name=last,
        address1=text(value.get("address_line1")),
        address2=line2,
        city=levels.get("city"),
        state_or_province=levels.get("state"),
        zip_code_or_postal_code=text(value.get("postal_code")),
        country=text(value.get("region_code")),
        phone=text(value.get("phone_number")),
        email=email,
    )


# `district_info[].address_level_name` as TikTok names the levels per region, by what they are.
_LEVEL_NAMES = {"state": "state", "province": "state", "region": "state", "city": "city", "county": "county"}


def _district_levels(value: Any) -> dict[str, str]:
    """`district_info` -> {"state": ..., "city": ...}; the country level (L0) is `region_code`."""
    found: dict[str, str] = {}
    for entry in value if isinstance(value, list) else []:
        if not isinstance(entry, Mapping):
            continue
        kind = _LEVEL_NAMES.get(str(entry.get("address_level_name") or "").strip().lower())
        name = text(entry.get("address_name"))
        if kind and name and kind not in found:
            found[kind] = name
    return found


# --- outbound: a shipment -> the line items of a package ----------------------------------------


def recorded_package(raw: Mapping[str, Any], tracking_number: str) -> str | None:
    """The package TikTok already holds with this tracking number (an earlier push), if any."""
    for item in line_items_of(raw.get("line_items")):
        if item.get("tracking_number") == tracking_number and text(item.get("package_id")):
            return text(item.get("package_id"))
    return None


def package_lines(raw: Mapping[str, Any], shipment: Shipment, order: Order) -> list[str]:
    """The line item ids of `shipment`'s units: per shipped line, that many line items of its SKU
    not in a package yet (nor cancelled); `MappingError` when TikTok has fewer left."""
    by_line = {line.id: line for line in order.line_items}
    free: dict[str, list[str]] = {}
    for item in line_items_of(raw.get("line_items")):
        if is_cancelled(item) or item.get("package_id") or item.get("tracking_number"):
            continue
        units = units_of(item, "line item")
        free.setdefault(str(item.get("sku_id")), []).extend([str(item.get("id"))] * units)
    chosen: list[str] = []
    for line in shipment.line_items:
        ordered = by_line.get(line.line_id or "") or next((ln for ln in order.line_items if ln.sku == line.sku), None)
        if ordered is None:
            raise MappingError(f"shipment line {line.sku} is not a line of order {order.external_id}")
        left = free.get(ordered.id, [])
        if len(left) < line.quantity:
            raise MappingError(
                f"{line.quantity} x {line.sku} shipped but TikTok has {len(left)} line item(s) of SKU {ordered.id} "
                "not yet in a package"
            )
        chosen.extend(left[: line.quantity])
        del left[: line.quantity]
    # A line item counting several units is named once.
    return list(dict.fromkeys(chosen))


def package_body(item_ids: Iterable[str], tracking_number: str, provider_id: str) -> dict[str, Any]:
    return {
        "order_line_item_ids": list(item_ids),
        "tracking_number": tracking_number,
        "shipping_provider_id": provider_id,
    }


# --- outbound: inventory --------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogSku:
    product_id: str
    sku_id: str
    seller_sku: str


def live_skus(products: Iterable[Mapping[str, Any]]) -> dict[str, list[CatalogSku]]:
    """Seller SKU -> the live TikTok SKUs carrying it (a product `ACTIVATE`, a SKU with an id)."""
    found: dict[str, list[CatalogSku]] = {}
    for product in products:
        if product.get("status") != "ACTIVATE" or not text(product.get("id")):
            continue
        for sku in product.get("skus") or []:
            if not isinstance(sku, Mapping):
                continue
            seller_sku, sku_id = text(sku.get("seller_sku")), text(sku.get("id"))
            if seller_sku and sku_id:
                found.setdefault(seller_sku, []).append(CatalogSku(str(product["id"]), sku_id, seller_sku))
    return found


def inventory_bodies(
    quantities: Mapping[str, int], catalog: Mapping[str, list[CatalogSku]], warehouse_id: str
) -> dict[str, dict[str, Any]]:
    """Product id -> its update body: every SKU of it we publish, clamped to TikTok's 0-99999."""
    bodies: dict[str, dict[str, Any]] = {}
    for seller_sku, available in sorted(quantities.items()):
        for sku in catalog.get(seller_sku, []):
            body = bodies.setdefault(sku.product_id, {"skus": []})
            quantity = max(0, min(MAX_INVENTORY, available))
            body["skus"].append({"id": sku.sku_id, "inventory": [{"warehouse_id": warehouse_id, "quantity": quantity}]})
    return bodies
