"""Shopify's JSON, built: money in Shopify's `*_set` form, line items, totals, addresses, shipping
lines, customers, order edits, fulfillment orders and their line items, locations, products with
their variant and inventory item. Functions of what they are given; the stores and ids are the
shop's."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from connectors.sandbox_kit import SandboxError
from connectors.sandbox_kit.values import decimal_amount, pick, positive_int
from connectors.shopify.sandbox.shop import Row, iso
from connectors.signing import json_type

SHOP_ID = 548380009
CENT = Decimal("0.01")
_COUNTRIES = {"US": "United States", "CA": "Canada", "GB": "United Kingdom", "DE": "Germany", "FR": "France"}


@dataclass
class LineSpec:
    """One line of a control request, in Shopify's names."""

    sku: str
    quantity: int
    price: Decimal | None = None
    title: str | None = None
    requires_shipping: bool | None = None
    gift_card: bool = False
    location_id: int | None = None


def amount(value: Decimal) -> str:
    return str(value.quantize(CENT))


def money_set(value: Decimal, currency: str) -> dict[str, Any]:
    money = {"amount": amount(value), "currency_code": currency}
    return {"shop_money": money, "presentment_money": dict(money)}


def tags_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(t).strip() for t in value if str(t).strip())
    return str(value or "")


def line_specs(value: Any, locations: Mapping[int, Any]) -> list[LineSpec]:
    if not isinstance(value, list) or not value:
        raise SandboxError(422, 'line_items must be a non-empty array of {"sku", "quantity"}')
    specs = []
    for i, item in enumerate(value):
        where = f"line_items[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("sku"), str) or not item["sku"].strip():
            raise SandboxError(422, f"{where}.sku is missing")
        location = item.get("location_id")
        if location is not None and location not in locations:
            raise SandboxError(422, f"{where}.location_id: unknown location {location}")
        specs.append(
            LineSpec(
                sku=item["sku"].strip(),
                quantity=positive_int(item.get("quantity"), f"{where}.quantity"),
                price=decimal_amount(pick(item, "price", "unitPrice"), f"{where}.price"),
                title=pick(item, "title", "name"),
                requires_shipping=item.get("requires_shipping"),
                gift_card=item.get("gift_card") is True,
                location_id=location,
            )
        )
    return specs


def line_item(spec: LineSpec, currency: str, line_id: int, variant: Row | None, product: Row | None) -> dict[str, Any]:
    """A line item of `spec` (its variant and product, when the shop sells the SKU)."""
    price = spec.price if spec.price is not None else Decimal(variant["price"] if variant else "10.00")
    title = spec.title or (product["title"] if product else spec.sku)
    variant_title = variant["title"] if variant and variant["title"] != "Default Title" else None
    requires_shipping = (
        spec.requires_shipping
        if spec.requires_shipping is not None
        else (variant["requires_shipping"] if variant else not spec.gift_card)
    )
    return {
        "id": line_id,
        "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
        "variant_id": variant["id"] if variant else None,
        "product_id": variant["product_id"] if variant else None,
        "title": title,
        "variant_title": variant_title,
        "name": f"{title} - {variant_title}" if variant_title else title,
        "sku": spec.sku,
        "vendor": "Orderloop Sandbox" if variant else None,
        "quantity": spec.quantity,
        "current_quantity": spec.quantity,
        "fulfillable_quantity": 0 if spec.gift_card else spec.quantity,
        "fulfillment_service": "manual",
        "fulfillment_status": None,
        "requires_shipping": bool(requires_shipping),
        "taxable": True,
        "gift_card": spec.gift_card,
        "grams": 200,
        "price": amount(price),
        "price_set": money_set(price, currency),
        "total_discount": "0.00",
        "total_discount_set": money_set(Decimal(0), currency),
        "discount_allocations": [],
        "tax_lines": [],
        "duties": [],
        "properties": [],
        "product_exists": variant is not None,
        "variant_inventory_management": variant["inventory_management"] if variant else None,
    }


def apply_totals(order: Row) -> None:
    """The order's price fields from its lines and shipping lines."""
    currency = order["currency"]
    lines = order["line_items"]
    ordered = sum((Decimal(li["price"]) * li["quantity"] for li in lines), Decimal(0))
    current = sum((Decimal(li["price"]) * li["current_quantity"] for li in lines), Decimal(0))
    shipping = sum((Decimal(s["price"]) for s in order["shipping_lines"]), Decimal(0))
    total = current + shipping
    order.update(
        {
            "total_line_items_price": amount(ordered),
            "total_line_items_price_set": money_set(ordered, currency),
            "subtotal_price": amount(current),
            "subtotal_price_set": money_set(current, currency),
            "current_subtotal_price": amount(current),
            "current_subtotal_price_set": money_set(current, currency),
            "total_discounts": "0.00",
            "current_total_discounts": "0.00",
            "total_tax": "0.00",
            "current_total_tax": "0.00",
            "total_shipping_price_set": money_set(shipping, currency),
            "total_price": amount(total),
            "total_price_set": money_set(total, currency),
            "current_total_price": amount(total),
            "current_total_price_set": money_set(total, currency),
            "total_outstanding": "0.00" if order["financial_status"] == "paid" else amount(total),
            "total_weight": sum(li["grams"] * li["current_quantity"] for li in lines),
        }
    )


