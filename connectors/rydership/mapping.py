"""RyderShip (Whiplash V2) payloads <-> the canonical model: a `ShippingRequest` becomes a
Whiplash order (flat `shipping_*` fields, `order_items_attributes`, our request id as
`order_orig` and `originator_attributes.original_id`), a shipped Whiplash order (status 300,
`tracking[]`, `ship_method`, `shipped_on`, `order_items[]`) becomes one `Shipment`, and item
warehouse quantities become `StockRow`s for our locations (settings map each location to one
Whiplash warehouse id)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import IntEnum
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.base import MappingError, StockRow, channel_settings
from connectors.json_values import integer, text, utc_time
from connectors.locations import LocationMap, check_one_location_each
from orderloop.config import ChannelConfig
from orderloop.model import Address, Shipment, ShipmentLine, ShippingRequest

# Prefix of our `Shipment.id`: Whiplash ships one parcel per order, named by the order id.
SHIPMENT_ID_PREFIX = "rydership-"


class OrderStatus(IntEnum):
    """Whiplash order status codes (`status`, with `status_name`). 300 = shipped is documented
    by the webhook examples; the others are assumed [?] (Whiplash's UI names)."""

    CANCELLED = 35
    PAUSED = 40
    PROCESSING = 100
    PICKED = 150
    PACKED = 160
    SHIPPED = 300
    DELIVERED = 350


STATUS_NAMES = {
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.PAUSED: "Paused",
    OrderStatus.PROCESSING: "Processing",
    OrderStatus.PICKED: "Picked",
    OrderStatus.PACKED: "Packed",
    OrderStatus.SHIPPED: "Shipped",
    OrderStatus.DELIVERED: "Delivered",
}


class RyderShipSettings(BaseModel):
    """`channels[].settings` of a RyderShip channel in `orderloop.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Orderloop location id -> Whiplash warehouse id (required: stock is per warehouse).
    warehouses: dict[str, int] = Field(min_length=1)
    # The token endpoint when it is not `{base_url}/oauth/token`.
    token_url: str | None = None
    default_shipping_method: str = Field(default="Ground", min_length=1)
    # Orderloop shipping code -> `shop_shipping_method_text`; unlisted codes are sent as they are.
    shipping_methods: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_location_per_warehouse(self) -> RyderShipSettings:
        check_one_location_each(self.warehouses, "warehouse")
        return self

    @cached_property
    def locations(self) -> LocationMap[int]:
        """Our locations <-> Whiplash warehouse ids."""
        return LocationMap(self.warehouses, "RyderShip")

    def shipping_method_for(self, code: str | None) -> str:
        code = (code or "").strip()
        return self.shipping_methods.get(code, code) if code else self.default_shipping_method


def settings_of(channel: ChannelConfig) -> RyderShipSettings:
    return channel_settings(channel, RyderShipSettings)


def order_body(request: ShippingRequest, settings: RyderShipSettings) -> dict[str, Any]:
    """`POST /api/v2/orders`: the flat shipping fields and the items; our request id twice."""
    address = request.shipping_address
    missing = address.missing_fields()
    if missing:
        raise MappingError(f"shipping address lacks {', '.join(missing)}")
    name = " ".join(p for p in (address.first_name, address.last_name) if p) or address.company or ""
    return {
        "order_orig": request.id,
        "originator_attributes": {"original_id": request.id, "group_id": request.order_id},
        "warehouse_id": settings.locations.warehouse_of(request.location_id),
        "shipping_name": name,
        "shipping_company": address.company,
        "shipping_address_1": address.address1,
        "shipping_address_2": address.address2,
        "shipping_city": address.city,
        "shipping_state": address.state_or_province,
        "shipping_zip": address.zip_code_or_postal_code,
        "shipping_country_iso2": address.country,
        "shipping_phone": address.phone,
        "email": address.email,
        "shop_shipping_method_text": settings.shipping_method_for(request.shipping_code),
        "order_items_attributes": [
            {"sku": line.sku, "quantity": line.quantity, "originator_id": line.line_id} for line in request.line_items
        ],
    }


def address_of(order: Mapping[str, Any]) -> Address:
    """Where a Whiplash order ships to now (its flat `shipping_*` fields), for the hand-edit check."""
    return Address(
        company=text(order.get("shipping_company")),
        address1=text(order.get("shipping_address_1")),
        address2=text(order.get("shipping_address_2")),
        city=text(order.get("shipping_city")),
        state_or_province=text(order.get("shipping_state")),
        zip_code_or_postal_code=text(order.get("shipping_zip")),
        country=text(order.get("shipping_country_iso2")),
        phone=text(order.get("shipping_phone")),
    )


def status_of(order: Mapping[str, Any]) -> int | None:
    return integer(order.get("status"))


def status_name(order: Mapping[str, Any]) -> str:
    status = status_of(order)
    named = next((name for code, name in STATUS_NAMES.items() if code == status), None)
    return str(order.get("status_name") or named or status)


def is_cancelled(order: Mapping[str, Any]) -> bool:
    return status_of(order) == OrderStatus.CANCELLED


def is_shipped(order: Mapping[str, Any]) -> bool:
    status = status_of(order)
    return status is not None and status >= OrderStatus.SHIPPED


def is_picked(order: Mapping[str, Any]) -> bool:
    """Past the point Whiplash cancels: picked, packed or shipped."""
    status = status_of(order)
    return status is not None and status >= OrderStatus.PICKED


def request_id_of(order: Mapping[str, Any]) -> str | None:
    originator = order.get("originator")
    original = originator.get("original_id") if isinstance(originator, Mapping) else None
    return text(order.get("order_orig")) or text(original)


def shipment_id(order: Mapping[str, Any]) -> str:
    return f"{SHIPMENT_ID_PREFIX}{order.get('id')}"


def shipment_from_order(order: Mapping[str, Any], settings: RyderShipSettings, channel_id: str) -> Shipment:
    """A shipped Whiplash order -> its one parcel (all its tracking numbers)."""
    if integer(order.get("id")) is None:
        raise MappingError("order id is missing")
    request_id = request_id_of(order)
    if not request_id:
        raise MappingError(f"order {order.get('id')}: order_orig (Orderloop's shipping request id) is missing")
    lines = []
    for item in order.get("order_items") or []:
        sku = text(item.get("sku")) if isinstance(item, Mapping) else None
        quantity = integer(item.get("quantity")) if isinstance(item, Mapping) else None
        if not sku or quantity is None or quantity < 0:
            raise MappingError(f"order {order.get('id')}: an order item needs a sku and a quantity, got {item!r}")
        if quantity:
            lines.append(ShipmentLine(sku=sku, quantity=quantity, line_id=text(item.get("originator_id"))))
    if not lines:
        raise MappingError(f"order {order.get('id')}: no order items shipped")
    tracking = [str(t) for t in order.get("tracking") or [] if t]
    links = [str(t) for t in order.get("tracking_links") or [] if t]
    return Shipment(
        id=shipment_id(order),
        shipping_request_id=request_id,
        fulfillment_channel_id=channel_id,
        location_id=settings.locations.location_of(integer(order.get("warehouse_id"))),
        line_items=lines,
        tracking_numbers=tracking,
        shipping_carrier=text(order.get("ship_method")),
        tracking_url=links[0] if links else None,
        shipped_at=utc_time(order.get("shipped_on")),
    )


def stock_rows(quantities: Iterable[tuple[str, Any]], settings: RyderShipSettings) -> list[StockRow]:
    """(sku, `GET /items/{id}/warehouse_quantities` row) pairs -> rows for our locations; a
    warehouse no location maps keeps a `rydership-wh-<id>` ref, for the ledger to report."""
    rows = []
    for sku, row in quantities:
        if not isinstance(row, Mapping):
            raise MappingError(f"item {sku!r}: a warehouse quantity must be an object, got {row!r}")
        on_hand = integer(row.get("quantity"))
        if on_hand is None:
            raise MappingError(f"item {sku!r}: quantity must be an integer, got {row.get('quantity')!r}")
        available = integer(row.get("available"))
        warehouse = integer(row.get("warehouse_id"))
        rows.append(
            StockRow(
                sku=sku,
                on_hand=on_hand,
                available=available,
                committed=None if available is None else max(0, on_hand - available),
                location_ref=settings.locations.location_of(warehouse) or f"rydership-wh-{warehouse}",
            )
        )
    return rows
