"""BigCommerce payloads <-> the canonical model: the order document (the v2 order with its
`products` and `shipping_addresses` read in place of their resource links, see
`order_document`) to `Order`, a `Shipment` to the body of `POST /v2/orders/{id}/shipments`,
available quantities to the items of `PUT /v3/inventory/adjustments/absolute`.

Which orders may ship: the order's `status_id` must be one of the channel's
`shippable_statuses` (default 11 Awaiting Fulfillment and 9 Awaiting Shipment). The connector
does not start an order in another status (`hold_reason` says why: 0 Incomplete, 6 Declined and 12
Manual Verification Required with the reason BigCommerce means by them); `map_order` refuses one
(`MappingError`), which is what an edit of an accepted order that left those statuses meets.

What is shipped: physical products (`type` "physical"), less what was refunded; the children of
a bundle (`is_bundled_product`) are left out, the bundle's own line ships (Orderloop's kits
expand it).

Where it ships: each product names its `order_address_id` (one of the order's
`shipping_addresses`). An order whose shipped products all go to one address maps that address
as `Order.shipping_address` and sets no line address. An order shipping to several addresses (a
buyer sending gifts to two people) gives each line its address (`OrderLine.shipping_address`,
`address_ref` = the `order_address_id`), the first line's being the order's own: routing makes
one fulfilment part per address, and each shipment names the `order_address_id` of its lines
(`POST /v2/orders/{id}/shipments` requires it; BigCommerce refuses products of another address
in it). API_FACTS.md section 3: "Multi-address orders (shipments bound to `order_address_id`)".
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from enum import IntEnum
from typing import Any

from connectors.base import MappingError, validated_order
from connectors.json_values import integer, line_amounts, money, text, utc_time
from connectors.signing import json_type
from orderloop.model import Address, Customer, CustomField, Order, OrderLine, Shipment

# Written into each shipment's `comments`, so a retried push finds the shipment it created.
SHIPMENT_MARK = "Orderloop shipment"


class OrderStatusId(IntEnum):
    """`status_id` of a v2 order (`GET /v2/order_statuses`)."""

    INCOMPLETE = 0
    PENDING = 1
    SHIPPED = 2
    PARTIALLY_SHIPPED = 3
    REFUNDED = 4
    CANCELLED = 5
    DECLINED = 6
    AWAITING_PAYMENT = 7
    AWAITING_PICKUP = 8
    AWAITING_SHIPMENT = 9
    COMPLETED = 10
    AWAITING_FULFILLMENT = 11
    MANUAL_VERIFICATION_REQUIRED = 12
    DISPUTED = 13
    PARTIALLY_REFUNDED = 14


DEFAULT_SHIPPABLE_STATUSES = frozenset({OrderStatusId.AWAITING_FULFILLMENT, OrderStatusId.AWAITING_SHIPMENT})

# The statuses the issue names as channel exceptions, with what BigCommerce means by them.
HELD_REASONS: dict[OrderStatusId, str] = {
    OrderStatusId.INCOMPLETE: "the checkout was not completed (a failed or abandoned payment)",
    OrderStatusId.DECLINED: "the payment was declined",
    OrderStatusId.MANUAL_VERIFICATION_REQUIRED: "the payment awaits the merchant's manual verification",
}

# Our carrier names (lower case, no spaces) -> `shipping_provider` values BigCommerce integrates.
SHIPPING_PROVIDERS: dict[str, str] = {
    "ups": "ups",
    "fedex": "fedex",
    "usps": "usps",
    "canadapost": "canadapost",
    "royalmail": "royalmail",
    "auspost": "auspost",
    "australiapost": "auspost",
}
# Carriers BigCommerce has no provider for -> AfterShip slugs (`tracking_carrier`).
TRACKING_CARRIERS: dict[str, str] = {
    "dhl": "dhl",
    "dhlexpress": "dhl",
    "ontrac": "ontrac",
    "lasership": "lasership",
    "amazon": "amazon",
}


# --- the order document ------------------------------------------------------------------------


def order_document(
    order: Mapping[str, Any], products: Iterable[Mapping[str, Any]], addresses: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """The order as the workflow keeps it: the v2 order with its products and shipping addresses
    in place of the resource links (`{"url", "resource"}`) a v2 order carries."""
    return {**order, "products": [dict(p) for p in products], "shipping_addresses": [dict(a) for a in addresses]}


def external_order_id(raw: Mapping[str, Any]) -> str | None:
    value = integer(raw.get("id"))
    return str(value) if value is not None and value > 0 else None


def status_of(raw: Mapping[str, Any]) -> OrderStatusId | None:
    value = integer(raw.get("status_id"))
    try:
        return OrderStatusId(value) if value is not None else None
    except ValueError:
        return None


def status_label(raw: Mapping[str, Any]) -> str:
    status = status_of(raw)
    name = text(raw.get("status")) or (status.name.replace("_", " ").title() if status is not None else "unknown")
    return f"{name} (status {raw.get('status_id')})"


def hold_reason(raw: Mapping[str, Any], shippable: Collection[OrderStatusId]) -> str | None:
    """Why the order may not ship yet (None: it may): its status is not one of `shippable`."""
    status = status_of(raw)
    if status is not None and status in shippable:
        return None
    why = HELD_REASONS.get(status) if status is not None else None
    allowed = ", ".join(f"{s.value} {s.name.replace('_', ' ').title()}" for s in sorted(shippable))
    return (
        f"the BigCommerce order is {status_label(raw)}{f': {why}' if why else ''}; it is routed once its status "
        f"is one of {allowed}"
    )


def bigcommerce_datetime(value: Any) -> datetime | None:
    """v2 times are RFC 2822 (`Tue, 05 Mar 2019 21:40:11 +0000`); ISO 8601 is read too."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = parsedate_to_datetime(value)
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        return utc_time(value)


