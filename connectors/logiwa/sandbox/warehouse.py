"""The tenant's warehouses in the Logiwa sandbox: shipment orders created by `InsertShipmentOrder`
(validated as Logiwa does, the whole batch refused if one order is wrong, a known `Code`
refused), their order records as `WarehouseOrderSearch` shows them, picking and shipping (on a
timer or by control), cancel refused once picking started, stock per warehouse and item, and
the unsigned webhooks the brand's subscriptions receive (its token header, `X-Orderloop-Event`)."""

from __future__ import annotations

import itertools
import json
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.base import SandboxOptions
from connectors.logiwa.mapping import DATE_FORMAT, LINES_PER_ORDER, ORDERS_PER_CALL, OrderStatus
from connectors.logiwa.sandbox.gate import SEED_STOCK, Gate, LogiwaError, refused
from connectors.logiwa.webhooks import TOPIC_HEADER, LogiwaTopic


def now() -> str:
    return datetime.now(UTC).strftime(DATE_FORMAT)


@dataclass
class SbOrder:
    id: int
    code: str
    warehouse: str
    body: dict[str, Any]
    lines: list[tuple[int, str, int]]  # (detail id, sku, quantity)
    status: OrderStatus = OrderStatus.ENTERED
    tracking: list[str] = field(default_factory=list)
    carrier: str | None = None
    entered: str = field(default_factory=now)
    modified: str = field(default_factory=now)
    shipped_at: str | None = None

    @property
    def open(self) -> bool:
        return self.status not in (OrderStatus.SHIPPED, OrderStatus.CANCELLED)

    @property
    def picking_started(self) -> bool:
        return self.status in (OrderStatus.PICKING, OrderStatus.PICKED, OrderStatus.PACKED, OrderStatus.SHIPPED)

    def record(self, depositor: str, details: bool) -> dict[str, Any]:
        shipped = self.status is OrderStatus.SHIPPED
        picked = self.picking_started
        record: dict[str, Any] = {
            "ID": self.id,
            "Code": self.code,
            "CustomerOrderNo": self.body.get("CustomerOrderNo"),
            "ChannelOrderCode": self.body.get("ChannelOrderCode"),
            "DepositorCode": depositor,
            "WarehouseCode": self.warehouse,
            "WarehouseOrderTypeCode": self.body.get("WarehouseOrderType"),
            "WarehouseOrderStatusCode": self.status.value,
            "IsPickingStarted": picked,
            "IsPickingCompleted": self.status in (OrderStatus.PICKED, OrderStatus.PACKED, OrderStatus.SHIPPED),
            "IsCancelRequested": self.status is OrderStatus.CANCELLED,
            "CarrierTrackingNumber": ",".join(self.tracking) or None,
            "CarrierDescription": self.carrier,
            "OrderDate": self.body.get("OrderDate"),
            "EntryDateTime": self.entered,
            "LastModifiedDate": self.modified,
            "ActualShipDate": self.shipped_at,
            "NofProducts": len(self.lines),
        }
        if details:
            record["DetailInfo"] = [
                {
                    "ID": detail,
                    "Code": None,
                    "InventoryItemInfo": sku,
                    "InventoryItemDescription": sku,
                    "InventoryItemPackTypeDescription": "Each",
                    "PlannedCuQuantity": quantity,
                    "PickedCuQuantity": quantity if picked else 0,
                    "ShippedCuQuantity": quantity if shipped else 0,
                    "CancelledCuQuantity": quantity if self.status is OrderStatus.CANCELLED else 0,
                }
                for detail, sku, quantity in self.lines
            ]
        return record


