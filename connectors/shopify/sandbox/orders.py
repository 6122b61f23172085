"""Orders and their fulfillment orders: the Admin API's order list filters, fulfillments that
consume what each fulfillment order has left (validated the way Shopify does), and the controls
that place, edit, pay and cancel orders, each sending the webhooks Shopify sends."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

from connectors.sandbox_kit import SandboxError, ids_in
from connectors.sandbox_kit.values import decimal_amount, pick, positive_int
from connectors.shopify.sandbox import payloads
from connectors.shopify.sandbox.payloads import LineSpec, tags_text
from connectors.shopify.sandbox.returns import Returns
from connectors.shopify.sandbox.shop import Row, ShopifyApiError, iso, now, parse_time
from connectors.shopify.webhooks import ShopifyTopic
from connectors.signing import json_type

CANCEL_REASONS = ("customer", "fraud", "inventory", "declined", "other", "staff")
_TRACKING_URLS = {
    "UPS": "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums={}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1={}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={}",
}


class ShopifySandbox(Returns):
    """The whole shop: its state and gate, its catalog, its orders; `create_app` serves it."""

    # --- orders (API) ---

    def order(self, order_id: int) -> Row:
        return self.orders.find(order_id)

    def filter_orders(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        status = filters.get("status", "open")
        if status not in ("open", "closed", "cancelled", "any"):
            raise ShopifyApiError(400, {"status": [f"{status!r} is not one of open, closed, cancelled, any"]})
        rows = list(self.orders.values())
        if status == "open":
            rows = [o for o in rows if not o["cancelled_at"] and not o["closed_at"]]
        elif status == "closed":
            rows = [o for o in rows if o["closed_at"]]
        elif status == "cancelled":
            rows = [o for o in rows if o["cancelled_at"]]
        if filters.get("ids"):
            wanted = ids_in(filters["ids"])
            rows = [o for o in rows if o["id"] in wanted]
        if filters.get("since_id", "").isdigit():
            rows = [o for o in rows if o["id"] > int(filters["since_id"])]
        if filters.get("financial_status") not in (None, "any"):
            rows = [o for o in rows if o["financial_status"] == filters["financial_status"]]
        for name, attr, keep in (
            ("created_at_min", "created_at", lambda at, bound: at >= bound),
            ("created_at_max", "created_at", lambda at, bound: at <= bound),
            ("updated_at_min", "updated_at", lambda at, bound: at >= bound),
            ("updated_at_max", "updated_at", lambda at, bound: at <= bound),
        ):
            if filters.get(name):
                bound = parse_time(filters[name], name)
                rows = [o for o in rows if keep(parse_time(o[attr], attr), bound)]
        return rows

    def order_fulfillment_orders(self, order_id: int) -> list[dict[str, Any]]:
        self.orders.find(order_id)
        return [fo for fo in self.fulfillment_orders.values() if fo["order_id"] == order_id]

    def order_fulfillments(self, order_id: int) -> list[dict[str, Any]]:
        self.orders.find(order_id)
        return [f for f in self.fulfillments.values() if f["order_id"] == order_id]

    def create_fulfillment(self, body: Any) -> dict[str, Any]:
        fulfillment = body.get("fulfillment") if isinstance(body, dict) else None
        groups = fulfillment.get("line_items_by_fulfillment_order") if isinstance(fulfillment, dict) else None
        if not isinstance(groups, list) or not groups:
            raise ShopifyApiError(400, {"fulfillment": "Required parameter missing or invalid"})
        assert isinstance(fulfillment, dict)
        if self.knobs.value.reject_fulfillments:
            raise ShopifyApiError(422, ["Fulfillment refused (sandbox knob reject_fulfillments)."])
        taken = self._fulfillment_lines(groups)
        fos = [self.fulfillment_orders[fo_id] for fo_id in taken]
        order = self.orders[fos[0]["order_id"]]
        given = fulfillment.get("tracking_info")
        tracking: dict[str, Any] = given if isinstance(given, dict) else {}
        number = tracking.get("number")
        company = tracking.get("company")
        url = tracking.get("url") or (
            _TRACKING_URLS[company].format(number) if number and company in _TRACKING_URLS else None
        )
        fulfillment_id = self.fulfillments.new_id()
        at = iso(now())
        by_line: dict[int, int] = {}
        for fo_id, items in taken.items():
            for item_id, quantity in items.items():
                item = next(i for i in self.fulfillment_orders[fo_id]["line_items"] if i["id"] == item_id)
                item["fulfillable_quantity"] -= quantity
                by_line[item["line_item_id"]] = by_line.get(item["line_item_id"], 0) + quantity
            self.fulfillment_orders[fo_id]["updated_at"] = at
        lines = {line["id"]: line for line in order["line_items"]}
        record = {
            "id": fulfillment_id,
            "admin_graphql_api_id": f"gid://shopify/Fulfillment/{fulfillment_id}",
            "order_id": order["id"],
            "name": f"{order['name']}.{len(self.order_fulfillments(order['id'])) + 1}",
            "status": "success",
            "service": "manual",
            "created_at": at,
            "updated_at": at,
            "location_id": fos[0]["assigned_location_id"],
            "origin_address": fulfillment.get("origin_address"),
            "shipment_status": None,
            "tracking_company": company,
            "tracking_number": number,
            "tracking_numbers": [number] if number else [],
            "tracking_url": url,
            "tracking_urls": [url] if url else [],
            "receipt": {},
            "line_items": [],
        }
        self.fulfillments.add(record)
        self._refresh_fulfillment_state(order)
        order["updated_at"] = at
        record["line_items"] = [
            {**copy.deepcopy(lines[line_id]), "quantity": q} for line_id, q in sorted(by_line.items())
        ]
        order["fulfillments"] = copy.deepcopy(self.order_fulfillments(order["id"]))
        if self.knobs.value.fulfillment_webhooks:
            self.emit(ShopifyTopic.FULFILLMENTS_CREATE, record)
            fully = order["fulfillment_status"] == "fulfilled"
            self.emit(ShopifyTopic.ORDERS_FULFILLED if fully else ShopifyTopic.ORDERS_PARTIALLY_FULFILLED, order)
            self.emit(ShopifyTopic.ORDERS_UPDATED, order)
        return record

    def _fulfillment_lines(self, groups: list[Any]) -> dict[int, dict[int, int]]:
        """Validate `line_items_by_fulfillment_order` the way Shopify does -> {fo id: {item: qty}}."""
        taken: dict[int, dict[int, int]] = {}
        orders, locations = set(), set()
        for group in groups:
            fo_id = group.get("fulfillment_order_id") if isinstance(group, dict) else None
            fo = self.fulfillment_orders.get(fo_id) if isinstance(fo_id, int) else None
            if fo is None or not isinstance(fo_id, int):
                raise ShopifyApiError(422, [f"Fulfillment order {fo_id} does not exist."])
            if fo["status"] not in ("open", "in_progress"):
                raise ShopifyApiError(422, [f"Fulfillment order {fo_id} has an unfulfillable status= {fo['status']}."])
            orders.add(fo["order_id"])
            locations.add(fo["assigned_location_id"])
            items = {item["id"]: item for item in fo["line_items"]}
            wanted = group.get("fulfillment_order_line_items")
            if wanted is None:
                wanted = [{"id": i["id"], "quantity": i["fulfillable_quantity"]} for i in fo["line_items"]]
                wanted = [w for w in wanted if w["quantity"] > 0]
            if not isinstance(wanted, list) or not wanted:
                raise ShopifyApiError(422, [f"Fulfillment order {fo_id} has nothing to fulfill."])
            lines = taken.setdefault(fo_id, {})
            for entry in wanted:
                item = items.get(entry.get("id")) if isinstance(entry, dict) else None
                if item is None:
                    raise ShopifyApiError(
                        422, [f"Fulfillment order line item {entry} does not belong to fulfillment order {fo_id}."]
                    )
                quantity = entry.get("quantity")
                total = lines.get(item["id"], 0) + (quantity if isinstance(quantity, int) else 0)
                if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                    raise ShopifyApiError(422, ["Invalid fulfillment order line item quantity requested."])
                if total > item["fulfillable_quantity"]:
                    raise ShopifyApiError(422, ["Invalid fulfillment order line item quantity requested."])
                lines[item["id"]] = total
        if len(orders) > 1:
            raise ShopifyApiError(422, ["All fulfillment orders must belong to the same order."])
        if len(locations) > 1:
            raise ShopifyApiError(422, ["All fulfillment orders must be assigned to the same location."])
        return taken

    def _refresh_fulfillment_state(self, order: dict[str, Any]) -> None:
        """Fulfillment order statuses and the order's fulfillment fields from what remains."""
        remaining: dict[int, int] = {}
        fulfilled: dict[int, int] = {}
        for fo in self.order_fulfillment_orders(order["id"]):
            if fo["status"] == "cancelled":
                continue
            for item in fo["line_items"]:
                remaining[item["line_item_id"]] = remaining.get(item["line_item_id"], 0) + item["fulfillable_quantity"]
                done = item["quantity"] - item["fulfillable_quantity"]
                fulfilled[item["line_item_id"]] = fulfilled.get(item["line_item_id"], 0) + done
            if fo["status"] in ("open", "in_progress"):
                left = sum(i["fulfillable_quantity"] for i in fo["line_items"])
                done_any = any(i["quantity"] > i["fulfillable_quantity"] for i in fo["line_items"])
                fo["status"] = "closed" if left == 0 else ("in_progress" if done_any else "open")
        states = []
        for line in order["line_items"]:
            if line["gift_card"]:
                continue
            left = line["fulfillable_quantity"] = remaining.get(line["id"], 0)
            done = fulfilled.get(line["id"], 0)
            line["fulfillment_status"] = "fulfilled" if done and not left else ("partial" if done else None)
            if line["current_quantity"] > 0:
                states.append(line["fulfillment_status"])
        if states and all(s == "fulfilled" for s in states):
            order["fulfillment_status"] = "fulfilled"
        elif any(states):
            order["fulfillment_status"] = "partial"
        else:
            order["fulfillment_status"] = None

    # --- controls: orders ---

    def place(self, body: Any, *, duplicate: bool = False, bad_signature: bool = False) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise SandboxError(422, f"the order must be a JSON object, not {json_type(body)}")
        specs = payloads.line_specs(pick(body, "line_items", "lineItems"), self.locations)
        created = parse_time(body["created_at"], "created_at") if body.get("created_at") else now()
        order_id, number = self.orders.new_id(), next(self.ids.numbers)
        given = body.get("customer")
        customer: dict[str, Any] = given if isinstance(given, dict) else {}
        email = pick(body, "email", "contact_email") or pick(customer, "email")
        address = payloads.address(pick(body, "shipping_address", "shippingAddress"))
        billing = payloads.address(pick(body, "billing_address", "billingAddress")) or copy.deepcopy(address)
        financial = str(body.get("financial_status") or body.get("financialStatus") or "paid")
        order: dict[str, Any] = {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "name": f"#{number}",
            "number": number - 1000,
            "order_number": number,
            "email": email,
            "contact_email": email,
            "phone": None,
            "created_at": iso(created),
            "updated_at": iso(created),
            "processed_at": iso(created),
            "closed_at": None,
            "cancelled_at": None,
            "cancel_reason": None,
            "confirmed": True,
            "test": False,
            "currency": str(body.get("currency") or self.currency),
            "presentment_currency": str(body.get("currency") or self.currency),
            "financial_status": financial,
            "fulfillment_status": None,
            "tags": tags_text(body.get("tags")),
            "note": body.get("note"),
            "note_attributes": body.get("note_attributes") or [],
            "source_name": "web",
            "line_items": [],
            "shipping_lines": payloads.shipping_lines(body, self.currency, next(self.ids.line_items)),
            "shipping_address": address,
            "billing_address": billing,
            "customer": self._customer(customer, email, address, created),
            "fulfillments": [],
            "refunds": [],
        }
        for spec in specs:
            order["line_items"].append(self._line_item(spec, order["currency"]))
        payloads.apply_totals(order)
        self.orders.add(order)
        for spec, line in zip(specs, order["line_items"], strict=True):
            if not line["gift_card"]:
                self._add_to_fulfillment_order(order, line, spec.location_id or self.location_id, line["quantity"])
        self._refresh_fulfillment_state(order)
        self.emit(ShopifyTopic.ORDERS_CREATE, order, duplicate=duplicate, bad_signature=bad_signature)
        return order

    def edit(self, order_id: int, body: Any, *, duplicate: bool = False) -> dict[str, Any]:
        order = self.orders.find(order_id)
        if not isinstance(body, dict):
            raise SandboxError(422, f"the edit must be a JSON object, not {json_type(body)}")
        if order["cancelled_at"]:
            raise SandboxError(409, f"order {order_id} is cancelled and cannot be edited")
        additions: list[dict[str, int]] = []
        removals: list[dict[str, int]] = []
        changes = body.get("line_items")
        if changes is not None:
            if not isinstance(changes, list):
                raise SandboxError(422, "line_items must be an array of {id | sku, quantity}")
            for i, change in enumerate(changes):
                self._edit_line(order, change, f"line_items[{i}]", additions, removals)
        if body.get("shipping_address") is not None or body.get("shippingAddress") is not None:
            order["shipping_address"] = payloads.address(pick(body, "shipping_address", "shippingAddress"))
        if "tags" in body:
            order["tags"] = tags_text(body["tags"])
        for key in ("note", "email"):
            if key in body:
                order[key] = body[key]
        if "email" in body:
            order["contact_email"] = body["email"]
        at = now()
        order["updated_at"] = iso(at)
        payloads.apply_totals(order)
        self._refresh_fulfillment_state(order)
        if additions or removals:
            edit = payloads.order_edit(next(self.ids.order_edits), order, at, additions, removals)
            self.emit(ShopifyTopic.ORDERS_EDITED, edit, duplicate=duplicate)
        self.emit(ShopifyTopic.ORDERS_UPDATED, order, duplicate=duplicate)
        return order

    def _edit_line(
        self,
        order: dict[str, Any],
        change: Any,
        where: str,
        additions: list[dict[str, int]],
        removals: list[dict[str, int]],
    ) -> None:
        if not isinstance(change, dict):
            raise SandboxError(422, f"{where} must be an object")
        quantity = positive_int(change.get("quantity"), f"{where}.quantity", 0)
        line = None
        if change.get("id") is not None:
            line = next((li for li in order["line_items"] if li["id"] == change["id"]), None)
            if line is None:
                raise SandboxError(422, f"{where}: the order has no line item {change['id']}")
        elif isinstance(change.get("sku"), str):
            line = next(
                (li for li in order["line_items"] if li["sku"] == change["sku"] and li["fulfillable_quantity"] > 0),
                None,
            )
            if line is None:
                if quantity == 0:
                    return
                spec = LineSpec(sku=change["sku"], quantity=quantity, price=decimal_amount(change.get("price"), where))
                line = self._line_item(spec, order["currency"])
                order["line_items"].append(line)
                self._add_to_fulfillment_order(order, line, self.location_id, quantity)
                additions.append({"id": line["id"], "delta": quantity})
                return
        else:
            raise SandboxError(422, f"{where} needs an id or a sku")
        assert line is not None
        fulfilled = line["current_quantity"] - line["fulfillable_quantity"]
        if quantity < fulfilled:
            raise SandboxError(422, f"{where}: {fulfilled} unit(s) of line {line['id']} are fulfilled already")
        delta = quantity - line["current_quantity"]
        if delta == 0:
            return
        line["current_quantity"] = quantity
        if delta > 0:
            line["quantity"] += delta
            additions.append({"id": line["id"], "delta": delta})
            self._add_to_fulfillment_order(order, line, self.location_id, delta)
        else:
            removals.append({"id": line["id"], "delta": -delta})
            self._remove_from_fulfillment_orders(order, line, -delta)

    def _add_to_fulfillment_order(self, order: dict[str, Any], line: dict[str, Any], location: int, qty: int) -> None:
        if location not in self.locations:
            raise SandboxError(422, f"unknown location {location}", hint="add one with POST /_sandbox/locations")
        fos = self.order_fulfillment_orders(order["id"])
        for fo in fos:
            if fo["status"] in ("open", "in_progress") and fo["assigned_location_id"] == location:
                for item in fo["line_items"]:
                    if item["line_item_id"] == line["id"]:
                        item["quantity"] += qty
                        item["fulfillable_quantity"] += qty
                        return
                fo["line_items"].append(self._fo_line_item(fo["id"], line, qty))
                return
        fo_id = self.fulfillment_orders.new_id()
        item = self._fo_line_item(fo_id, line, qty)
        self.fulfillment_orders.add(
            payloads.fulfillment_order(fo_id, order, self.locations[location], item, iso(now()))
        )

    def _remove_from_fulfillment_orders(self, order: dict[str, Any], line: dict[str, Any], qty: int) -> None:
        for fo in self.order_fulfillment_orders(order["id"]):
            if fo["status"] not in ("open", "in_progress"):
                continue
            for item in list(fo["line_items"]):
                if item["line_item_id"] != line["id"] or qty == 0:
                    continue
                take = min(qty, item["fulfillable_quantity"])
                item["quantity"] -= take
                item["fulfillable_quantity"] -= take
                qty -= take
                if item["quantity"] == 0:
                    fo["line_items"].remove(item)
            if not fo["line_items"]:
                fo["status"] = "closed"

    def _fo_line_item(self, fo_id: int, line: Row, quantity: int) -> dict[str, Any]:
        variants = self.variants_by_sku(line["sku"]) if line["variant_id"] else []
        item_id = variants[0]["inventory_item_id"] if variants else None
        return payloads.fo_line_item(next(self.ids.fo_line_items), fo_id, line, quantity, item_id)

    def pay(self, order_id: int, *, duplicate: bool = False) -> dict[str, Any]:
        order = self.orders.find(order_id)
        order["financial_status"] = "paid"
        order["total_outstanding"] = "0.00"
        order["updated_at"] = iso(now())
        self.emit(ShopifyTopic.ORDERS_PAID, order, duplicate=duplicate)
        self.emit(ShopifyTopic.ORDERS_UPDATED, order, duplicate=duplicate)
        return order

    def cancel(self, order_id: int, body: Any, *, duplicate: bool = False) -> dict[str, Any]:
        order = self.orders.find(order_id)
        if order["cancelled_at"]:
            raise SandboxError(409, f"order {order_id} is cancelled already")
        reason = (body or {}).get("reason") if isinstance(body, dict) else None
        reason = reason or "customer"
        if reason not in CANCEL_REASONS:
            raise SandboxError(422, f"reason must be one of {', '.join(CANCEL_REASONS)}")
        at = iso(now())
        order.update(cancelled_at=at, cancel_reason=reason, updated_at=at)
        for fo in self.order_fulfillment_orders(order_id):
            if fo["status"] in ("open", "in_progress"):
                # What was fulfilled stays; the rest of each line leaves the fulfillment order.
                for item in fo["line_items"]:
                    item["quantity"] -= item["fulfillable_quantity"]
                    item["fulfillable_quantity"] = 0
                fulfilled_any = any(i["quantity"] > 0 for i in fo["line_items"])
                fo["status"] = "closed" if fulfilled_any else "cancelled"
                fo["updated_at"] = at
        for line in order["line_items"]:
            line["fulfillable_quantity"] = 0
        self.emit(ShopifyTopic.ORDERS_CANCELLED, order, duplicate=duplicate)
        self.emit(ShopifyTopic.ORDERS_UPDATED, order, duplicate=duplicate)
        return order

    # --- building order JSON from the shop's catalog ---

    def _line_item(self, spec: LineSpec, currency: str) -> dict[str, Any]:
        variants = self.variants_by_sku(spec.sku)
        variant = variants[0] if variants else None
        product = self.products[variant["product_id"]] if variant else None
        return payloads.line_item(spec, currency, next(self.ids.line_items), variant, product)

    def _customer(self, value: Any, email: str | None, address: Row | None, at: datetime) -> dict[str, Any] | None:
        data = value if isinstance(value, dict) else {}
        if not data and not email:
            return None
        key = email or json.dumps(data, sort_keys=True)
        known = self.customers.get(key)
        if known is not None:
            return copy.deepcopy(known)
        customer = payloads.customer(next(self.ids.customers), data, email, address, at, self.currency)
        self.customers[key] = customer
        return copy.deepcopy(customer)