# --- inbound: order document -> Order ----------------------------------------------------------


def map_order(
    raw: Mapping[str, Any],
    *,
    order_id: str,
    tenant_id: str,
    channel_id: str,
    received_at: datetime,
    shippable_statuses: Collection[OrderStatusId] = DEFAULT_SHIPPABLE_STATUSES,
) -> Order:
    if not isinstance(raw, Mapping):
        raise MappingError(f"the order must be a JSON object, not {json_type(raw)}")
    if not isinstance(raw.get("products"), list) or not isinstance(raw.get("shipping_addresses"), list):
        raise MappingError(
            "the order has no products or shipping_addresses list: a webhook's body is only the order's id, "
            "the order is read back from BigCommerce before it is mapped"
        )
    external_id = external_order_id(raw)
    if external_id is None:
        raise MappingError("id is missing or not a BigCommerce order id")
    reason = hold_reason(raw, shippable_statuses)
    if reason is not None:
        raise MappingError(reason)
    lines = shippable_lines(raw["products"])
    address, line_addresses = _shipping_addresses(raw["shipping_addresses"], lines)
    given = raw.get("billing_address")
    billing: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    custom = [CustomField(name="bigcommerceStatus", value=status_label(raw))]
    if address is not None and text(address.get("id")):
        custom.append(CustomField(name="bigcommerceOrderAddressId", value=str(address["id"])))
    for key, name in (("external_order_id", "bigcommerceExternalOrderId"), ("channel_id", "bigcommerceChannelId")):
        if text(raw.get(key)):
            custom.append(CustomField(name=name, value=str(raw[key])))
    fields: dict[str, Any] = {
        "id": order_id,
        "external_id": external_id,
        "tenant_id": tenant_id,
        "channel_id": channel_id,
        "created_at": bigcommerce_datetime(raw.get("date_created")) or received_at,
        "updated_at": bigcommerce_datetime(raw.get("date_modified")) or received_at,
        "name": f"#{external_id}",
        "status": text(raw.get("status")),
        "currency": text(raw.get("currency_code")),
        "payment_status": text(raw.get("payment_status")),
        "line_items": [
            line.model_copy(update={"shipping_address": line_addresses[ref], "address_ref": ref})
            if ref is not None and ref in line_addresses
            else line
            for line, ref in lines
        ],
        "shipping_address": _address(address, "shipping_addresses[0]") if address is not None else None,
        "billing_address": _address(billing, "billing_address") if billing else None,
        "customer": _customer(raw, billing),
        "custom_fields": custom,
        "order_note": text(raw.get("customer_message")),
        "shipping_class": text(address.get("shipping_method")) if address is not None else None,
        "shipping_price": money(raw.get("shipping_cost_inc_tax"), "shipping_cost_inc_tax"),
        "sub_total_price": money(raw.get("subtotal_inc_tax"), "subtotal_inc_tax"),
        "order_tax": money(raw.get("total_tax"), "total_tax"),
        "order_discount": money(raw.get("discount_amount"), "discount_amount"),
        "total_price": money(raw.get("total_inc_tax"), "total_inc_tax"),
    }
    return validated_order(fields)


def shippable_lines(products: list[Any]) -> list[tuple[OrderLine, str | None]]:
    """The products a warehouse ships, each with its `order_address_id`; `MappingError` naming
    every product left out when none is."""
    lines: list[tuple[OrderLine, str | None]] = []
    skipped: list[str] = []
    for index, product in enumerate(products):
        where = f"products[{index}]"
        if not isinstance(product, Mapping):
            raise MappingError(f"{where} must be an object, not {json_type(product)}")
        reason = _not_shipped(product, where)
        if reason is not None:
            skipped.append(f"{_describe(product, where)} {reason}")
            continue
        lines.append((_line(product, where), text(product.get("order_address_id"))))
    if not lines:
        raise MappingError(f"no product needs shipping: {'; '.join(skipped) or 'products is empty'}")
    return lines


