"""Shopify REST payloads <-> the canonical model: an order JSON (webhook body or `orders.json`) to
`Order`, a `Shipment` to the bodies of `POST /fulfillments.json`, available quantities to
`inventory_levels/set` bodies.

What is shipped: a line item is left out when its `current_quantity` (the quantity after order
edits and removals; REST 2024-01 and later) is 0, when it is a gift card, or when it does not
`requires_shipping`. An order with no line left is refused (`MappingError`).

Which orders may ship: `financial_status` `authorized` (payment held; the merchant captures it
when fulfilling, Shopify's "capture at fulfillment" setting), `paid` and `partially_refunded`
ship by default. `pending` (payment not received: manual methods, bank transfer),
`partially_paid` (a deposit), `refunded`, `voided` and `expired` are refused with a reason, so
the workflow keeps the order in `invalid_order` with its payload, and the `orders/updated`
Shopify sends once it is paid re-maps it. A shop taking cash on delivery adds `pending` with the
channel setting `shippable_financial_statuses`.

Order type: as for the generic storefront, a note attribute `orderType` or a tag
`order-type:<type>`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from connectors.base import MappingError, validated_order
from connectors.json_values import line_amounts, money, text, utc_time
from connectors.signing import json_type
from connectors.storefront.mapping import order_type
from orderloop.model import Address, Customer, CustomField, Order, OrderLine, Shipment


class FinancialStatus(StrEnum):
    """`Order.financial_status` in the REST Admin API."""

    PENDING = "pending"
    AUTHORIZED = "authorized"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"
    EXPIRED = "expired"


DEFAULT_SHIPPABLE_STATUSES = frozenset(
    {FinancialStatus.AUTHORIZED, FinancialStatus.PAID, FinancialStatus.PARTIALLY_REFUNDED}
)


class FulfillmentOrderStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    SCHEDULED = "scheduled"
    ON_HOLD = "on_hold"
    INCOMPLETE = "incomplete"
    CLOSED = "closed"
    CANCELLED = "cancelled"


# Fulfillments can be created only against these (`in_progress` = partly fulfilled).
FULFILLABLE_STATUSES = frozenset({FulfillmentOrderStatus.OPEN, FulfillmentOrderStatus.IN_PROGRESS})
# A fulfillment in one of these states recorded nothing.
VOID_FULFILLMENT_STATUSES = frozenset({"cancelled", "error", "failure"})


# --- inbound: order JSON -> Order ---------------------------------------------------------------


def external_order_id(raw: Mapping[str, Any]) -> str | None:
    """Shopify's order id (an integer in the JSON) as text; None when absent or not an id."""
    value = raw.get("id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return value.strip()
    return None


def map_order(
    raw: Mapping[str, Any],
    *,
    order_id: str,
    tenant_id: str,
    channel_id: str,
    received_at: datetime,
    shippable_statuses: Collection[FinancialStatus] = DEFAULT_SHIPPABLE_STATUSES,
) -> Order:
    """A Shopify order JSON -> `Order`; `MappingError` says why it cannot ship (see the module
    docstring). A missing or incomplete shipping address maps: the workflow raises
    `invalid_address` for it."""
    if not isinstance(raw, Mapping):
        raise MappingError(f"the order must be a JSON object, not {json_type(raw)}")
    external_id = external_order_id(raw)
    if external_id is None:
        raise MappingError("id is missing or not a Shopify order id")
    payment = _payment_status(raw.get("financial_status"), shippable_statuses)
    lines = shippable_lines(raw.get("line_items"))
    email = text(raw.get("email")) or text(raw.get("contact_email"))
    tags = _tags(raw.get("tags"))
    custom_fields = _note_attributes(raw.get("note_attributes"))
    shipping = _first_shipping_line(raw.get("shipping_lines"))
    fields: dict[str, Any] = {
        "id": order_id,
        "external_id": external_id,
        "tenant_id": tenant_id,
        "channel_id": channel_id,
        "created_at": utc_time(raw.get("created_at")) or received_at,
        "updated_at": utc_time(raw.get("updated_at")) or received_at,
        "name": text(raw.get("name")),
        "status": _order_status(raw),
        "currency": text(raw.get("currency")),
        "payment_status": payment.value,
        "line_items": lines,
        "shipping_address": _address(raw.get("shipping_address"), "shipping_address", email),
        "billing_address": _address(raw.get("billing_address"), "billing_address", email),
        "customer": _customer(raw.get("customer")),
        "tags": tags,
        "custom_fields": custom_fields,
        "order_note": text(raw.get("note")),
        "shipping_code": text(shipping.get("code")),
        "shipping_class": text(shipping.get("title")),
        # Only a carrier-calculated rate names a carrier; Shopify's own rates say "shopify".
        "shipping_carrier": text(shipping.get("source")) if shipping.get("carrier_identifier") else None,
        "shipping_price": _shipping_price(raw),
        # The current_* totals reflect edits and removals; the plain ones are as first placed.
        "sub_total_price": money(_first(raw, "current_subtotal_price", "subtotal_price"), "subtotal_price"),
        "order_tax": money(_first(raw, "current_total_tax", "total_tax"), "total_tax"),
        "order_discount": money(_first(raw, "current_total_discounts", "total_discounts"), "total_discounts"),
        "total_price": money(_first(raw, "current_total_price", "total_price"), "total_price"),
        "order_type": order_type(custom_fields, tags),
    }
    return validated_order(fields)


def shippable_lines(value: Any) -> list[OrderLine]:
    """The line items a warehouse ships, keyed by Shopify's line item id; `MappingError` when
    there is none (the reason names each line left out and why)."""
    if value is None:
        raise MappingError("line_items is missing: an order needs at least one line")
    if not isinstance(value, list):
        raise MappingError(f"line_items must be an array, not {json_type(value)}")
    lines: list[OrderLine] = []
    skipped: list[str] = []
    for index, item in enumerate(value):
        where = f"line_items[{index}]"
        if not isinstance(item, Mapping):
            raise MappingError(f"{where} must be an object, not {json_type(item)}")
        reason = _not_shipped(item, where)
        if reason is not None:
            skipped.append(f"{_describe(item, where)} {reason}")
            continue
        lines.append(_line(item, where))
    if not lines:
        why = "; ".join(skipped) if skipped else "line_items is empty"
        raise MappingError(f"no line item needs shipping: {why}")
    return lines


def _not_shipped(item: Mapping[str, Any], where: str) -> str | None:
    if item.get("gift_card") is True:
        return "is a gift card"
    if item.get("requires_shipping") is False:
        return "does not require shipping"
    if _quantity(item, where) == 0:
        return "was removed (current_quantity 0)"
    return None


def _describe(item: Mapping[str, Any], where: str) -> str:
    line_id = text(item.get("id"))
    title = text(item.get("name")) or text(item.get("title"))
    label = f"line {line_id}" if line_id else where
    return f"{label} ({title})" if title else label


def _line(item: Mapping[str, Any], where: str) -> OrderLine:
    line_id = text(item.get("id"))
    if line_id is None:
        raise MappingError(f"{where}: id is missing")
    sku = text(item.get("sku"))
    if not sku:
        raise MappingError(
            f"{_describe(item, where)} has no SKU: give the variant a SKU in Shopify so a warehouse can pick it"
        )
    quantity = _quantity(item, where)
    unit_price = money(item.get("price"), f"{where}.price")
    discount = sum(
        (
            money(a.get("amount"), f"{where}.discount_allocations.amount") or Decimal(0)
            for a in item.get("discount_allocations") or []
            if isinstance(a, Mapping)
        ),
        Decimal(0),
    )
    ordered = _count(item.get("quantity")) or quantity
    unit_discount, total = line_amounts(unit_price, discount, ordered, quantity)
    custom = [
        CustomField(name=name, value=str(item[key]))
        for name, key in (("shopifyVariantId", "variant_id"), ("shopifyProductId", "product_id"))
        if isinstance(item.get(key), int) and not isinstance(item.get(key), bool)
    ]
    return OrderLine(
        id=line_id,
        external_id=line_id,
        sku=sku,
        quantity=quantity,
        unit_price=unit_price,
        unit_discount=unit_discount,
        total_price=total,
        name=text(item.get("name")) or text(item.get("title")),
        custom_fields=custom,
    )


def _quantity(item: Mapping[str, Any], where: str) -> int:
    """`current_quantity` when the payload has it (after edits), else `quantity`."""
    key = "current_quantity" if item.get("current_quantity") is not None else "quantity"
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        shown = "missing" if value is None else repr(value)
        raise MappingError(f"{where}.{key} must be a non-negative integer, got {shown}")
    return value


def _payment_status(value: Any, shippable: Collection[FinancialStatus]) -> FinancialStatus:
    allowed = ", ".join(sorted(shippable))
    try:
        status = FinancialStatus(value)
    except ValueError:
        shown = "missing" if value is None else repr(value)
        raise MappingError(
            f"financial_status is {shown}, not a Shopify payment status; orders ship when it is one of {allowed}"
        ) from None
    if status not in shippable:
        raise MappingError(
            f"financial_status is {status.value!r}: the order is not paid, so it is held until Shopify reports "
            f"it {' or '.join(sorted(shippable))} (the orders/updated that follows re-maps it)"
        )
    return status


def _order_status(raw: Mapping[str, Any]) -> str:
    if raw.get("cancelled_at"):
        return "cancelled"
    if raw.get("closed_at"):
        return "closed"
    return "open"


def _first(raw: Mapping[str, Any], *keys: str) -> Any:
    return next((raw[k] for k in keys if raw.get(k) is not None), None)


def _first_shipping_line(value: Any) -> Mapping[str, Any]:
    if isinstance(value, list) and value and isinstance(value[0], Mapping):
        return value[0]
    return {}


def _shipping_price(raw: Mapping[str, Any]) -> Decimal | None:
    total = raw.get("total_shipping_price_set")
    if isinstance(total, Mapping) and isinstance(total.get("shop_money"), Mapping):
        return money(total["shop_money"].get("amount"), "total_shipping_price_set")
    prices = [
        money(line.get("price"), "shipping_lines.price")
        for line in raw.get("shipping_lines") or []
        if isinstance(line, Mapping)
    ]
    known = [p for p in prices if p is not None]
    return sum(known, Decimal(0)) if known else None






def _address(value: Any, where: str, email: str | None) -> Address | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise MappingError(f"{where} must be an object, not {json_type(value)}")
    first, last = text(value.get("first_name")), text(value.get("last_name"))
    if not first and not last and text(value.get("name")):
        first, _, rest = str(value["name"]).strip().partition(" ")
        last = rest or None
    return Address(
        first_name=first,
        last_name=last,
        company=text(value.get("company")),
        address1=text(value.get("address1")),
        address2=text(value.get("address2")),
        city=text(value.get("city")),
        # Codes ("KY", "US") are what carriers and warehouses expect; names are the fallback.
        state_or_province=text(value.get("province_code")) or text(value.get("province")),
        zip_code_or_postal_code=text(value.get("zip")),
        country=text(value.get("country_code")) or text(value.get("country")),
        phone=text(value.get("phone")),
        # Shopify keeps the buyer's email on the order, not the address; carriers want it there.
        email=email,
    )


def _customer(value: Any) -> Customer | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise MappingError(f"customer must be an object, not {json_type(value)}")
    return Customer(
        external_id=text(value.get("id")),
        email=text(value.get("email")),
        first_name=text(value.get("first_name")),
        last_name=text(value.get("last_name")),
        phone=text(value.get("phone")),
        tags=_tags(value.get("tags")),
    )


def _tags(value: Any) -> list[str]:
    """Shopify sends tags as one comma-separated string."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        raise MappingError(f"tags must be a comma-separated string, not {json_type(value)}")
    return [tag for tag in (text(item) for item in items) if tag]


def _note_attributes(value: Any) -> list[CustomField]:
    """Cart attributes (`note_attributes`: name/value pairs) become custom fields."""
    if not isinstance(value, list):
        return []
    fields = []
    for item in value:
        name = text(item.get("name")) if isinstance(item, Mapping) else None
        if name:
            fields.append(CustomField(name=name, value=text(item.get("value")) or ""))
    return fields




# --- outbound: Shipment -> fulfillments ---------------------------------------------------------


@dataclass
class FulfillmentRequest:
    """One `POST /fulfillments.json`: Shopify takes fulfillment orders of a single location per
    fulfillment, so a shipment spanning locations becomes one request per location."""

    location_id: int | None
    # fulfillment order id -> {fulfillment order line item id: quantity}
    items: dict[int, dict[int, int]] = field(default_factory=dict)

    def add(self, fulfillment_order_id: int, line_item_id: int, quantity: int) -> None:
        lines = self.items.setdefault(fulfillment_order_id, {})
        lines[line_item_id] = lines.get(line_item_id, 0) + quantity

    def body(self, shipment: Shipment, notify_customer: bool) -> dict[str, Any]:
        fulfillment: dict[str, Any] = {
            "line_items_by_fulfillment_order": [
                {
                    "fulfillment_order_id": fo_id,
                    "fulfillment_order_line_items": [{"id": li, "quantity": q} for li, q in sorted(lines.items())],
                }
                for fo_id, lines in sorted(self.items.items())
            ],
            "notify_customer": notify_customer,
        }
        tracking = tracking_info(shipment)
        if tracking:
            fulfillment["tracking_info"] = tracking
        return {"fulfillment": fulfillment}


def tracking_info(shipment: Shipment) -> dict[str, str]:
    """Shopify keeps one tracking number per fulfillment: the shipment's first one."""
    info: dict[str, str] = {}
    if shipment.shipping_carrier:
        info["company"] = shipment.shipping_carrier
    if shipment.tracking_numbers:
        info["number"] = shipment.tracking_numbers[0]
    if shipment.tracking_url:
        info["url"] = shipment.tracking_url
    return info


def recorded_fulfillments(fulfillments: Iterable[Mapping[str, Any]], shipment: Shipment) -> list[Mapping[str, Any]]:
    """The order's live fulfillments that carry one of this shipment's tracking numbers: what a
    previous attempt of the same push created. A shipment without a tracking number matches
    none (see `ShopifyConnector.push_shipment`)."""
    numbers = set(shipment.tracking_numbers)
    if not numbers:
        return []
    found = []
    for fulfillment in fulfillments:
        if str(fulfillment.get("status")) in VOID_FULFILLMENT_STATUSES:
            continue
        carried = set(fulfillment.get("tracking_numbers") or [])
        if fulfillment.get("tracking_number"):
            carried.add(fulfillment["tracking_number"])
        if numbers & {str(n) for n in carried}:
            found.append(fulfillment)
    return found


def plan_fulfillments(
    order: Order,
    shipment: Shipment,
    fulfillment_orders: Iterable[Mapping[str, Any]],
    already: Iterable[Mapping[str, Any]] = (),
    prefer_location: int | None = None,
) -> list[FulfillmentRequest]:
    """Which fulfillment order line items, and how many units of each, record `shipment`.

    A shipment line names its Shopify line item by `line_id`; without one (or with one Shopify
    does not know) its SKU picks the order's lines. Units the `already` fulfillments recorded
    for this shipment are left out, so a retried push creates only what is missing; an empty
    list means nothing is. `MappingError` when Shopify has fewer units left to fulfil than the
    shipment carries (already fulfilled elsewhere, removed, on hold, cancelled)."""
    candidates: dict[str, list[tuple[Mapping[str, Any], Mapping[str, Any]]]] = {}
    blocked: dict[str, str] = {}
    for fo in fulfillment_orders:
        status = str(fo.get("status"))
        for item in fo.get("line_items") or []:
            if not isinstance(item.get("id"), int):
                continue
            line_item_id = str(item.get("line_item_id"))
            if status in FULFILLABLE_STATUSES:
                candidates.setdefault(line_item_id, []).append((fo, item))
            else:
                blocked.setdefault(line_item_id, f"fulfillment order {fo.get('id')} is {status}")
    for options in candidates.values():
        # The configured location first, so a line split across locations ships from ours.
        options.sort(key=lambda pair: (pair[0].get("assigned_location_id") != prefer_location, pair[0].get("id")))
    covered = _covered(already)
    remaining = {
        int(item["id"]): _count(item.get("fulfillable_quantity")) for pairs in candidates.values() for _, item in pairs
    }
    requests: dict[int | None, FulfillmentRequest] = {}
    for line in shipment.line_items:
        ids = _line_item_ids(order, line.line_id, line.sku, candidates, blocked)
        need = line.quantity
        for line_item_id in ids:
            done = min(need, covered.get(line_item_id, 0))
            covered[line_item_id] = covered.get(line_item_id, 0) - done
            need -= done
        for line_item_id in ids:
            for fo, item in candidates.get(line_item_id, []):
                if need == 0:
                    break
                take = min(need, remaining[int(item["id"])])
                if take <= 0:
                    continue
                remaining[int(item["id"])] -= take
                need -= take
                location = fo.get("assigned_location_id")
                location_id = location if isinstance(location, int) else None
                request = requests.setdefault(location_id, FulfillmentRequest(location_id=location_id))
                request.add(int(fo["id"]), int(item["id"]), take)
        if need > 0:
            why = "; ".join(sorted({blocked[i] for i in ids if i in blocked}))
            raise MappingError(
                f"{line.sku} x{line.quantity} (line item {', '.join(ids) or 'unknown'}): Shopify has "
                f"{line.quantity - need} unit(s) left to fulfil for it{f' ({why})' if why else ''}"
            )
    return [requests[key] for key in sorted(requests, key=lambda k: (k != prefer_location, k or 0))]


def _line_item_ids(
    order: Order,
    line_id: str | None,
    sku: str,
    candidates: Mapping[str, Any],
    blocked: Mapping[str, str],
) -> list[str]:
    if line_id is not None and (line_id in candidates or line_id in blocked):
        return [line_id]
    return [line.id for line in order.line_items if line.sku == sku]


def _covered(fulfillments: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Units per Shopify line item id that `fulfillments` recorded."""
    covered: dict[str, int] = {}
    for fulfillment in fulfillments:
        for item in fulfillment.get("line_items") or []:
            key = str(item.get("id"))
            covered[key] = covered.get(key, 0) + _count(item.get("quantity"))
    return covered


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


# --- inventory ----------------------------------------------------------------------------------


def inventory_items_by_sku(variants: Iterable[Mapping[str, Any]]) -> dict[str, list[int]]:
    """SKU -> the inventory item ids of the variants carrying it (Shopify does not enforce
    unique SKUs, so one SKU may name several)."""
    items: dict[str, list[int]] = {}
    for variant in variants:
        sku = text(variant.get("sku"))
        item_id = variant.get("inventory_item_id")
        if sku and isinstance(item_id, int) and not isinstance(item_id, bool):
            items.setdefault(sku, []).append(item_id)
    return items


def inventory_level_body(location_id: int, inventory_item_id: int, available: int) -> dict[str, Any]:
    """`POST /inventory_levels/set.json`: an absolute "available" at one location; a negative
    available-to-sell is published as 0."""
    return {"location_id": location_id, "inventory_item_id": inventory_item_id, "available": max(0, int(available))}