class Warehouse(Gate):
    """Orders, stock and webhooks of the tenant, behind the gate."""

    def __init__(self, options: SandboxOptions, webhook_transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(options, webhook_transport)
        self.warehouses: dict[str, str] = dict(options.channel.settings.get("warehouses") or {"main": "WH-MAIN"})
        self.ids = itertools.count(7_000_001)
        self.detail_ids = itertools.count(9_000_001)
        self.orders: dict[str, SbOrder] = {}
        self.stock: dict[str, dict[str, int]] = {}
        seeded = {self.warehouses[loc]: dict(levels) for loc, levels in options.stock.items() if loc in self.warehouses}
        self.set_stock(self.knobs.value.stock or seeded or {code: SEED_STOCK for code in self.warehouses.values()})
        self._serial = itertools.count(1)

    def knobs_changed(self, changes: dict[str, Any]) -> None:
        super().knobs_changed(changes)
        if changes.get("stock"):
            self.set_stock(self.knobs.value.stock)

    def set_stock(self, stock: dict[str, dict[str, int]]) -> None:
        self.stock = {code: dict(levels) for code, levels in stock.items()}
        for code in self.warehouses.values():
            self.stock.setdefault(code, {})

    # --- InsertShipmentOrder ---

    def insert(self, body: Any) -> dict[str, Any]:
        orders = body if isinstance(body, list) else [body] if isinstance(body, dict) else None
        if not orders:
            raise refused("Request body must be a shipment order or a list of shipment orders.")
        if len(orders) > ORDERS_PER_CALL:
            raise refused(f"A request can contain at most {ORDERS_PER_CALL} shipment orders.")
        errors = [e for i, order in enumerate(orders) for e in self._invalid(i, order, orders)]
        if errors:
            raise refused(*errors)
        created = [self._create(order) for order in orders]
        return {
            "Success": True,
            "SuccessMessage": f"{len(created)} shipment order(s) inserted.",
            "Data": [{"ID": o.id, "Code": o.code} for o in created],
            "Errors": [],
        }

    def _invalid(self, i: int, order: Any, batch: list[Any]) -> list[str]:
        if not isinstance(order, dict):
            return [f"Order {i + 1}: a shipment order must be an object."]
        code = order.get("Code")
        where = f"Order {code or i + 1}"
        if not isinstance(code, str) or not code.strip():
            return [f"{where}: Code is required."]
        if code in self.orders or sum(1 for o in batch if isinstance(o, dict) and o.get("Code") == code) > 1:
            return [f"{where}: Shipment order code {code} already exists."]
        errors = []
        if order.get("DepositorCode") != self.depositor:
            errors.append(f"{where}: Depositor {order.get('DepositorCode')!r} not found.")
        if order.get("WarehouseCode") not in self.stock:
            errors.append(f"{where}: Warehouse {order.get('WarehouseCode')!r} not found.")
        for key, label in (
            ("CustomerShippingAddressText", "Address"),
            ("CustomerShippingAddressCityDescription", "City"),
            ("CustomerShippingAddressCountryDescription", "Country"),
        ):
            if not str(order.get(key) or "").strip():
                errors.append(f"{where}: Customer shipping address {label} is required.")
        details = order.get("Details")
        if not isinstance(details, list) or not details:
            return [*errors, f"{where}: at least one detail line is required."]
        if len(details) > LINES_PER_ORDER:
            errors.append(f"{where}: an order can contain at most {LINES_PER_ORDER} lines.")
        known = {sku for levels in self.stock.values() for sku in levels}
        for n, detail in enumerate(details, start=1):
            sku = detail.get("InventoryItemCode") if isinstance(detail, dict) else None
            quantity = detail.get("PackQuantity") if isinstance(detail, dict) else None
            if not isinstance(sku, str) or sku not in known:
                errors.append(f"{where}: line {n}: Inventory item {sku!r} not found.")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                errors.append(f"{where}: line {n}: PackQuantity must be a positive integer.")
        return errors

    def _create(self, body: dict[str, Any]) -> SbOrder:
        lines = [(next(self.detail_ids), d["InventoryItemCode"], d["PackQuantity"]) for d in body["Details"]]
        order = SbOrder(next(self.ids), body["Code"], body["WarehouseCode"], body, lines, carrier=body.get("Carrier"))
        self.orders[order.code] = order
        self.emit(LogiwaTopic.SO_STATUS_UPDATE, self._status_payload(order))
        knobs = self.knobs.value
        if knobs.auto_ship:
            self.timers.schedule(order.code, knobs.ship_delay / 2, lambda: self._auto_pick(order))
        return order

    def _auto_pick(self, order: SbOrder) -> None:
        if self.pick(order):
            self.timers.schedule(order.code, self.knobs.value.ship_delay / 2, lambda: self.ship(order))

    # --- WarehouseOrderSearch, CancelShipmentOrder ---

    def search(self, body: Any) -> list[dict[str, Any]]:
        query = body if isinstance(body, dict) else {}
        found = [
            o
            for o in self.orders.values()
            if (query.get("Code") in (None, "", o.code))
            and (query.get("ID") in (None, 0, o.id))
            and (query.get("DepositorCode") in (None, "", self.depositor))
        ]
        details = bool(query.get("IsGetOrderDetails"))
        return [o.record(self.depositor, details) for o in found]

    def find(self, ref: str) -> SbOrder:
        order = self.orders.get(ref) or next((o for o in self.orders.values() if str(o.id) == ref), None)
        if order is None:
            raise LogiwaError(404, {"Message": f"No shipment order {ref}."})
        return order

    def cancel(self, body: Any) -> dict[str, Any]:
        query = body if isinstance(body, dict) else {}
        order = next(
            (o for o in self.orders.values() if o.id == query.get("ID") or o.code == query.get("Code")),
            None,
        )
        if order is None:
            raise refused("Shipment order not found.")
        if order.status is OrderStatus.CANCELLED:
            raise refused(f"Shipment order {order.code} is already cancelled.")
        if order.picking_started:
            raise refused(f"Shipment order {order.code} cannot be cancelled: its status is {order.status.value}.")
        order.status = OrderStatus.CANCELLED
        order.modified = now()
        self.timers.cancel(order.code)
        self.emit(LogiwaTopic.SO_STATUS_UPDATE, self._status_payload(order))
        return {"Success": True, "SuccessMessage": f"Shipment order {order.code} cancelled.", "Errors": []}

    # --- fulfilment ---

    def pick(self, order: SbOrder) -> bool:
        if order.picking_started or not order.open:
            return False
        order.status = OrderStatus.PICKED
        order.modified = now()
        self.emit(LogiwaTopic.SO_STATUS_UPDATE, self._status_payload(order))
        return True

    def ship(self, order: SbOrder) -> dict[str, Any] | None:
        """Label, stock out of the warehouse, then the webhooks: status, tracking, shipment info."""
        if not order.open:
            return None
        self.timers.cancel(order.code)
        order.status = OrderStatus.SHIPPED
        order.carrier = order.carrier or self.knobs.value.carrier
        order.tracking = [self._tracking_number()]
        order.shipped_at = order.modified = now()
        levels = self.stock.setdefault(order.warehouse, {})
        for _, sku, quantity in order.lines:
            levels[sku] = max(0, levels.get(sku, 0) - quantity)
        self.emit(LogiwaTopic.SO_STATUS_UPDATE, self._status_payload(order))
        self.emit(
            LogiwaTopic.SHIPMENT_TRACKING_INFO,
            {
                "LogiwaOrderNumber": order.code,
                "OrderCode": order.code,
                "CustomerOrderNumber": order.body.get("CustomerOrderNo"),
                "CarrierTrackingNumber": order.tracking[0],
                "CanceledTrackingNumber": None,
                "CarrierRate": 7.85,
                "Carrier": order.carrier,
            },
        )
        self.emit(
            LogiwaTopic.ORDER_SHIPMENT_INFO,
            {
                **self._scope(order),
                "LogiwaOrderId": order.id,
                "OrderCode": order.code,
                "CustomerOrderNumber": order.body.get("CustomerOrderNo"),
                "ShipmentDate": order.shipped_at,
                "Carrier": order.carrier,
                "CarrierTrackingNumber": ",".join(order.tracking),
                "Details": [
                    {"InventoryItemCode": sku, "PackQuantity": quantity, "CuQuantity": quantity}
                    for _, sku, quantity in order.lines
                ],
            },
        )
        return order.record(self.depositor, True)

    def _tracking_number(self) -> str:
        serial = next(self._serial)
        digits = string.digits
        return "1Z" + "".join(digits[(serial * 7 + k * 3) % 10] for k in range(16))

    # --- stock ---

    def available(self, warehouse: str, sku: str) -> int:
        open_here = [o for o in self.orders.values() if o.open and o.warehouse == warehouse]
        held = sum(q for o in open_here for _, s, q in o.lines if s == sku)
        return max(0, self.stock.get(warehouse, {}).get(sku, 0) - held)

    def items(self, body: Any) -> list[dict[str, Any]]:
        query = body if isinstance(body, dict) else {}
        rows = []
        for warehouse, levels in sorted(self.stock.items()):
            for sku, on_hand in sorted(levels.items()):
                if query.get("Code") not in (None, "", sku):
                    continue
                rows.append(
                    {
                        "ID": abs(hash((warehouse, sku))) % 10_000_000,
                        "Code": sku,
                        "Description": sku,
                        "DepositorCode": self.depositor,
                        "WarehouseCode": warehouse,
                        "StockQuantity": on_hand,
                        "AvailableStockQuantity": self.available(warehouse, sku),
                    }
                )
        return rows

    # --- webhooks ---

    def _scope(self, order: SbOrder) -> dict[str, Any]:
        return {"ClientKey": self.depositor, "Client": self.depositor, "WarehouseId": 1, "Warehouse": order.warehouse}

    def _status_payload(self, order: SbOrder) -> dict[str, Any]:
        return {
            **self._scope(order),
            "LogiwaOrderId": order.id,
            "LogiwaOrderNumber": order.code,
            "CustomerOrderNumber": order.body.get("CustomerOrderNo"),
            "Depositor": self.depositor,
            "CurrentShipmentOrderStatus": order.status.value,
        }

    def emit(self, topic: str, payload: dict[str, Any]) -> None:
        knobs = self.knobs.value
        self.sender.emit(
            self.options.webhook_url,
            topic,
            json.dumps(payload).encode(),
            {"Content-Type": "application/json", self.token_header: self.webhook_token, TOPIC_HEADER: topic},
            duplicate=knobs.duplicate_deliveries,
            deliver=knobs.deliver_webhooks,
        )
