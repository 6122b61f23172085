"""Orders at the ShipHero sandbox and what the GraphQL root resolves: `order_create` (validated as
ShipHero refuses: an address it cannot ship to), `order_cancel` (refused once picked, shipped or
canceled), the `orders`, `order`, `shipments` and `warehouse_products` queries as Relay
connections, and fulfilment: labels after `ship_delay` in `packages` packages, each its own
Shipment Update webhook."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from connectors.sandbox_kit import cursor_state, cursor_token
from connectors.shiphero.client import ErrorCode
from connectors.shiphero.mapping import FulfillmentStatus
from connectors.shiphero.sandbox.account import (
    Account,
    Label,
    Line,
    SbOrder,
    SbShipment,
    ShipHeroApiError,
    gid,
    gql_errors,
    invalid,
    now,
    request_id,
)
from connectors.shiphero.webhooks import WebhookType

_REQUIRED_ADDRESS = ("address1", "city", "country", "zip")


def missing(order_id: str, operation: str) -> ShipHeroApiError:
    return ShipHeroApiError(200, gql_errors(f"Order {order_id} not found", ErrorCode.NOT_FOUND, operation))


def connection(
    rows: list[Any], _info: Any = None, first: int | None = None, after: str | None = None
) -> dict[str, Any]:
    """A Relay connection page of `rows` (already JSON-shaped) with offset cursors."""
    start = 0
    if after:
        start = int(cursor_state(after, lambda: invalid("after is not a cursor of this list", "data")).get("o", 0)) + 1
    size = 100 if first is None else max(0, first)
    page = rows[start : start + size]
    edges = [{"node": row, "cursor": cursor_token({"o": start + i})} for i, row in enumerate(page)]
    return {
        "pageInfo": {
            "hasNextPage": start + size < len(rows),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
        "edges": edges,
    }


def result(data: Any) -> dict[str, Any]:
    # `complexity` is filled in once the answer is known (ShipHero charges on returned data).
    return {"request_id": request_id(), "complexity": 0, "data": data}


def paged(rows: list[Any]) -> Callable[..., dict[str, Any]]:
    return partial(connection, rows)


class ShipHeroSandbox(Account):
    """The account with its orders; `Root` resolves GraphQL against it."""

    def root(self) -> Root:
        return Root(self)

    # --- JSON as the API returns it ---

    def order_json(self, order: SbOrder) -> dict[str, Any]:
        return {
            "id": order.id,
            "legacy_id": order.legacy_id,
            "order_number": order.data.get("order_number"),
            "partner_order_id": order.partner_order_id,
            "shop_name": order.data.get("shop_name"),
            "fulfillment_status": order.status,
            "order_date": order.data.get("order_date") or order.created,
            "updated_at": order.updated,
            "tags": order.data.get("tags") or [],
            "shipping_address": order.data.get("shipping_address"),
            "line_items": paged([self.line_json(order, line) for line in order.lines]),
        }

    @staticmethod
    def line_json(order: SbOrder, line: Line) -> dict[str, Any]:
        return {
            "id": line.id,
            "legacy_id": line.legacy_id,
            "sku": line.sku,
            "partner_line_item_id": line.partner_line_item_id,
            "product_name": line.sku,
            "quantity": line.quantity,
            "quantity_allocated": 0 if order.status == FulfillmentStatus.CANCELED else line.quantity - line.shipped,
            "quantity_pending_fulfillment": line.quantity - line.shipped,
            "quantity_shipped": line.shipped,
            "fulfillment_status": order.status,
            "warehouse_id": order.warehouse_id,
        }

    def shipment_json(self, shipment: SbShipment) -> dict[str, Any]:
        items = [
            {
                "id": gid("ShipmentLineItem", shipment.legacy_id * 100 + n),
                "line_item_id": line.id,
                "shipping_label_id": label.id,
                "quantity": quantity,
                "line_item": self.line_json(shipment.order, line),
            }
            for label in shipment.labels
            for n, (line, quantity) in enumerate(label.lines)
        ]
        return {
            "id": shipment.id,
            "legacy_id": shipment.legacy_id,
            "order_id": shipment.order.id,
            "warehouse_id": shipment.warehouse_id,
            "created_date": shipment.created,
            "completed": True,
            "shipping_labels": [
                {
                    "id": label.id,
                    "tracking_number": label.tracking_number,
                    "tracking_url": label.tracking_url,
                    "carrier": label.carrier,
                    "shipping_name": label.method,
                    "shipping_method": label.method,
                    "status": "valid",
                    "created_date": label.created,
                }
                for label in shipment.labels
            ],
            "line_items": paged(items),
        }

    # --- orders ---

    def find(self, ref: str) -> SbOrder:
        """An order by id, legacy id or partner_order_id (sandbox controls)."""
        for order in self.orders.values():
            if ref in (order.id, str(order.legacy_id), order.partner_order_id):
                return order
        raise ShipHeroApiError(404, gql_errors(f"Order {ref} not found", ErrorCode.NOT_FOUND))

    def create(self, data: dict[str, Any]) -> SbOrder:
        address = data.get("shipping_address") or {}
        missing = [key for key in _REQUIRED_ADDRESS if not str(address.get(key) or "").strip()]
        if missing:
            raise invalid(f"shipping_address: {', '.join(missing)} required to ship the order", "order_create")
        items = data.get("line_items") or []
        if not items:
            raise invalid("line_items: an order needs at least one line item", "order_create")
        warehouses = {i.get("warehouse_id") for i in items if i.get("warehouse_id")}
        unknown = warehouses - self.warehouses.keys()
        if unknown:
            raise invalid(
                f"warehouse_id: {', '.join(sorted(unknown))} is not a warehouse of this account", "order_create"
            )
        legacy = self.legacy_id()
        at = now()
        lines = []
        for item in items:
            if int(item["quantity"]) < 1:
                raise invalid(f"line_items: {item['sku']}: quantity must be positive", "order_create")
            line_legacy = self.legacy_id()
            lines.append(
                Line(
                    gid("LineItem", line_legacy),
                    line_legacy,
                    item["sku"],
                    item["partner_line_item_id"],
                    int(item["quantity"]),
                )
            )
        warehouse = next(iter(warehouses), None) or next(iter(self.warehouses))
        order = SbOrder(gid("Order", legacy), legacy, dict(data), lines, warehouse, at, at)
        self.orders.add(order)
        knobs = self.knobs.value
        if knobs.auto_ship:
            self.timers.schedule(order.id, knobs.ship_delay, lambda: self.ship(order))
        return order

    def cancel(self, data: dict[str, Any]) -> SbOrder:
        order_id = str(data.get("order_id") or "")
        order = self.orders.get(order_id)
        if order is None:
            raise missing(order_id, "order_cancel")
        if order.status == FulfillmentStatus.CANCELED:
            raise invalid(f"Order {order.legacy_id} is already canceled", "order_cancel")
        if order.status != FulfillmentStatus.PENDING or order.shipments:
            raise invalid(f"Order {order.legacy_id} can't be canceled: it is {order.status}", "order_cancel")
        if order.picked:
            raise invalid(f"Order {order.legacy_id} can't be canceled: it is being picked", "order_cancel")
        order.status = FulfillmentStatus.CANCELED.value
        order.updated = now()
        self.timers.cancel(order.id)
        self.emit(
            WebhookType.ORDER_CANCELED,
            {
                "webhook_type": WebhookType.ORDER_CANCELED.value,
                "test": "0",
                "order_id": order.legacy_id,
                "order_uuid": order.id,
                "order_number": order.data.get("order_number"),
                "partner_order_id": order.partner_order_id,
                "fulfillment_status": order.status,
            },
        )
        return order

    def committed(self, warehouse: str, sku: str) -> int:
        return sum(
            line.quantity - line.shipped
            for order in self.orders.values()
            if order.warehouse_id == warehouse and order.status == FulfillmentStatus.PENDING
            for line in order.lines
            if line.sku == sku
        )

    def products(self, warehouse_id: str | None) -> list[dict[str, Any]]:
        rows = []
        for warehouse, levels in self.stock.items():
            if warehouse_id is not None and warehouse != warehouse_id:
                continue
            for sku, on_hand in sorted(levels.items()):
                allocated = min(on_hand, self.committed(warehouse, sku))
                rows.append(
                    {
                        "id": gid("WarehouseProduct", abs(hash((warehouse, sku))) % 10**9),
                        "sku": sku,
                        "warehouse_id": warehouse,
                        "on_hand": on_hand,
                        "allocated": allocated,
                        "available": on_hand - allocated,
                        "backorder": 0,
                        "reserve_inventory": 0,
                        "updated_at": now(),
                    }
                )
        return rows

    # --- fulfilment ---

    def pick(self, order: SbOrder) -> None:
        if order.status == FulfillmentStatus.PENDING and not order.shipments:
            order.picked = True
            order.updated = now()
            self.timers.cancel(order.id)

    def ship(self, order: SbOrder, packages: int | None = None) -> list[dict[str, Any]]:
        """Label what is pending in `packages` packages (knob by default): one Shipment Update each."""
        pending = [(line, line.quantity - line.shipped) for line in order.lines if line.quantity > line.shipped]
        if order.status == FulfillmentStatus.CANCELED or not pending:
            return []
        self.timers.cancel(order.id)
        units = [line for line, left in pending for _ in range(left)]
        count = max(1, min(packages or self.knobs.value.packages, len(units)))
        legacy = self.legacy_id()
        shipment = SbShipment(gid("Shipment", legacy), legacy, order, order.warehouse_id, now())
        for k in range(count):
            share = units[k::count]
            per_line = {line.id: (line, sum(1 for u in share if u is line)) for line in share}
            tracking = self.tracking_number()
            shipment.labels.append(
                Label(
                    gid("ShippingLabel", self.legacy_id()),
                    tracking,
                    f"https://www.ups.com/track?tracknum={tracking}",
                    self.knobs.value.carrier,
                    "Ground",
                    now(),
                    list(per_line.values()),
                )
            )
        for line, left in pending:
            line.shipped += left
            levels = self.stock.setdefault(order.warehouse_id, {})
            levels[line.sku] = max(0, levels.get(line.sku, 0) - left)
        order.shipments.append(shipment)
        order.status = FulfillmentStatus.FULFILLED.value
        order.updated = now()
        payloads = [self.shipment_update(shipment, k) for k in range(len(shipment.labels))]
        for payload in payloads:
            self.emit(WebhookType.SHIPMENT_UPDATE, payload)
        return payloads

    def shipment_update(self, shipment: SbShipment, index: int) -> dict[str, Any]:
        """The Shipment Update body of one package (developer.shiphero.com/webhooks)."""
        label = shipment.labels[index]
        order = shipment.order
        number = index + 1
        items: list[dict[str, Any]] = [
            {
                "id": line.id,
                "shiphero_id": line.legacy_id,
                "quantity": quantity,
                "sku": line.sku,
                "serial_numbers": [],
                "package": number,
                "lot_id": None,
            }
            for line, quantity in label.lines
        ]
        return {
            "test": "0",
            "webhook_type": WebhookType.SHIPMENT_UPDATE.value,
            "fulfillment": {
                "shipment_id": shipment.legacy_id,
                "shipment_uuid": shipment.id,
                "warehouse": self.warehouses.get(shipment.warehouse_id),
                "warehouse_uuid": shipment.warehouse_id,
                "order_id": order.legacy_id,
                "order_uuid": order.id,
                "partner_order_id": order.partner_order_id,
                "order_number": order.data.get("order_number"),
                "tracking_number": label.tracking_number,
                "custom_tracking_url": label.tracking_url,
                "shipping_carrier": label.carrier,
                "shipping_method": label.method,
                "package_number": number,
                "total_packages": len(shipment.labels),
                "created_at": label.created,
                "line_items": items,
                "packages": [
                    {
                        "name": f"Package {number}",
                        "tracking_number": label.tracking_number,
                        "tracking_url": label.tracking_url,
                        "carrier": label.carrier,
                        "method": label.method,
                        "line_items": items,
                    }
                ],
            },
        }


class Root:
    """The GraphQL root value: each top-level field is a method (graphql-core calls it with the
    field's arguments)."""

    def __init__(self, sb: ShipHeroSandbox) -> None:
        self.sb = sb

    def orders(self, _info: Any, **args: Any) -> dict[str, Any]:
        wanted = {
            k: args[k] for k in ("partner_order_id", "order_number", "shop_name", "fulfillment_status") if args.get(k)
        }
        rows = [
            self.sb.order_json(o)
            for o in self.sb.orders.values()
            if all(str(o.data.get(k) if k != "fulfillment_status" else o.status) == v for k, v in wanted.items())
            and (not args.get("warehouse_id") or o.warehouse_id == args["warehouse_id"])
        ]
        return result(paged(rows))

    def order(self, _info: Any, id: str, **_: Any) -> dict[str, Any]:
        found = self.sb.orders.get(id)
        if found is None:
            raise missing(id, "order")
        return result(self.sb.order_json(found))

    def shipments(self, _info: Any, order_id: str | None = None, **_: Any) -> dict[str, Any]:
        orders = (
            [self.sb.orders[order_id]] if order_id in self.sb.orders else [] if order_id else self.sb.orders.values()
        )
        return result(paged([self.sb.shipment_json(s) for o in orders for s in o.shipments]))

    def warehouse_products(self, _info: Any, warehouse_id: str | None = None, **args: Any) -> dict[str, Any]:
        rows = self.sb.products(warehouse_id)
        if args.get("sku"):
            rows = [r for r in rows if r["sku"] == args["sku"]]
        return result(paged(rows))

    def order_create(self, _info: Any, data: dict[str, Any]) -> dict[str, Any]:
        order = self.sb.create(data)
        return {"request_id": request_id(), "complexity": 0, "order": self.sb.order_json(order)}

    def order_cancel(self, _info: Any, data: dict[str, Any]) -> dict[str, Any]:
        order = self.sb.cancel(data)
        return {"request_id": request_id(), "complexity": 0, "order": self.sb.order_json(order)}
