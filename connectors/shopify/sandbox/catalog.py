"""The shop's catalog: locations, products with their one variant and inventory item, and the
inventory levels per item and location (`inventory_levels.json`, `inventory_levels/set.json`),
seeded with the demo's products."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from connectors.base import SandboxOptions
from connectors.sandbox_kit import SandboxError
from connectors.sandbox_kit.values import decimal_amount, positive_int
from connectors.shopify.sandbox.payloads import amount
from connectors.shopify.sandbox.shop import ShopifyApiError, ShopState, iso, not_found, now

SEED_PRODUCTS = (
    ("TSHIRT-BLK-M", "Classic T-shirt", "Black / M", "19.00"),
    ("TSHIRT-WHT-M", "Classic T-shirt", "White / M", "19.00"),
    ("MUG-11OZ", "Logo mug", "11 oz", "12.00"),
    ("POSTER-A2", "Poster", "A2", "15.00"),
    ("HOODIE-GRY-L", "Hoodie", "Grey / L", "45.00"),
)
SEED_AVAILABLE = 50


class Catalog(ShopState):
    """Locations, products and inventory on top of the shop's state."""

    def __init__(self, options: SandboxOptions) -> None:
        super().__init__(options)
        self.add_location("Sandbox warehouse", self.location_id)
        if self.knobs.value.seed_products:
            for sku, title, variant_title, price in SEED_PRODUCTS:
                self.add_product({"sku": sku, "title": title, "variant_title": variant_title, "price": price})

    def add_location(self, name: str, location_id: int | None = None) -> dict[str, Any]:
        new_id = location_id or max(self.locations, default=self.location_id) + 1
        at = iso(now())
        location = {
            "id": new_id,
            "name": name,
            "address1": "1 Sandbox Way",
            "address2": None,
            "city": "Avenel",
            "zip": "07001",
            "province": "New Jersey",
            "province_code": "NJ",
            "country": "US",
            "country_code": "US",
            "country_name": "United States",
            "phone": None,
            "created_at": at,
            "updated_at": at,
            "legacy": False,
            "active": True,
            "admin_graphql_api_id": f"gid://shopify/Location/{new_id}",
        }
        return self.locations.add(location)

    def variants_by_sku(self, sku: str) -> list[dict[str, Any]]:
        return [v for v in self.variants.values() if v["sku"] == sku]

    def add_product(self, spec: Any) -> dict[str, Any]:
        if not isinstance(spec, dict) or not isinstance(spec.get("sku"), str) or not spec["sku"].strip():
            raise SandboxError(422, 'a product is {"sku": ..., "title"?, "price"?, "available"?, "tracked"?}')
        sku = spec["sku"].strip()
        if self.variants_by_sku(sku):
            raise SandboxError(409, f"a variant with SKU {sku!r} exists")
        at = iso(now())
        product_id, variant_id = self.products.new_id(), self.variants.new_id()
        item_id = self.inventory_items.new_id()
        tracked = spec.get("tracked", True) is not False
        requires_shipping = spec.get("requires_shipping", True) is not False
        price = decimal_amount(spec.get("price", "10.00"), "price") or Decimal(0)
        title = str(spec.get("title") or sku)
        variant = self.variants.add({
            "id": variant_id,
            "product_id": product_id,
            "title": str(spec.get("variant_title") or "Default Title"),
            "price": amount(price),
            "sku": sku,
            "position": 1,
            "inventory_policy": "deny",
            "compare_at_price": None,
            "fulfillment_service": "manual",
            "inventory_management": "shopify" if tracked else None,
            "option1": str(spec.get("variant_title") or "Default Title"),
            "created_at": at,
            "updated_at": at,
            "taxable": True,
            "barcode": None,
            "grams": 200,
            "weight": 0.2,
            "weight_unit": "kg",
            "inventory_item_id": item_id,
            "inventory_quantity": 0,
            "requires_shipping": requires_shipping,
            "admin_graphql_api_id": f"gid://shopify/ProductVariant/{variant_id}",
        })
        product = self.products.add({
            "id": product_id,
            "title": title,
            "body_html": None,
            "vendor": "Orderloop Sandbox",
            "product_type": "",
            "handle": re.sub(r"[^a-z0-9]+", "-", f"{title} {sku}".lower()).strip("-"),
            "status": "active",
            "created_at": at,
            "updated_at": at,
            "published_at": at,
            "tags": "",
            "variants": [variant],
            "options": [{"id": product_id, "product_id": product_id, "name": "Title", "position": 1}],
            "images": [],
            "admin_graphql_api_id": f"gid://shopify/Product/{product_id}",
        })
        self.inventory_items.add({
            "id": item_id,
            "sku": sku,
            "tracked": tracked,
            "requires_shipping": requires_shipping,
            "created_at": at,
            "updated_at": at,
            "admin_graphql_api_id": f"gid://shopify/InventoryItem/{item_id}",
        })
        available = spec.get("available", SEED_AVAILABLE if tracked else None)
        if tracked and available is not None:
            self._set_level(self.location_id, item_id, positive_int(available, "available", 0))
        return product

    def levels_json(self, filters: Mapping[str, str]) -> list[dict[str, Any]]:
        items = {int(i) for i in filters.get("inventory_item_ids", "").split(",") if i.strip().isdigit()}
        locations = {int(i) for i in filters.get("location_ids", "").split(",") if i.strip().isdigit()}
        if not items and not locations:
            raise ShopifyApiError(422, {"base": ["inventory_item_ids or location_ids is required"]})
        return [
            dict(level)
            for (item_id, location_id), level in sorted(self.levels.items())
            if (not items or item_id in items) and (not locations or location_id in locations)
        ]

    def set_inventory(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ShopifyApiError(400, {"inventory_level": "Required parameter missing or invalid"})
        problems = {
            name: ["expected Integer to be a Integer"]
            for name in ("location_id", "inventory_item_id", "available")
            if isinstance(body.get(name), bool) or not isinstance(body.get(name), int)
        }
        if problems:
            raise ShopifyApiError(422, problems)
        if body["location_id"] not in self.locations:
            raise ShopifyApiError(422, {"location_id": ["Location not found"]})
        item = self.inventory_items.get(body["inventory_item_id"])
        if item is None:
            raise not_found()
        if not item["tracked"]:
            raise ShopifyApiError(422, {"base": ["Inventory item does not have inventory tracking enabled"]})
        return self._set_level(body["location_id"], item["id"], body["available"])

    def _set_level(self, location_id: int, item_id: int, available: int) -> dict[str, Any]:
        at = iso(now())
        level = {
            "inventory_item_id": item_id,
            "location_id": location_id,
            "available": available,
            "updated_at": at,
            "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}",
        }
        self.levels[(item_id, location_id)] = level
        sku = self.inventory_items[item_id]["sku"]
        for variant in self.variants_by_sku(sku):
            if variant["inventory_item_id"] == item_id:
                variant["inventory_quantity"] = sum(
                    lvl["available"] for (i, _), lvl in self.levels.items() if i == item_id
                )
        self.inventory_log.append({"sku": sku, "location_id": location_id, "available": available, "at": at})
        return dict(level)

    def inventory_by_sku(self) -> dict[str, dict[str, int]]:
        levels: dict[str, dict[str, int]] = {}
        for (item_id, location_id), level in sorted(self.levels.items()):
            sku = self.inventory_items[item_id]["sku"]
            levels.setdefault(sku, {})[str(location_id)] = level["available"]
        return levels

