"""ShipBob's payloads: products, order lines, orders and their shipments as the dated API
returns them, and how a split order's lines are divided between two shipments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.shipbob.mapping import OrderStatus, ShipmentStatus


@dataclass
class Product:
    id: int
    inventory_id: int
    sku: str
    name: str


@dataclass
class Line:
    product: Product
    quantity: int
    external_line_id: int | None


@dataclass
class SbShipment:
    id: int
    order: SbOrder
    center: int
    center_name: str
    lines: list[Line]
    created: str
    status: ShipmentStatus = ShipmentStatus.PROCESSING
    stage: str | None = None
    tracking: dict[str, Any] | None = None
    updated: str | None = None
    fulfilled_at: str | None = None
    delivered_at: str | None = None

    @property
    def pending(self) -> bool:
        return self.status is ShipmentStatus.PROCESSING

    @property
    def shipped(self) -> bool:
        return self.status in (ShipmentStatus.LABELED_CREATED, ShipmentStatus.COMPLETED)

    def to_json(self) -> dict[str, Any]:
        body = self.order.body
        details = (
            [{"id": 1, "name": self.stage, "description": f"Shipment is {self.stage.lower()}"}] if self.stage else []
        )
        return {
            "id": self.id,
            "order_id": self.order.id,
            "reference_id": self.order.reference_id,
            "recipient": {
                "name": body["recipient"].get("name"),
                "full_name": body["recipient"].get("name"),
                "address": body["recipient"].get("address"),
                "email": body["recipient"].get("email"),
                "phone_number": body["recipient"].get("phone_number"),
            },
            "created_date": self.created,
            "last_update_at": self.updated or self.created,
            "last_tracking_update_at": self.fulfilled_at,
            "status": self.status.value,
            "status_details": details,
            "location": {"id": self.center, "name": self.center_name},
            "invoice_amount": None,
            "invoice_currency_code": None,
            "insurance_value": None,
            "ship_option": body.get("shipping_method"),
            "tracking": self.tracking,
            "products": [
                {
                    "id": line.product.id,
                    "reference_id": line.product.sku,
                    "sku": line.product.sku,
                    "name": line.product.name,
                    "inventory_items": [
                        {
                            "id": line.product.inventory_id,
                            "name": line.product.name,
                            "quantity": line.quantity,
                            "quantity_committed": line.quantity,
                            "lot": None,
                            "expiration_date": None,
                            "serial_numbers": [],
                            "is_dangerous_goods": False,
                        }
                    ],
                }
                for line in self.lines
            ],
            "measurements": None,
            "package_material_type": "Unknown",
            "parent_cartons": None,
            "require_signature": False,
            "gift_message": body.get("gift_message"),
            "estimated_fulfillment_date": None,
            "estimated_fulfillment_date_status": "PendingOnTime" if self.pending else "FulfilledOnTime",
            "actual_fulfillment_date": self.fulfilled_at,
            "delivery_date": self.delivered_at,
            "is_tracking_uploaded": False,
        }


@dataclass
class SbOrder:
    id: int
    reference_id: str
    channel_id: int
    channel_name: str
    body: dict[str, Any]
    lines: list[Line]
    created: str
    shipments: list[SbShipment] = field(default_factory=list)

    @property
    def status(self) -> OrderStatus:
        live = [s for s in self.shipments if s.status is not ShipmentStatus.CANCELLED]
        if not live:
            return OrderStatus.CANCELLED
        shipped = sum(1 for s in live if s.shipped)
        if shipped == len(live):
            return OrderStatus.FULFILLED
        return OrderStatus.PARTIALLY_FULFILLED if shipped else OrderStatus.PROCESSING

    def to_json(self) -> dict[str, Any]:
        body = self.body
        return {
            "id": self.id,
            "created_date": self.created,
            "purchase_date": body.get("purchase_date"),
            "reference_id": self.reference_id,
            "order_number": body.get("order_number") or self.reference_id,
            "status": self.status.value,
            "type": body.get("type"),
            "channel": {"id": self.channel_id, "name": self.channel_name},
            "shipping_method": body.get("shipping_method"),
            "recipient": body.get("recipient"),
            "products": [
                {
                    "id": line.product.id,
                    "reference_id": line.product.sku,
                    "sku": line.product.sku,
                    "quantity": line.quantity,
                    "external_line_id": line.external_line_id,
                    "unit_price": None,
                    "gtin": None,
                    "upc": None,
                    "quantity_unit_of_measure_code": None,
                }
                for line in self.lines
            ],
            "tags": body.get("tags") or [],
            "financials": body.get("financials") or {"total_price": None},
            "gift_message": body.get("gift_message"),
            "retailer_program_data": body.get("retailer_program_data"),
            "shipping_terms": body.get("shipping_terms"),
            "shipments": [s.to_json() for s in self.shipments],
        }


def split_lines(lines: list[Line]) -> tuple[list[Line], list[Line]]:
    """Two non-empty parts of `lines` (two units or more): the first half of the units in line
    order, the rest in the second part."""
    take = sum(line.quantity for line in lines) // 2
    first: list[Line] = []
    second: list[Line] = []
    for line in lines:
        now = min(take, line.quantity)
        take -= now
        if now:
            first.append(Line(line.product, now, line.external_line_id))
        if line.quantity - now:
            second.append(Line(line.product, line.quantity - now, line.external_line_id))
    return first, second