def _not_shipped(product: Mapping[str, Any], where: str) -> str | None:
    kind = text(product.get("type")) or "physical"
    if kind != "physical":
        return f"is {kind}"
    if product.get("is_bundled_product") is True:
        return "is part of a bundle (the bundle's own line ships)"
    if _quantity(product, where) == 0:
        return "was refunded"
    return None


def _describe(product: Mapping[str, Any], where: str) -> str:
    product_id, name = text(product.get("id")), text(product.get("name"))
    label = f"order product {product_id}" if product_id else where
    return f"{label} ({name})" if name else label


def _quantity(product: Mapping[str, Any], where: str) -> int:
    quantity = integer(product.get("quantity"))
    if quantity is None or quantity < 0:
        raise MappingError(f"{where}.quantity must be a non-negative integer, got {product.get('quantity')!r}")
    refunded = integer(product.get("quantity_refunded")) or 0
    return max(0, quantity - max(0, refunded))


def _line(product: Mapping[str, Any], where: str) -> OrderLine:
    line_id = text(product.get("id"))
    if line_id is None:
        raise MappingError(f"{where}: id (the order_product_id) is missing")
    sku = text(product.get("sku"))
    if not sku:
        raise MappingError(f"{_describe(product, where)} has no SKU: give the product a SKU in BigCommerce")
    quantity = _quantity(product, where)
    unit_price = money(product.get("price_inc_tax"), f"{where}.price_inc_tax")
    discount = sum(
        (
            money(d.get("amount"), f"{where}.applied_discounts.amount") or Decimal(0)
            for d in product.get("applied_discounts") or []
            if isinstance(d, Mapping)
        ),
        Decimal(0),
    )
    ordered = integer(product.get("quantity")) or quantity
    unit_discount, total = line_amounts(unit_price, discount, ordered, quantity)
    custom = [
        CustomField(name=name, value=str(product[key]))
        for name, key in (
            ("bigcommerceProductId", "product_id"),
            ("bigcommerceVariantId", "variant_id"),
            ("bigcommerceOrderAddressId", "order_address_id"),
        )
        if integer(product.get(key))
    ]
    return OrderLine(
        id=line_id,
        external_id=line_id,
        sku=sku,
        quantity=quantity,
        unit_price=unit_price,
        unit_discount=unit_discount,
        total_price=total,
        name=text(product.get("name")),
        custom_fields=custom,
    )


def _shipping_addresses(
    addresses: list[Any], lines: list[tuple[OrderLine, str | None]]
) -> tuple[Mapping[str, Any] | None, dict[str, Address]]:
    """The order's address (the one of its first shipped product) and, when the products go to
    more than one, each `order_address_id`'s address for the lines (else none)."""
    by_id = {text(a.get("id")): a for a in addresses if isinstance(a, Mapping)}
    used = list(dict.fromkeys(address_id for _, address_id in lines if address_id is not None))
    for address_id in used:
        if address_id not in by_id:
            raise MappingError(f"order_address_id {address_id} is not among the order's shipping_addresses")
    if not used:
        return next(iter(by_id.values()), None), {}
    first = by_id[used[0]]
    if len(used) == 1:
        return first, {}
    index = {address_id: i for i, address_id in enumerate(by_id)}
    return first, {
        address_id: _address(by_id[address_id], f"shipping_addresses[{index[address_id]}]") for address_id in used
    }


def _address(value: Mapping[str, Any], where: str) -> Address:
    if not isinstance(value, Mapping):
        raise MappingError(f"{where} must be an object, not {json_type(value)}")
    return Address(
        first_name=text(value.get("first_name")),
        last_name=text(value.get("last_name")),
        company=text(value.get("company")),
        address1=text(value.get("street_1")),
        address2=text(value.get("street_2")),
        city=text(value.get("city")),
        # v2 addresses name the state ("Texas"); there is no code field.
        state_or_province=text(value.get("state")),
        zip_code_or_postal_code=text(value.get("zip")),
        country=text(value.get("country_iso2")) or text(value.get("country")),
        phone=text(value.get("phone")),
        email=text(value.get("email")),
    )


def _customer(raw: Mapping[str, Any], billing: Mapping[str, Any]) -> Customer | None:
    customer_id = integer(raw.get("customer_id"))
    if not customer_id and not billing:
        return None
    return Customer(
        # customer_id 0 is a guest checkout: no customer record.
        external_id=str(customer_id) if customer_id else None,
        email=text(billing.get("email")),
        first_name=text(billing.get("first_name")),
        last_name=text(billing.get("last_name")),
        phone=text(billing.get("phone")),
    )