def address(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SandboxError(422, f"the address must be a JSON object, not {json_type(value)}")
    country_code = pick(value, "country_code", "countryCode")
    country = value.get("country")
    if country_code is None and isinstance(country, str) and len(country.strip()) == 2:
        country_code = country.strip().upper()
    province_code = pick(value, "province_code", "stateOrProvince")
    first, last = pick(value, "first_name", "firstName"), pick(value, "last_name", "lastName")
    return {
        "first_name": first,
        "last_name": last,
        "name": " ".join(p for p in (first, last) if p) or None,
        "company": value.get("company"),
        "address1": value.get("address1"),
        "address2": value.get("address2"),
        "city": value.get("city"),
        "province": value.get("province") or province_code,
        "province_code": province_code,
        "zip": pick(value, "zip", "zipCodeOrPostalCode"),
        "country": _COUNTRIES.get(str(country_code), country) if country_code else country,
        "country_code": country_code,
        "phone": value.get("phone"),
        "latitude": None,
        "longitude": None,
    }


def destination(order: Row) -> dict[str, Any] | None:
    shipping = order.get("shipping_address")
    if not shipping:
        return None
    keys = ("address1", "address2", "city", "company", "country", "first_name", "last_name", "phone", "province")
    return {"id": order["id"], **{k: shipping.get(k) for k in keys}, "zip": shipping.get("zip"), "email": None}


def customer(
    customer_id: int, data: Mapping[str, Any], email: str | None, shipping: Row | None, at: datetime, currency: str
) -> dict[str, Any]:
    return {
        "id": customer_id,
        "email": email,
        "first_name": pick(data, "first_name", "firstName") or (shipping or {}).get("first_name"),
        "last_name": pick(data, "last_name", "lastName") or (shipping or {}).get("last_name"),
        "phone": data.get("phone"),
        "state": "enabled",
        "note": None,
        "verified_email": True,
        "tags": tags_text(data.get("tags")),
        "currency": currency,
        "created_at": iso(at),
        "updated_at": iso(at),
        "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
        "default_address": copy.deepcopy(shipping),
    }


def shipping_lines(body: Mapping[str, Any], currency: str, line_id: int) -> list[dict[str, Any]]:
    line = body.get("shipping_line")
    if not isinstance(line, dict) and isinstance(body.get("shippingCode"), str):
        line = {"code": body["shippingCode"], "title": body["shippingCode"].replace("_", " ").title()}
    if not isinstance(line, dict):
        line = {"code": "Standard", "title": "Standard Shipping", "price": "0.00"}
    price = decimal_amount(line.get("price", "0.00"), "shipping_line.price") or Decimal(0)
    currency = str(body.get("currency") or currency)
    return [
        {
            "id": line_id,
            "code": line.get("code"),
            "title": line.get("title") or line.get("code"),
            "source": line.get("source", "shopify"),
            "carrier_identifier": line.get("carrier_identifier"),
            "price": amount(price),
            "price_set": money_set(price, currency),
            "discounted_price": amount(price),
            "discount_allocations": [],
            "tax_lines": [],
        }
    ]


def order_edit(
    edit_id: int, order: Row, at: datetime, additions: list[dict[str, int]], removals: list[dict[str, int]]
) -> dict[str, Any]:
    return {
        "order_edit": {
            "id": edit_id,
            "app_id": None,
            "created_at": iso(at),
            "committed_at": iso(at),
            "notify_customer": False,
            "order_id": order["id"],
            "staff_note": "",
            "user_id": None,
            "line_items": {"additions": additions, "removals": removals},
            "discounts": {"line_item": {"additions": [], "removals": []}},
            "shipping_lines": {"additions": [], "removals": []},
        }
    }


def fo_line_item(item_id: int, fo_id: int, line: Row, quantity: int, inventory_item_id: int | None) -> dict[str, Any]:
    return {
        "id": item_id,
        "shop_id": SHOP_ID,
        "fulfillment_order_id": fo_id,
        "quantity": quantity,
        "line_item_id": line["id"],
        "inventory_item_id": inventory_item_id,
        "fulfillable_quantity": quantity,
        "variant_id": line["variant_id"],
    }


def fulfillment_order(fo_id: int, order: Row, location: Row, first_item: Row, at: str) -> dict[str, Any]:
    """An open fulfillment order of `order` at `location`, holding one line item so far."""
    return {
        "id": fo_id,
        "shop_id": SHOP_ID,
        "order_id": order["id"],
        "assigned_location_id": location["id"],
        "request_status": "unsubmitted",
        "status": "open",
        "supported_actions": ["create_fulfillment", "hold", "move"],
        "destination": destination(order),
        "line_items": [first_item],
        "international_duties": None,
        "fulfill_at": None,
        "fulfill_by": None,
        "fulfillment_holds": [],
        "created_at": at,
        "updated_at": at,
        "delivery_method": {"id": fo_id, "method_type": "shipping"},
        "assigned_location": {
            "address1": location["address1"],
            "address2": location["address2"],
            "city": location["city"],
            "country_code": location["country_code"],
            "location_id": location["id"],
            "name": location["name"],
            "phone": location["phone"],
            "province": location["province"],
            "zip": location["zip"],
        },
        "merchant_requests": [],
    }
