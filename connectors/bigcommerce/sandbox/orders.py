"""Orders, their products, shipping addresses and shipments, and the inventory levels: v2's order
list filters, shipments validated the way BigCommerce validates them (address, products of that
address, what is left to ship, the documented `shipping_provider` values) that move the order to
Partially Shipped or Shipped, absolute inventory adjustments, and the controls that place orders
and change their status, each sending the hooks BigCommerce sends."""

from __future__ import annotations

import copy
import itertools
import re
import uuid
from collections import deque
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from connectors.base import SandboxOptions
from connectors.bigcommerce.client import DEFAULT_LOCATION_ID, MAX_INVENTORY_ITEMS
from connectors.bigcommerce.mapping import OrderStatusId
from connectors.bigcommerce.sandbox.store import BigCommerceApiError, Row, StoreState, parse_time, rfc2822
from connectors.bigcommerce.webhooks import Scope
from connectors.sandbox_kit import ResourceStore, SandboxError

DEMO_SKUS = ("TSHIRT-BLK-M", "TSHIRT-WHT-M", "MUG-11OZ", "POSTER-A2", "HOODIE-GRY-L", "GIFT-SET")
SHIPPING_PROVIDERS = frozenset(
    {"", "auspost", "canadapost", "endicia", "usps", "fedex", "royalmail", "ups", "upsready", "shipperhq"}
)
_CUSTOM_PROVIDER = re.compile(r"^carrier_\d+$")
STATUS_NAMES = {s: s.name.replace("_", " ").title() for s in OrderStatusId}


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _pick(body: Any, *keys: str) -> Any:
    if not isinstance(body, dict):
        return None
    return next((body[k] for k in keys if body.get(k) is not None), None)


def _money(value: Any) -> str:
    return f"{Decimal(str(value or 0)):.4f}"


def _not_found(_: Any = None) -> BigCommerceApiError:
    return BigCommerceApiError(404, "The requested resource was not found.")


