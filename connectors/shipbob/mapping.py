"""ShipBob payloads <-> the canonical model: a `ShippingRequest` becomes a ShipBob order (our
request id is its `reference_id`), ShipBob shipments become `Shipment`s, and inventory levels
grouped by fulfillment center become `StockRow`s for our locations.

ShipBob knows fulfillment centers, Orderloop knows locations: the channel's settings map each
Orderloop location served by this channel to one ShipBob fulfillment center id, both ways.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors.base import MappingError, ShippingRequirements, StockRow, channel_settings
from connectors.json_values import integer, text
from connectors.locations import LocationMap, check_one_location_each
from connectors.signing import json_type
from orderloop.config import ChannelConfig
from orderloop.model import Address, Shipment, ShipmentLine, ShippingRequest

DEFAULT_API_VERSION = "2026-01"
# Prefix of our `Shipment.id`: ShipBob's shipment id alone could collide with another channel's.
SHIPMENT_ID_PREFIX = "shipbob-"


class ShipmentStatus(StrEnum):
    """ShipBob's shipment statuses (`Orders.OrderStatusEnum`)."""

    NONE = "None"
    PROCESSING = "Processing"
    COMPLETED = "Completed"
    EXCEPTION = "Exception"
    ON_HOLD = "OnHold"
    CANCELLED = "Cancelled"
    CLEAN_SWEEPED = "CleanSweeped"
    LABELED_CREATED = "LabeledCreated"
    IMPORT_REVIEW = "ImportReview"


class OrderStatus(StrEnum):
    """ShipBob's order statuses (`Orders.OrderStatus`)."""

    PROCESSING = "Processing"
    EXCEPTION = "Exception"
    PARTIALLY_FULFILLED = "PartiallyFulfilled"
    FULFILLED = "Fulfilled"
    CANCELLED = "Cancelled"
    IMPORT_REVIEW = "ImportReview"


# A shipment has tracking once its label exists: "LabeledCreated", quickly followed by "Completed"
# (ShipBob's tracking guide says to accept both). Its logistics webhooks spell it "LabelCreated".
SHIPPED_STATUSES = frozenset({ShipmentStatus.LABELED_CREATED.value, "LabelCreated", ShipmentStatus.COMPLETED.value})


class ShipBobSettings(BaseModel):
    """`channels[].settings` of a ShipBob channel in `orderloop.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The ShipBob channel (from `GET /channel`, the one with write scope) orders are created in.
    channel_id: int = Field(gt=0)
    # Dated API version in every path.
    api_version: str = Field(default=DEFAULT_API_VERSION, pattern=r"^\d{4}-\d{2}$")
    # Orderloop location id -> ShipBob fulfillment center id. Empty: ShipBob chooses the center
    # and stock is reported as one total per SKU.
    fulfillment_centers: dict[str, int] = Field(default_factory=dict)
    # Sent when a request has no shipping code.
    default_shipping_method: str = Field(default="Standard", min_length=1)
    # Orderloop shipping code -> ShipBob ship method name; unlisted codes are sent as they are
    # (ShipBob creates the ship method and defaults it to Standard until the merchant maps it).
    shipping_methods: dict[str, str] = Field(default_factory=dict)
    # Send the SKU as product `name`, so ShipBob creates products it does not know instead of
    # refusing the order (off: an unknown SKU is a rejected request Orderloop can act on).
    create_unknown_products: bool = False

    @model_validator(mode="after")
    def _one_location_per_center(self) -> ShipBobSettings:
        why = "; stock could not be attributed to one location"
        check_one_location_each(self.fulfillment_centers, "fulfillment center", why)
        return self

    @cached_property
    def locations(self) -> LocationMap[int]:
        """Our locations <-> ShipBob's fulfillment centers (none mapped: ShipBob chooses)."""
        return LocationMap(self.fulfillment_centers, "ShipBob", "fulfillment center")

    def shipping_method_for(self, shipping_code: str | None) -> str:
        code = (shipping_code or "").strip()
        if not code:
            return self.default_shipping_method
        return self.shipping_methods.get(code, code)


def settings_of(channel: ChannelConfig) -> ShipBobSettings:
    return channel_settings(channel, ShipBobSettings)


# --- out: the order body ------------------------------------------------------------------------


# The tag packaging notes go in: ShipBob's own create-order example tags an order
# `{"name": "Handling instructions", "value": "Fragile"}` (developer.shipbob.com/api-reference/
# 1.0/orders/create-order; the dated API keeps `tags[{name, value}]`).
HANDLING_TAG = "Handling instructions"


