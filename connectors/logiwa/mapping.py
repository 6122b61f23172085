"""Logiwa payloads <-> the canonical model: a `ShippingRequest` becomes one shipment order of
`InsertShipmentOrder` (our request id is its `Code`), an order record of `WarehouseOrderSearch`
becomes a `Shipment` once Logiwa shipped it, and `InventoryItemSearch` rows become `StockRow`s.

Logiwa knows warehouses and depositors (the brand is a depositor, "client", of the 3PL):
the channel's settings name the depositor and map each Orderloop location it serves to one
Logiwa warehouse code, both ways. Dates travel as `MM.dd.yyyy HH:mm:ss` (LogiwaSharp's format).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors.base import MappingError, StockRow, channel_settings
from connectors.json_values import integer, text
from connectors.locations import LocationMap, check_one_location_each
from connectors.signing import json_type
from orderloop.config import ChannelConfig, ConfigError
from orderloop.model import Address, Shipment, ShipmentLine, ShippingRequest

# Prefix of our `Shipment.id`: Logiwa's order id alone could collide with another channel's.
SHIPMENT_ID_PREFIX = "logiwa-"
DATE_FORMAT = "%m.%d.%Y %H:%M:%S"
# InsertShipmentOrder's documented limits.
ORDERS_PER_CALL = 50
LINES_PER_ORDER = 400


class OrderStatus(StrEnum):
    """`WarehouseOrderStatusCode` of a shipment order, in the order a warehouse moves it [?: the
    codes are Logiwa's UI names; the API publishes no enumeration]."""

    ENTERED = "Entered"
    APPROVED = "Approved"
    ALLOCATED = "Allocated"
    PICKING = "Picking Started"
    PICKED = "Picked"
    PACKED = "Packed"
    SHIPPED = "Shipped"
    CANCELLED = "Cancelled"


# Past these a cancel is refused: the warehouse has the units in hand.
PICKED_STATUSES = frozenset({OrderStatus.PICKING, OrderStatus.PICKED, OrderStatus.PACKED, OrderStatus.SHIPPED})


class Tier(StrEnum):
    """The API user's type, which sets its request limits."""

    STANDARD = "standard"
    ENTERPRISE = "enterprise"
    PREMIUM = "premium"


# (requests per second, requests per minute) of each tier, from Logiwa's rate-limit page.
TIER_LIMITS: dict[Tier, tuple[float, int]] = {
    Tier.STANDARD: (1.0, 60),
    Tier.ENTERPRISE: (1000 / 113, 530),
    Tier.PREMIUM: (1000 / 50, 1200),
}


class LogiwaSettings(BaseModel):
    """`channels[].settings` of a Logiwa channel in `orderloop.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The brand as Logiwa's depositor (client) code: every order is created under it.
    depositor_code: str = Field(min_length=1)
    # Orderloop location id -> Logiwa warehouse code (at least one).
    warehouses: dict[str, str] = Field(min_length=1)
    # The API user's tier; its per-second and per-minute limits pace the channel's queue.
    tier: Tier = Tier.STANDARD
    # The token host (`https://{env}api.logiwa.com/token`); default `{base_url}/token`.
    token_url: str | None = None
    # `WarehouseOrderType` of the orders we create.
    order_type: str = Field(default="Customer Order", min_length=1)
    # Orderloop shipping code -> Logiwa carrier; unlisted codes go as they are.
    carriers: dict[str, str] = Field(default_factory=dict)
    # Header of the token the brand configures on its webhook subscriptions (Logiwa signs nothing).
    webhook_token_header: str = Field(default="X-Orderloop-Token", min_length=1)

    def pace(self) -> float:
        """Requests per second the tier allows over a minute (the stricter of its two limits)."""
        per_second, per_minute = TIER_LIMITS[self.tier]
        return min(per_second, per_minute / 60)

    @model_validator(mode="after")
    def _one_location_per_warehouse(self) -> LogiwaSettings:
        check_one_location_each(self.warehouses, "warehouse")
        return self

    @cached_property
    def locations(self) -> LocationMap[str]:
        """Our locations <-> Logiwa warehouse codes."""
        return LocationMap(self.warehouses, "Logiwa")


def settings_of(channel: ChannelConfig) -> LogiwaSettings:
    settings = channel_settings(channel, LogiwaSettings)
    pace = settings.pace()
    if channel.rate_limit_per_second is None or channel.rate_limit_per_second > pace + 1e-9:
        raise ConfigError(
            f"channel {channel.id!r} (logiwa): rate_limit_per_second must be set to at most {pace:.3g}, "
            f"the {settings.tier} tier's pace (Logiwa throttles above it)"
        )
    return settings


def logiwa_date(value: datetime) -> str:
    return value.astimezone(UTC).strftime(DATE_FORMAT)


def parse_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    for pattern in (DATE_FORMAT, "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(value.strip()[:19], pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


# --- out: the shipment order -----------------------------------------------------------------------


def order_body(request: ShippingRequest, settings: LogiwaSettings) -> dict[str, Any]:
    """One shipment order of `InsertShipmentOrder`'s list. Over Logiwa's 400 lines the request is
    refused here (`MappingError`), never truncated: splitting it would make several Logiwa orders
    of one request, which nothing could cancel or count as one."""
    if len(request.line_items) > LINES_PER_ORDER:
        raise MappingError(
            f"{len(request.line_items)} lines: Logiwa takes at most {LINES_PER_ORDER} lines an order; "
            "split the order's lines over several locations or shipping requests"
        )
    code = (request.shipping_code or "").strip()
    return {
        "Code": request.id,
        "DepositorCode": settings.depositor_code,
        "WarehouseCode": settings.locations.warehouse_of(request.location_id),
        "WarehouseOrderType": settings.order_type,
        "OrderDate": logiwa_date(request.created_at),
        "CustomerOrderNo": request.external_order_id,
        "ChannelOrderCode": request.order_id,
        "Carrier": settings.carriers.get(code, code) or None,
        **shipping_address(request.shipping_address),
        "Details": [
            {"InventoryItemCode": line.sku, "InventoryItemPackType": "Each", "PackQuantity": line.quantity}
            for line in request.line_items
        ],
    }


def shipping_address(address: Address) -> dict[str, Any]:
    """The customer's address in the order record's own field names; what Logiwa requires is left
    for it to refuse, so the operator sees Logiwa's reason."""
    name = " ".join(p for p in (address.first_name, address.last_name) if p and p.strip())
    lines = ", ".join(p for p in (address.address1, address.address2) if p and p.strip())
    return {
        "CustomerShippingAddressDescription": name or address.company or "",
        "CompanyName": address.company,
        "CustomerShippingAddressText": lines,
        "CustomerShippingAddressCityDescription": address.city,
        "CustomerShippingAddressStateDescription": address.state_or_province,
        "CustomerShippingAddressPostalCode": address.zip_code_or_postal_code,
        "CustomerShippingAddressCountryDescription": address.country,
        "CustomerShippingAddressEmail": address.email,
        "CustomerShippingAddressPhone": address.phone,
    }


# --- in: order records and shipments ----------------------------------------------------------------


def status_of(record: Mapping[str, Any]) -> str:
    return str(record.get("WarehouseOrderStatusCode") or "")


def is_shipped(record: Mapping[str, Any]) -> bool:
    return status_of(record) == OrderStatus.SHIPPED


def is_cancelled(record: Mapping[str, Any]) -> bool:
    return status_of(record) == OrderStatus.CANCELLED


def is_picked(record: Mapping[str, Any]) -> bool:
    """Past cancelling: picking began (the record's flag or its status)."""
    return bool(record.get("IsPickingStarted")) or status_of(record) in PICKED_STATUSES


def shipment_id(logiwa_order_id: Any) -> str | None:
    raw = text(logiwa_order_id)
    return f"{SHIPMENT_ID_PREFIX}{raw}" if raw else None


def shipment_from_record(record: Any, settings: LogiwaSettings, fulfillment_channel_id: str | None = None) -> Shipment:
    """A shipped order record (`WarehouseOrderSearch` with `IsGetOrderDetails`) -> `Shipment`.
    Logiwa ships a shipment order as one shipment (its labels are its parcels' tracking
    numbers), so the shipment's id is the order's `ID`, the same whoever reports it."""
    if not isinstance(record, Mapping):
        raise MappingError(f"an order record must be a JSON object, not {json_type(record)}")
    our_id = shipment_id(record.get("ID"))
    request_id = text(record.get("Code"))
    if our_id is None or request_id is None:
        raise MappingError("order record without ID or Code")
    lines = _lines(record.get("DetailInfo"), request_id, "InventoryItemInfo", "ShippedCuQuantity")
    return _shipment(our_id, request_id, record, lines, settings, fulfillment_channel_id, record.get("ActualShipDate"))


def shipment_from_webhook(
    payload: Mapping[str, Any], settings: LogiwaSettings, fulfillment_channel_id: str | None = None
) -> Shipment:
    """An "Order Shipment Info" delivery -> the `Shipment` it claims. Only a hint: the connector
    confirms it against the order record before anything acts on it."""
    our_id = shipment_id(payload.get("LogiwaOrderId"))
    request_id = text(payload.get("OrderCode"))
    if our_id is None or request_id is None:
        raise MappingError("Order Shipment Info without LogiwaOrderId or OrderCode")
    lines = _lines(payload.get("Details"), request_id, "InventoryItemCode", "CuQuantity")
    record = {"WarehouseCode": payload.get("Warehouse"), **payload}
    return _shipment(our_id, request_id, record, lines, settings, fulfillment_channel_id, payload.get("ShipmentDate"))


def _shipment(
    our_id: str,
    request_id: str,
    record: Mapping[str, Any],
    lines: list[ShipmentLine],
    settings: LogiwaSettings,
    fulfillment_channel_id: str | None,
    shipped_at: Any,
) -> Shipment:
    tracking = [t.strip() for t in str(record.get("CarrierTrackingNumber") or "").split(",") if t.strip()]
    try:
        return Shipment(
            id=our_id,
            shipping_request_id=request_id,
            fulfillment_channel_id=fulfillment_channel_id,
            location_id=settings.locations.location_of(text(record.get("WarehouseCode"))),
            line_items=lines,
            tracking_numbers=tracking,
            shipping_carrier=text(record.get("CarrierDescription")) or text(record.get("Carrier")),
            shipped_at=parse_date(shipped_at),
        )
    except ValidationError as exc:
        raise MappingError("; ".join(e["msg"] for e in exc.errors()[:3])) from None


def _lines(details: Any, order: str, sku_key: str, quantity_key: str) -> list[ShipmentLine]:
    if not isinstance(details, list) or not details:
        raise MappingError(f"order {order}: no detail lines")
    lines = []
    for i, detail in enumerate(details):
        if not isinstance(detail, Mapping):
            raise MappingError(f"order {order}: detail {i} is not an object")
        sku = text(detail.get(sku_key))
        if sku is None:
            raise MappingError(f"order {order}: detail {i} has no {sku_key}")
        quantity = integer(detail.get(quantity_key))
        if quantity:
            lines.append(ShipmentLine(sku=sku, quantity=quantity))
    if not lines:
        raise MappingError(f"order {order}: no detail has a shipped quantity")
    return lines


# --- in: stock --------------------------------------------------------------------------------------


def stock_rows(items: Iterable[Any], settings: LogiwaSettings) -> list[StockRow]:
    """`InventoryItemSearch` rows (one per item and warehouse) -> rows for our locations. A
    warehouse no location maps keeps a `logiwa-wh-<code>` ref, for the ledger to report."""
    rows = []
    for item in items:
        if not isinstance(item, Mapping) or not text(item.get("Code")):
            raise MappingError(f"an inventory item must be an object with a Code, got {item!r}")
        sku = str(item["Code"]).strip()
        warehouse = text(item.get("WarehouseCode"))
        on_hand = integer(item.get("StockQuantity"))
        available = integer(item.get("AvailableStockQuantity"))
        if on_hand is None:
            got = item.get("StockQuantity")
            raise MappingError(f"inventory {sku!r}: StockQuantity must be an integer, got {got!r}")
        rows.append(
            StockRow(
                sku=sku,
                on_hand=on_hand,
                available=available,
                committed=None if available is None else max(0, on_hand - available),
                location_ref=settings.locations.location_of(warehouse) or f"logiwa-wh-{warehouse}",
            )
        )
    return rows