class BigCommerceSandbox(StoreState):
    """The whole store: its state and gate, its orders, shipments and inventory."""

    def __init__(self, options: SandboxOptions) -> None:
        super().__init__(options)
        self.orders: ResourceStore[Row] = ResourceStore(itertools.count(100), missing=_not_found)
        self.products: dict[int, list[Row]] = {}
        self.addresses: dict[int, list[Row]] = {}
        self.shipments: dict[int, list[Row]] = {}
        self._product_ids = itertools.count(1000)
        self._address_ids = itertools.count(500)
        self._shipment_ids = itertools.count(1)
        self.locations = {DEFAULT_LOCATION_ID}
        self.levels: dict[str, dict[int, int]] = {}
        self.inventory_log: deque[Row] = deque(maxlen=10_000)
        if self.knobs.value.seed_products:
            for sku in DEMO_SKUS:
                self.levels[sku] = {DEFAULT_LOCATION_ID: 100}

    # --- orders (API) ---

    def order(self, order_id: int) -> Row:
        return self.orders.find(order_id)

    def list_orders(self, query: dict[str, str]) -> list[Row]:
        rows = list(self.orders.values())
        for name, attr, keep in (
            ("min_date_modified", "date_modified", lambda at, bound: at >= bound),
            ("max_date_modified", "date_modified", lambda at, bound: at <= bound),
            ("min_date_created", "date_created", lambda at, bound: at >= bound),
            ("max_date_created", "date_created", lambda at, bound: at <= bound),
        ):
            if query.get(name):
                bound = parse_time(query[name], name)
                rows = [o for o in rows if keep(parse_time(o[attr], attr), bound)]
        for name, keep in (("min_id", lambda i, b: i >= b), ("max_id", lambda i, b: i <= b)):
            if query.get(name, "").isdigit():
                rows = [o for o in rows if keep(o["id"], int(query[name]))]
        if query.get("status_id") is not None:
            if not query["status_id"].isdigit():
                raise BigCommerceApiError(400, "The field 'status_id' is invalid.")
            rows = [o for o in rows if o["status_id"] == int(query["status_id"])]
        by, _, direction = (query.get("sort") or "id:asc").partition(":")
        if by not in ("id", "date_created", "date_modified", "status_id") or direction not in ("", "asc", "desc"):
            raise BigCommerceApiError(400, "The field 'sort' is invalid.")

        def key(o: Row) -> tuple[Any, int]:
            return (parse_time(o[by], by) if by.startswith("date_") else o[by]), o["id"]

        return sorted(rows, key=key, reverse=direction == "desc")

    def order_products(self, order_id: int) -> list[Row]:
        self.order(order_id)
        return self.products[order_id]

    def order_addresses(self, order_id: int) -> list[Row]:
        self.order(order_id)
        return self.addresses[order_id]

    def order_shipments(self, order_id: int) -> list[Row]:
        self.order(order_id)
        return self.shipments[order_id]

    def update_order(self, order_id: int, body: Any) -> Row:
        """`PUT /v2/orders/{id}`: the sandbox applies `status_id` (5 cancels the order)."""
        order = self.order(order_id)
        if not isinstance(body, dict):
            raise BigCommerceApiError(400, "The request body is invalid.")
        if "status_id" in body:
            self.set_status(order_id, body["status_id"])
        return order

    def create_shipment(self, order_id: int, body: Any) -> Row:
        order = self.order(order_id)
        if not isinstance(body, dict):
            raise BigCommerceApiError(400, "The request body is invalid.")
        address_id = body.get("order_address_id")
        addresses = {a["id"]: a for a in self.addresses[order_id]}
        if not isinstance(address_id, int) or address_id not in addresses:
            raise BigCommerceApiError(400, "The field 'order_address_id' is invalid.")
        items = body.get("items")
        if not isinstance(items, list) or not items:
            raise BigCommerceApiError(400, "The field 'items' is invalid.")
        provider = body.get("shipping_provider", "")
        if not isinstance(provider, str) or not (provider in SHIPPING_PROVIDERS or _CUSTOM_PROVIDER.match(provider)):
            raise BigCommerceApiError(400, "The field 'shipping_provider' is invalid.")
        if len(str(body.get("tracking_number") or "")) > 50:
            raise BigCommerceApiError(400, "The field 'tracking_number' is invalid.")
        products = {p["id"]: p for p in self.products[order_id]}
        wanted: dict[int, int] = {}
        for item in items:
            pid, qty = (item.get("order_product_id"), item.get("quantity")) if isinstance(item, dict) else (None, None)
            product = products.get(pid) if isinstance(pid, int) else None
            if not isinstance(pid, int) or product is None or product["order_address_id"] != address_id:
                raise BigCommerceApiError(400, f"The field 'order_product_id' is invalid: {pid!r}.")
            if not isinstance(qty, int) or qty < 1:
                raise BigCommerceApiError(400, "The field 'quantity' is invalid.")
            wanted[pid] = wanted.get(pid, 0) + qty
        if self.knobs.value.reject_shipments:
            raise BigCommerceApiError(422, "Shipments cannot be created for this order.")
        for pid, qty in wanted.items():
            product = products[pid]
            if qty > product["quantity"] - product["quantity_shipped"]:
                raise BigCommerceApiError(
                    422, "The quantity specified is greater than the quantity of the product that is available to ship."
                )
        for pid, qty in wanted.items():
            products[pid]["quantity_shipped"] += qty
        address = addresses[address_id]
        address["items_shipped"] += sum(wanted.values())
        order["items_shipped"] += sum(wanted.values())
        shipment = {
            "id": next(self._shipment_ids),
            "order_id": order_id,
            "customer_id": order["customer_id"],
            "order_address_id": address_id,
            "date_created": rfc2822(_now()),
            "tracking_number": str(body.get("tracking_number") or ""),
            "merchant_shipping_cost": _money(body.get("merchant_shipping_cost")),
            "shipping_method": str(body.get("shipping_method") or "None"),
            "comments": str(body.get("comments") or ""),
            "shipping_provider": provider,
            "tracking_carrier": str(body.get("tracking_carrier") or ""),
            "tracking_link": str(body.get("tracking_link") or ""),
            "billing_address": copy.deepcopy(order["billing_address"]),
            "shipping_address": {k: v for k, v in address.items() if k not in ("id", "order_id", "items_total")},
            "items": [
                {"order_product_id": pid, "product_id": products[pid]["product_id"], "quantity": q}
                for pid, q in wanted.items()
            ],
            "shipping_provider_display_name": provider.upper(),
            "generated_tracking_link": "",
        }
        self.shipments[order_id].append(shipment)
        self.emit(Scope.SHIPMENT_CREATED, {"type": "shipment", "id": shipment["id"], "orderId": order_id})
        shipped_all = order["items_shipped"] >= order["items_total"]
        self.set_status(order_id, OrderStatusId.SHIPPED if shipped_all else OrderStatusId.PARTIALLY_SHIPPED)
        if shipped_all:
            order["date_shipped"] = rfc2822(_now())
        if self.knobs.value.lose_create_answers > 0:
            self.knobs.update({"lose_create_answers": self.knobs.value.lose_create_answers - 1})
            raise BigCommerceApiError(504, "Gateway Time-out")
        return shipment

    # --- inventory (API) ---

    def adjust_absolute(self, body: Any) -> Row:
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise BigCommerceApiError(
                422, "The field 'items' is invalid.", "v3", {"items": "must be a non-empty array"}
            )
        if len(items) > MAX_INVENTORY_ITEMS:
            raise BigCommerceApiError(
                422, f"Payload exceeds the limit of {MAX_INVENTORY_ITEMS} items", "v3", {"items": "too many items"}
            )
        errors: dict[str, str] = {}
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                errors[f"items.{index}"] = "must be an object"
                continue
            if item.get("location_id") not in self.locations:
                errors[f"items.{index}.location_id"] = f"Location {item.get('location_id')!r} does not exist"
            sku = item.get("sku")
            if not isinstance(sku, str) or sku not in self.levels:
                errors[f"items.{index}.sku"] = f"Item with sku {sku!r} does not exist"
            quantity = item.get("quantity")
            if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 <= quantity <= 1_000_000_000:
                errors[f"items.{index}.quantity"] = "must be an integer from 0 to 1000000000"
        if errors:
            # Validated as a whole before anything is applied.
            raise BigCommerceApiError(422, "Inventory adjustment failed: invalid items", "v3", errors)
        transaction = str(uuid.uuid4())
        for item in items:
            self.levels[item["sku"]][item["location_id"]] = item["quantity"]
            self.inventory_log.append({**item, "transaction_id": transaction, "reason": body.get("reason")})
        return {"transaction_id": transaction}

    # --- controls ---

    def place(self, body: Any, *, duplicate: bool = False, bad_signature: bool = False) -> Row:
        """An order from an onX-ish or BigCommerce-shaped body; `store/order/created` follows
        (for every status, incomplete ones included, as BigCommerce sends it)."""
        lines = _pick(body, "products", "lineItems", "line_items")
        if not isinstance(lines, list) or not lines:
            raise SandboxError(422, "an order needs products (or lineItems): [{sku, quantity, price?}]")
        addresses = _pick(body, "shipping_addresses")
        if addresses is None:
            single = _pick(body, "shippingAddress", "shipping_address")
            addresses = [single] if single is not None else []
        if not isinstance(addresses, list) or not addresses or not all(isinstance(a, dict) for a in addresses):
            raise SandboxError(422, "an order needs a shipping address (shippingAddress or shipping_addresses)")
        status = _pick(body, "status_id", "statusId")
        status = self.knobs.value.default_status if status is None else status
        if not isinstance(status, int) or status not in STATUS_NAMES:
            raise SandboxError(422, f"status_id must be a BigCommerce status id (0-14), not {status!r}")
        customer = _pick(body, "customer") or {}
        at = _now()
        order_id = self.orders.new_id()
        address_rows = [self._address(order_id, a, customer) for a in addresses]
        product_rows = []
        for index, line in enumerate(lines):
            if not isinstance(line, dict) or not isinstance(line.get("sku"), str):
                raise SandboxError(422, f"products[{index}] needs a sku")
            slot = line.get("address_index", 0)
            if not isinstance(slot, int) or not 0 <= slot < len(address_rows):
                raise SandboxError(422, f"products[{index}].address_index must name one of the addresses")
            product_rows.append(self._product(order_id, line, address_rows[slot]["id"]))
        for address in address_rows:
            address["items_total"] = sum(p["quantity"] for p in product_rows if p["order_address_id"] == address["id"])
        total = sum(Decimal(p["total_inc_tax"]) for p in product_rows)
        billing = self._billing(addresses[0], customer)
        order = {
            "id": order_id,
            "customer_id": 0,
            "date_created": rfc2822(at),
            "date_modified": rfc2822(at),
            "date_shipped": "",
            "status_id": status,
            "status": STATUS_NAMES[OrderStatusId(status)],
            "custom_status": STATUS_NAMES[OrderStatusId(status)],
            "subtotal_inc_tax": _money(total),
            "subtotal_ex_tax": _money(total),
            "shipping_cost_inc_tax": "0.0000",
            "total_inc_tax": _money(total),
            "total_ex_tax": _money(total),
            "total_tax": "0.0000",
            "discount_amount": "0.0000",
            "items_total": sum(p["quantity"] for p in product_rows),
            "items_shipped": 0,
            "payment_method": "Test Payment Gateway",
            "payment_status": "captured" if status in (9, 11) else "",
            "currency_code": str(_pick(body, "currency", "currency_code") or "USD"),
            "customer_message": str(_pick(body, "orderNote", "customer_message") or ""),
            "shipping_address_count": len(address_rows),
            "billing_address": billing,
            "order_source": "www",
            "channel_id": 1,
            "external_order_id": str(_pick(body, "externalId", "external_order_id") or ""),
            "products": {"url": self._url(order_id, "products"), "resource": f"/orders/{order_id}/products"},
            "shipping_addresses": {
                "url": self._url(order_id, "shipping_addresses"),
                "resource": f"/orders/{order_id}/shipping_addresses",
            },
        }
        self.orders.add(order)
        self.products[order_id] = product_rows
        self.addresses[order_id] = address_rows
        self.shipments[order_id] = []
        self.emit(
            Scope.ORDER_CREATED, {"type": "order", "id": order_id}, duplicate=duplicate, bad_signature=bad_signature
        )
        return order

    def set_status(self, order_id: int, status: Any, *, duplicate: bool = False) -> Row:
        """A status change as the merchant (or the payment) makes it: `store/order/statusUpdated`
        then `store/order/updated`."""
        order = self.order(order_id)
        if not isinstance(status, int) or isinstance(status, bool) or status not in STATUS_NAMES:
            raise BigCommerceApiError(400, "The field 'status_id' is invalid.")
        previous = order["status_id"]
        if previous == status:
            return order
        order.update(
            status_id=status,
            status=STATUS_NAMES[OrderStatusId(status)],
            custom_status=STATUS_NAMES[OrderStatusId(status)],
            date_modified=rfc2822(_now()),
        )
        change = {"previous_status_id": previous, "new_status_id": status}
        self.emit(Scope.ORDER_STATUS_UPDATED, {"type": "order", "id": order_id, "status": change}, duplicate=duplicate)
        self.emit(Scope.ORDER_UPDATED, {"type": "order", "id": order_id}, duplicate=duplicate)
        return order

    def add_product(self, spec: Any) -> Row:
        sku = spec.get("sku") if isinstance(spec, dict) else None
        if not isinstance(sku, str) or not sku:
            raise SandboxError(422, "a product needs a sku")
        available = spec.get("available", 0)
        self.levels[sku] = {DEFAULT_LOCATION_ID: int(available)}
        return {"sku": sku, "levels": self.levels[sku]}

    # --- rows ---

    def _url(self, order_id: int, resource: str) -> str:
        return f"https://api.bigcommerce.com/stores/{self.store_hash}/v2/orders/{order_id}/{resource}"

    def _address(self, order_id: int, spec: dict[str, Any], customer: Any) -> Row:
        email = _pick(spec, "email") or _pick(customer, "email") or ""
        return {
            "id": next(self._address_ids),
            "order_id": order_id,
            "first_name": str(_pick(spec, "first_name", "firstName") or ""),
            "last_name": str(_pick(spec, "last_name", "lastName") or ""),
            "company": str(_pick(spec, "company") or ""),
            "street_1": str(_pick(spec, "street_1", "address1") or ""),
            "street_2": str(_pick(spec, "street_2", "address2") or ""),
            "city": str(_pick(spec, "city") or ""),
            "state": str(_pick(spec, "state", "stateOrProvince") or ""),
            "zip": str(_pick(spec, "zip", "zipCodeOrPostalCode") or ""),
            "country": "United States" if _pick(spec, "country_iso2", "country") in (None, "US") else "",
            "country_iso2": str(_pick(spec, "country_iso2", "country") or "US"),
            "email": str(email),
            "phone": str(_pick(spec, "phone") or ""),
            "items_total": 0,
            "items_shipped": 0,
            "shipping_method": str(_pick(spec, "shipping_method") or "Fixed Shipping"),
            "base_cost": "0.0000",
            "cost_inc_tax": "0.0000",
            "form_fields": [],
        }

    def _billing(self, address: dict[str, Any], customer: Any) -> Row:
        return {
            "first_name": str(
                _pick(customer, "firstName", "first_name") or _pick(address, "first_name", "firstName") or ""
            ),
            "last_name": str(_pick(customer, "lastName", "last_name") or _pick(address, "last_name", "lastName") or ""),
            "street_1": str(_pick(address, "street_1", "address1") or ""),
            "city": str(_pick(address, "city") or ""),
            "state": str(_pick(address, "state", "stateOrProvince") or ""),
            "zip": str(_pick(address, "zip", "zipCodeOrPostalCode") or ""),
            "country_iso2": str(_pick(address, "country_iso2", "country") or "US"),
            "email": str(_pick(customer, "email") or _pick(address, "email") or ""),
            "phone": "",
            "form_fields": [],
        }

    def _product(self, order_id: int, line: dict[str, Any], address_id: int) -> Row:
        quantity = line.get("quantity", 1)
        if not isinstance(quantity, int) or quantity < 1:
            raise SandboxError(422, f"{line['sku']}: quantity must be a positive integer")
        price = Decimal(str(_pick(line, "price_inc_tax", "price", "unitPrice") or "19.00"))
        return {
            "id": next(self._product_ids),
            "order_id": order_id,
            "product_id": 77,
            "variant_id": 0,
            "order_address_id": address_id,
            "name": str(_pick(line, "name") or line["sku"]),
            "sku": line["sku"],
            "type": str(_pick(line, "type") or "physical"),
            "price_inc_tax": _money(price),
            "price_ex_tax": _money(price),
            "total_inc_tax": _money(price * quantity),
            "total_ex_tax": _money(price * quantity),
            "quantity": quantity,
            "quantity_shipped": 0,
            "quantity_refunded": 0,
            "is_refunded": False,
            "is_bundled_product": bool(line.get("is_bundled_product", False)),
            "parent_order_product_id": None,
            "applied_discounts": [],
        }