def order_body(
    request: ShippingRequest, settings: ShipBobSettings, requirements: ShippingRequirements | None = None
) -> dict[str, Any]:
    """The body of `POST /{version}/order`. `external_line_id` numbers the lines (ShipBob takes an
    integer there); shipments name products by SKU only, so nothing relies on it coming back.

    The selling channel's requirements: its ship method for the 3PL is the `shipping_method`
    (ShipBob maps it to a Ship Option, which picks the carrier and service: ShipBob's create
    order takes no carrier of a DTC order, so a carrier requirement is met by routing to a
    center whose `carriers` have it and by that Ship Option); packaging notes are the
    "Handling instructions" tag."""
    products: list[dict[str, Any]] = []
    for number, line in enumerate(request.line_items, start=1):
        product: dict[str, Any] = {"reference_id": line.sku, "quantity": line.quantity, "external_line_id": number}
        if settings.create_unknown_products:
            product["name"] = line.sku
        products.append(product)
    body: dict[str, Any] = {
        "reference_id": request.id,
        "order_number": request.external_order_id,
        "type": "DTC",
        "shipping_method": (requirements.method if requirements else None)
        or settings.shipping_method_for(request.shipping_code),
        "purchase_date": request.created_at.isoformat(),
        "recipient": recipient(request.shipping_address),
        "products": products,
        "tags": [
            {"name": "orderloop_order_id", "value": request.order_id},
            {"name": "orderloop_location_id", "value": request.location_id},
        ],
    }
    if requirements is not None and requirements.packaging_notes:
        body["tags"].append({"name": HANDLING_TAG, "value": requirements.packaging_notes})
    center = settings.locations.warehouse_if_mapped(request.location_id)
    if center is not None:
        body["location_id"] = center
    return body


def recipient(address: Address) -> dict[str, Any]:
    """ShipBob's `recipient`; what ShipBob requires (name, address1, city, country) is left for it
    to refuse, so the reason an operator sees is ShipBob's own."""
    name = " ".join(part for part in (address.first_name, address.last_name) if part and part.strip())
    return {
        "name": name or address.company or "",
        "address": {
            "address1": address.address1,
            "address2": address.address2,
            "city": address.city,
            "state": address.state_or_province,
            "zip_code": address.zip_code_or_postal_code,
            "country": address.country,
            "company_name": address.company,
        },
        "email": address.email,
        "phone_number": address.phone,
    }


# --- in: shipments ------------------------------------------------------------------------------


def is_shipped(shipment: Any) -> bool:
    return isinstance(shipment, Mapping) and shipment.get("status") in SHIPPED_STATUSES


def shipment_id(data: Mapping[str, Any]) -> str | None:
    raw = text(data.get("id"))
    return f"{SHIPMENT_ID_PREFIX}{raw}" if raw else None


def shipment_from_shipbob(
    data: Any,
    settings: ShipBobSettings,
    fulfillment_channel_id: str | None = None,
    reference_id: str | None = None,
) -> Shipment:
    """A ShipBob shipment (`Orders.ShipmentViewModel`, also the body of its shipment webhooks) ->
    `Shipment`. The shipment's `reference_id` is its order's, i.e. our shipping request id;
    `reference_id` fills it in when the caller already knows it.

    The status is not checked: a delivery may carry a snapshot older or newer than the label, and
    the caller decides (the topic, or `is_shipped` when polling)."""
    if not isinstance(data, Mapping):
        raise MappingError(f"a shipment must be a JSON object, not {json_type(data)}")
    our_id = shipment_id(data)
    if our_id is None:
        raise MappingError("shipment id is missing")
    request_id = text(data.get("reference_id")) or reference_id
    if request_id is None:
        raise MappingError(f"shipment {data.get('id')}: reference_id (Orderloop's shipping request id) is missing")
    tracking = _object(data.get("tracking"))
    location = _object(data.get("location"))
    try:
        return Shipment(
            id=our_id,
            shipping_request_id=request_id,
            fulfillment_channel_id=fulfillment_channel_id,
            location_id=settings.locations.location_of(integer(location.get("id"))),
            line_items=_shipped_lines(data.get("products"), data.get("id")),
            tracking_numbers=_tracking_numbers(tracking),
            shipping_carrier=text(tracking.get("carrier")),
            tracking_url=text(tracking.get("tracking_url")),
            shipped_at=_first_datetime(
                data.get("actual_fulfillment_date"),
                tracking.get("shipping_date"),
                data.get("last_update_at"),
                data.get("created_date"),
            ),
        )
    except ValidationError as exc:
        raise MappingError("; ".join(e["msg"] for e in exc.errors()[:3])) from None