# --- outbound: Shipment -> POST /v2/orders/{id}/shipments --------------------------------------


def shipment_mark(shipment: Shipment) -> str:
    return f"{SHIPMENT_MARK} {shipment.id}"


def recorded_shipment(shipments: Iterable[Mapping[str, Any]], shipment: Shipment) -> Mapping[str, Any] | None:
    """The order's shipment an earlier attempt of this push created: its `comments` carry our
    shipment id (BigCommerce takes no idempotency key); else one with its tracking number."""
    mark = shipment_mark(shipment)
    numbers = set(shipment.tracking_numbers)
    for candidate in shipments:
        if mark in (text(candidate.get("comments")) or "").split("\n"):
            return candidate
    for candidate in shipments:
        if numbers and text(candidate.get("tracking_number")) in numbers:
            return candidate
    return None


def carrier_fields(carrier: str | None, providers: Mapping[str, str] | None = None) -> dict[str, str]:
    """`shipping_provider` for a carrier BigCommerce integrates (or the channel maps), else its
    AfterShip slug as `tracking_carrier`; neither for a carrier BigCommerce does not know."""
    key = "".join((carrier or "").lower().split())
    configured = {"".join(k.lower().split()): v for k, v in (providers or {}).items()}
    if key in configured:
        return {"shipping_provider": configured[key], "tracking_carrier": ""}
    if key in SHIPPING_PROVIDERS:
        return {"shipping_provider": SHIPPING_PROVIDERS[key], "tracking_carrier": ""}
    return {"shipping_provider": "", "tracking_carrier": TRACKING_CARRIERS.get(key, "")}


def shipment_body(order: Order, shipment: Shipment, providers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The shipment BigCommerce records for `shipment`: its address, its items by
    `order_product_id` (a shipment line names its order line by `line_id`; without one, its SKU
    picks the order's line), the first tracking number and the carrier fields. The address is
    the `order_address_id` of its lines (a multi-address order's), else the order's; a parcel
    with products of two addresses is refused (routing never sends them together)."""
    items: dict[int, int] = {}
    address_ids: dict[int, None] = {}
    for line in shipment.line_items:
        order_line = _order_line(order, line.line_id, line.sku)
        items[int(order_line.id)] = items.get(int(order_line.id), 0) + line.quantity
        ref = order_line.address_ref
        address_ids[int(ref) if ref is not None and ref.isdigit() else -1] = None
    if len(address_ids) > 1:
        named = " and ".join(str(a) if a >= 0 else "(the order's)" for a in address_ids)
        raise MappingError(
            f"shipment {shipment.id} holds products of order_address_id {named}: a BigCommerce shipment goes to one "
            "address, so each address's products need a shipment of their own"
        )
    line_address = next(iter(address_ids), -1)
    address_id = line_address if line_address >= 0 else _order_address_id(order)
    if address_id is None:
        raise MappingError("the order has no bigcommerceOrderAddressId: it was not mapped from a BigCommerce order")
    body: dict[str, Any] = {
        "order_address_id": address_id,
        "items": [{"order_product_id": pid, "quantity": qty} for pid, qty in sorted(items.items())],
        **carrier_fields(shipment.shipping_carrier, providers),
        "comments": shipment_mark(shipment),
    }
    if shipment.tracking_numbers:
        body["tracking_number"] = shipment.tracking_numbers[0]
    if shipment.tracking_url and not body["shipping_provider"] and not body["tracking_carrier"]:
        body["tracking_link"] = shipment.tracking_url
    if shipment.shipping_carrier:
        body["shipping_method"] = shipment.shipping_carrier
    return body


def _order_address_id(order: Order) -> int | None:
    for field in order.custom_fields:
        if field.name == "bigcommerceOrderAddressId" and field.value.isdigit():
            return int(field.value)
    return None


def _order_line(order: Order, line_id: str | None, sku: str) -> OrderLine:
    if line_id is not None:
        try:
            found = order.line(line_id)
        except KeyError:
            pass
        else:
            if found.id.isdigit():
                return found
    for line in order.line_items:
        if line.sku == sku and line.id.isdigit():
            return line
    raise MappingError(f"{sku}: no product of BigCommerce order {order.external_id} carries it")


# --- inventory ----------------------------------------------------------------------------------


def inventory_items(quantities: Mapping[str, int], location_id: int) -> list[dict[str, Any]]:
    """Absolute levels at one location by SKU; a negative available-to-sell is published as 0."""
    return [
        {"location_id": location_id, "sku": sku, "quantity": max(0, int(quantity))}
        for sku, quantity in sorted(quantities.items())
    ]
