"""ShipHero payloads <-> the canonical model: a `ShippingRequest` becomes `order_create`'s
`CreateOrderInput` (our request id is its `partner_order_id`), a Shipment Update webhook (one per
package) or a polled shipment's shipping labels become `Shipment`s, and warehouse products or an
Inventory Update become `StockRow`s for our locations.

ShipHero knows warehouses, Orderloop knows locations: the channel's settings map each location
served by this channel to one ShipHero warehouse id, both ways. A parcel is a package (one
shipping label); its `Shipment.id` is the ShipHero shipment's id (`shipment_uuid` in webhooks)
with the package's tracking number, so the webhook and the poller name a parcel alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors.base import MappingError, StockRow, channel_settings
from connectors.json_values import integer, text, utc_time
from connectors.locations import LocationMap, check_one_location_each
from connectors.signing import json_type
from orderloop.config import ChannelConfig
from orderloop.model import Address, Shipment, ShipmentLine, ShippingRequest

SHIPMENT_ID_PREFIX = "shiphero-"


class FulfillmentStatus(StrEnum):
    """An order's `fulfillment_status` (ShipHero's built-in ones; accounts may add their own)."""

    PENDING = "pending"
    PARTIALLY_FULFILLED = "partially_fulfilled"
    FULFILLED = "fulfilled"
    CANCELED = "canceled"


class ShipHeroSettings(BaseModel):
    """`channels[].settings` of a ShipHero channel in `orderloop.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The store name orders are created under (ShipHero's `shop_name`); the retry lookup filters by it.
    shop_name: str = Field(default="Orderloop", min_length=1)
    # Orderloop location id -> ShipHero warehouse id (the GraphQL id). Empty: ShipHero allocates
    # and stock is one total per SKU.
    warehouses: dict[str, str] = Field(default_factory=dict)
    # A 3PL account acting for one of its customers.
    customer_account_id: str | None = None
    # The account's credit bucket (ShipHero: 4,004 credits restored at 60 a second).
    credits: int = Field(default=4004, gt=0)
    credits_per_second: float = Field(default=60.0, gt=0)
    # Longest wait for credits inside an activity; longer, the activity is retried after it.
    max_pacing_wait: float = Field(default=5.0, ge=0)
    # Orderloop shipping code -> ShipHero shipping method (`shipping_lines.method`).
    shipping_methods: dict[str, str] = Field(default_factory=dict)
    default_shipping_method: str = Field(default="Standard", min_length=1)
    # Returns (`connectors.shiphero.returns`): how the customer sends the parcel back
    # (`label_type`: SELF_RETURN, the channel or the customer arranges the label) and what
    # `return_create` requires of it, the parcel's dimensions as strings.
    return_label_type: Literal["FLAT_RATE", "FREE", "PAID", "SELF_RETURN"] = "SELF_RETURN"
    return_carrier: str = Field(default="Customer", min_length=1)
    return_method: str = Field(default="Self Return", min_length=1)
    return_dimensions: dict[str, str] = Field(
        default_factory=lambda: {"weight": "1", "height": "4", "width": "8", "length": "10"}
    )
    # The return statuses (compared without case) that mean the warehouse is done receiving:
    # ShipHero's defaults "Warehouse Complete" and "Complete"; an account may add its own.
    return_received_statuses: list[str] = Field(default_factory=lambda: ["warehouse complete", "complete"])

    def return_received(self, status: object) -> bool:
        return str(status or "").strip().lower() in {s.strip().lower() for s in self.return_received_statuses}

    @model_validator(mode="after")
    def _one_location_per_warehouse(self) -> ShipHeroSettings:
        check_one_location_each(self.warehouses, "warehouse")
        return self

    @cached_property
    def locations(self) -> LocationMap[str]:
        """Our locations <-> ShipHero warehouse ids (none mapped: ShipHero allocates)."""
        return LocationMap(self.warehouses, "ShipHero")

    def shipping_method_for(self, code: str | None) -> str:
        code = (code or "").strip()
        return self.shipping_methods.get(code, code) if code else self.default_shipping_method


def settings_of(channel: ChannelConfig) -> ShipHeroSettings:
    return channel_settings(channel, ShipHeroSettings)


# --- out: order_create ---------------------------------------------------------------------------


def order_input(request: ShippingRequest, settings: ShipHeroSettings) -> dict[str, Any]:
    """`CreateOrderInput` for a request. Amounts are "0.00": the selling channel keeps the money;
    ShipHero needs prices only for customs and insurance."""
    warehouse = settings.locations.warehouse_if_mapped(request.location_id)
    method = settings.shipping_method_for(request.shipping_code)
    lines = []
    for line in request.line_items:
        item: dict[str, Any] = {
            "sku": line.sku,
            "partner_line_item_id": f"{request.id}/{line.line_id}",
            "quantity": line.quantity,
            "price": "0.00",
            "product_name": line.sku,
            "fulfillment_status": FulfillmentStatus.PENDING.value,
            "quantity_pending_fulfillment": line.quantity,
        }
        if warehouse is not None:
            item["warehouse_id"] = warehouse
        lines.append(item)
    data: dict[str, Any] = {
        "order_number": request.external_order_id,
        "partner_order_id": request.id,
        "shop_name": settings.shop_name,
        "fulfillment_status": FulfillmentStatus.PENDING.value,
        "order_date": request.created_at.astimezone(UTC).isoformat(),
        "total_tax": "0.00",
        "total_discounts": "0.00",
        "email": request.shipping_address.email,
        "shipping_lines": {"title": method, "price": "0.00", "method": method},
        "shipping_address": address_input(request.shipping_address),
        "line_items": lines,
        "allow_partial": True,
        "tags": ["orderloop", f"orderloop-location:{request.location_id}"],
    }
    if settings.customer_account_id:
        data["customer_account_id"] = settings.customer_account_id
    return data


def address_input(address: Address) -> dict[str, Any]:
    """`CreateOrderAddressInput`; what ShipHero requires is left for it to refuse in its words."""
    country = (address.country or "").strip()
    return {
        "first_name": address.first_name,
        "last_name": address.last_name,
        "company": address.company,
        "address1": address.address1,
        "address2": address.address2,
        "city": address.city,
        "state": address.state_or_province,
        "state_code": address.state_or_province,
        "zip": address.zip_code_or_postal_code,
        "country": country or None,
        "country_code": country.upper() if len(country) == 2 else None,
        "email": address.email,
        "phone": address.phone,
    }


# --- in: shipments --------------------------------------------------------------------------------


def parcel_id(shipment_uuid: str, tracking_number: str | None, package: Any) -> str:
    return f"{SHIPMENT_ID_PREFIX}{shipment_uuid}-{tracking_number or f'package{package}'}"


def shipment_from_webhook(fulfillment: Any, settings: ShipHeroSettings, channel_id: str | None) -> Shipment:
    """The `fulfillment` of a Shipment Update webhook (one package of a shipment) -> `Shipment`."""
    if not isinstance(fulfillment, Mapping):
        raise MappingError(f"fulfillment must be a JSON object, not {json_type(fulfillment)}")
    uuid = text(fulfillment.get("shipment_uuid")) or text(fulfillment.get("shipment_id"))
    if uuid is None:
        raise MappingError("fulfillment.shipment_uuid is missing")
    request_id = text(fulfillment.get("partner_order_id"))
    if request_id is None:
        raise MappingError(f"shipment {uuid}: partner_order_id (Orderloop's shipping request id) is missing")
    package = fulfillment.get("package_number") or 1
    tracking = text(fulfillment.get("tracking_number"))
    packages = [p for p in fulfillment.get("packages") or [] if isinstance(p, Mapping)]
    this = next((p for p in packages if text(p.get("tracking_number")) == tracking), packages[0] if packages else {})
    items = [i for i in fulfillment.get("line_items") or [] if isinstance(i, Mapping)]
    in_package = [i for i in items if str(i.get("package")) == str(package)] or items
    return _shipment(
        parcel_id(uuid, tracking, package),
        request_id,
        channel_id,
        settings.locations.location_of(
            text(fulfillment.get("warehouse_uuid")) or text(fulfillment.get("warehouse_id"))
        ),
        [(text(i.get("sku")), i.get("quantity")) for i in in_package],
        tracking,
        text(this.get("carrier")) or text(fulfillment.get("shipping_carrier")),
        text(this.get("tracking_url")) or text(fulfillment.get("custom_tracking_url")),
        utc_time(fulfillment.get("created_at") or this.get("created_at")),
    )


def shipments_from_polled(
    shipment: Mapping[str, Any], request_id: str, settings: ShipHeroSettings, channel_id: str | None
) -> list[Shipment]:
    """A polled `Shipment` -> one `Shipment` per shipping label (package) with its line items."""
    uuid = text(shipment.get("id"))
    if uuid is None:
        raise MappingError("a polled shipment has no id")
    labels = [lb for lb in shipment.get("shipping_labels") or [] if isinstance(lb, Mapping)]
    items = [
        e["node"]
        for e in (shipment.get("line_items") or {}).get("edges") or []
        if isinstance(e, Mapping) and isinstance(e.get("node"), Mapping)
    ]
    parcels = []
    for number, label in enumerate(labels, start=1):
        status = str(label.get("status") or "valid").lower()
        if status in ("void", "voided", "refunded"):
            continue
        on_label = [i for i in items if i.get("shipping_label_id") == label.get("id")] or (
            items if len(labels) == 1 else []
        )
        parcels.append(
            _shipment(
                parcel_id(uuid, text(label.get("tracking_number")), number),
                request_id,
                channel_id,
                settings.locations.location_of(text(shipment.get("warehouse_id"))),
                [(text((i.get("line_item") or {}).get("sku")), i.get("quantity")) for i in on_label],
                text(label.get("tracking_number")),
                text(label.get("carrier")),
                text(label.get("tracking_url")),
                utc_time(label.get("created_date") or shipment.get("created_date")),
            )
        )
    return parcels


def _shipment(
    shipment_id: str,
    request_id: str,
    channel_id: str | None,
    location_id: str | None,
    items: list[tuple[str | None, Any]],
    tracking: str | None,
    carrier: str | None,
    url: str | None,
    at: datetime | None,
) -> Shipment:
    lines = []
    for sku, quantity in items:
        if sku is None:
            raise MappingError(f"shipment {shipment_id}: a line item has no sku")
        count = integer(quantity)
        if count is None or count < 0:
            raise MappingError(f"shipment {shipment_id}: {sku}: quantity must be a whole number, got {quantity!r}")
        if count:
            lines.append(ShipmentLine(sku=sku, quantity=count))
    if not lines:
        raise MappingError(f"shipment {shipment_id}: no line item has a shipped quantity")
    try:
        return Shipment(
            id=shipment_id,
            shipping_request_id=request_id,
            fulfillment_channel_id=channel_id,
            location_id=location_id,
            line_items=lines,
            tracking_numbers=[tracking] if tracking else [],
            shipping_carrier=carrier,
            tracking_url=url,
            shipped_at=at,
        )
    except ValidationError as exc:
        raise MappingError("; ".join(e["msg"] for e in exc.errors()[:3])) from None


# --- in: stock ------------------------------------------------------------------------------------


def stock_rows(products: Iterable[Any], settings: ShipHeroSettings) -> list[StockRow]:
    """Warehouse products -> rows: per SKU and warehouse with warehouses mapped (an unmapped one
    keeps a `shiphero-wh-<id>` ref for the ledger to report), else one total per SKU."""
    totals: dict[str, list[int]] = {}
    rows: list[StockRow] = []
    for product in products:
        if not isinstance(product, Mapping) or not text(product.get("sku")):
            raise MappingError(f"a warehouse product must be an object with a sku, got {product!r}")
        sku = str(product["sku"]).strip()
        on_hand, allocated, available = (_quantity(product, key, sku) for key in ("on_hand", "allocated", "available"))
        if not settings.warehouses:
            total = totals.setdefault(sku, [0, 0, 0])
            total[0] += on_hand
            total[1] += available
            total[2] += allocated
            continue
        warehouse = text(product.get("warehouse_id"))
        rows.append(
            StockRow(
                sku=sku,
                on_hand=on_hand,
                available=available,
                committed=allocated,
                location_ref=settings.locations.location_of(warehouse) or f"shiphero-wh-{warehouse}",
            )
        )
    rows.extend(StockRow(sku=s, on_hand=o, available=a, committed=c) for s, (o, a, c) in totals.items())
    return rows


def stock_from_inventory_update(inventory: Any, settings: ShipHeroSettings) -> list[StockRow]:
    """An Inventory Update webhook's `inventory[]`: the warehouse where the movement happened
    (`updated_warehouse`) with its absolute on-hand, so a late or repeated delivery sets, not adds."""
    if not isinstance(inventory, list):
        raise MappingError("inventory must be an array")
    rows = []
    for item in inventory:
        if not isinstance(item, Mapping) or not text(item.get("sku")):
            raise MappingError(f"an inventory entry must be an object with a sku, got {item!r}")
        sku = str(item["sku"]).strip()
        warehouse = item.get("updated_warehouse")
        if isinstance(warehouse, Mapping):
            on_hand = _quantity(warehouse, "on_hand", sku)
            ref = text(warehouse.get("warehouse_uuid")) or text(warehouse.get("warehouse_id"))
            location = settings.locations.location_of(ref) if settings.warehouses else None
            if settings.warehouses and location is None:
                location = f"shiphero-wh-{ref}"
            rows.append(StockRow(sku=sku, on_hand=on_hand, location_ref=location))
        else:
            rows.append(StockRow(sku=sku, on_hand=_quantity(item, "on_hand", sku)))
    return rows


# --- small readers --------------------------------------------------------------------------------


def _quantity(data: Mapping[str, Any], key: str, sku: str) -> int:
    value = data.get(key, 0)
    if value is None:
        return 0
    number = integer(value)
    if number is None:
        raise MappingError(f"inventory {sku!r}: {key} must be an integer, got {value!r}")
    return number