def _shipped_lines(products: Any, shipment: Any) -> list[ShipmentLine]:
    if not isinstance(products, list) or not products:
        raise MappingError(f"shipment {shipment}: products must be a non-empty array")
    lines = []
    for i, product in enumerate(products):
        if not isinstance(product, Mapping):
            raise MappingError(f"shipment {shipment}: products[{i}] is not an object")
        sku = text(product.get("reference_id")) or text(product.get("sku"))
        if sku is None:
            raise MappingError(f"shipment {shipment}: products[{i}] has no reference_id or sku")
        quantity = product_quantity(product)
        if quantity:
            lines.append(ShipmentLine(sku=sku, quantity=quantity))
    if not lines:
        raise MappingError(f"shipment {shipment}: no product has a shipped quantity")
    return lines


def product_quantity(product: Mapping[str, Any]) -> int:
    """Units of a product in a shipment. ShipBob counts inventory items, not products: a plain
    product has one inventory item whose quantity is the product's; for a bundle (several items)
    the smallest component count is taken, exact when a bundle holds one of its rarest component."""
    explicit = integer(product.get("quantity"))
    if explicit is not None:
        return max(0, explicit)
    items = product.get("inventory_items")
    listed = items if isinstance(items, list) else []
    counts = [integer(item.get("quantity")) for item in listed if isinstance(item, Mapping)]
    known = [c for c in counts if c is not None]
    return max(0, min(known)) if known else 0


def _tracking_numbers(tracking: Mapping[str, Any]) -> list[str]:
    number = text(tracking.get("tracking_number")) or text(tracking.get("tracking_id"))
    if number:
        return [number]
    freight = text(tracking.get("pro_number")) or text(tracking.get("bol"))
    return [freight] if freight else []


# --- in: stock ----------------------------------------------------------------------------------


def stock_rows(items: Iterable[Any], settings: ShipBobSettings) -> list[StockRow]:
    """Inventory levels grouped by fulfillment center (`GET /{version}/inventory-level/locations`)
    -> rows. With centers mapped: one row per SKU and center, `location_ref` our location id (an
    unmapped center keeps a `shipbob-fc-<id>` ref so the ledger reports it instead of guessing).
    Without a mapping: one total per SKU and no `location_ref`."""
    rows: list[StockRow] = []
    totals: dict[str, list[int]] = {}
    for item in items:
        if not isinstance(item, Mapping) or not text(item.get("sku")):
            raise MappingError(f"an inventory level must be an object with a sku, got {item!r}")
        sku = str(item["sku"]).strip()
        locations = item.get("locations") or []
        if not isinstance(locations, list):
            raise MappingError(f"inventory {sku!r}: locations must be an array")
        for location in locations:
            if not isinstance(location, Mapping):
                raise MappingError(f"inventory {sku!r}: a location is not an object")
            quantities = [_quantity(location, key, sku) for key in _QUANTITY_KEYS]
            if not settings.fulfillment_centers:
                total = totals.setdefault(sku, [0, 0, 0, 0])
                for k, value in enumerate(quantities):
                    total[k] += value
                continue
            center = integer(location.get("location_id"))
            on_hand, fulfillable, committed, awaiting = quantities
            rows.append(
                StockRow(
                    sku=sku,
                    on_hand=on_hand,
                    available=fulfillable,
                    committed=committed,
                    inbound=awaiting,
                    location_ref=settings.locations.location_of(center) or f"shipbob-fc-{center}",
                )
            )
    for sku, (on_hand, fulfillable, committed, awaiting) in totals.items():
        rows.append(StockRow(sku=sku, on_hand=on_hand, available=fulfillable, committed=committed, inbound=awaiting))
    return rows


_QUANTITY_KEYS = ("on_hand_quantity", "fulfillable_quantity", "committed_quantity", "awaiting_quantity")


def _quantity(location: Mapping[str, Any], key: str, sku: str) -> int:
    value = location.get(key, 0)
    if value is None:
        return 0
    number = integer(value)
    if number is None:
        raise MappingError(f"inventory {sku!r}: {key} must be an integer, got {value!r}")
    return number


# --- small readers ------------------------------------------------------------------------------


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}

    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _first_datetime(*values: Any) -> datetime | None:
    for value in values:
        if isinstance(value, str) and value:
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            # ShipBob's timestamps are UTC, with or without an offset.
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
