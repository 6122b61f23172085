"""A flat-file channel's settings (`settings:` of its block in `orderloop.yaml`): where the
folders are on the exchange, the file format and layout, and the column names both sides use."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from connectors.base import channel_settings
from orderloop.config import ChannelConfig


class FileFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


class Layout(StrEnum):
    # One row per order line, the request's fields repeated on each.
    UNWIND = "unwind"
    # One row per request, one group of line columns per line (`sku_1`, `quantity_1`, `sku_2` ...).
    FLAT = "flat"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderColumns(_Strict):
    """The outbound order file's column per field (rename any; a field set to null is left out)."""

    request_id: str = "request_id"
    order_id: str | None = "order_id"
    channel: str | None = "channel"
    created_at: str | None = "created_at"
    shipping_code: str | None = "ship_method"
    name: str | None = "ship_to_name"
    company: str | None = "ship_to_company"
    address1: str | None = "ship_to_address1"
    address2: str | None = "ship_to_address2"
    city: str | None = "ship_to_city"
    state: str | None = "ship_to_state"
    postal_code: str | None = "ship_to_postal_code"
    country: str | None = "ship_to_country"
    phone: str | None = "ship_to_phone"
    email: str | None = "ship_to_email"
    # Line fields (in the flat layout each gets the line's number as a suffix: `sku_1`).
    line_id: str | None = "line_id"
    sku: str = "sku"
    quantity: str = "quantity"


class ShipmentColumns(_Strict):
    """The inbound shipment file's columns: one row per shipped line; rows with the same request
    and tracking number are one parcel."""

    request_id: str = "request_id"
    sku: str = "sku"
    quantity: str = "quantity"
    tracking_number: str = "tracking_number"
    carrier: str | None = "carrier"
    tracking_url: str | None = "tracking_url"
    shipped_at: str | None = "shipped_at"


class InventoryColumns(_Strict):
    """The inbound inventory snapshot file's columns: one row per SKU (and location)."""

    sku: str = "sku"
    on_hand: str = "on_hand"
    available: str | None = "available"
    # The partner's warehouse code, mapped to our locations by `warehouses` (null: one location).
    location: str | None = None


class FlatFileSettings(_Strict):
    # The SFTP user (its password or key is a credential).
    username: str
    format: FileFormat = FileFormat.CSV
    layout: Layout = Layout.UNWIND
    # The most lines a flat-layout row carries (its header has this many groups).
    flat_max_lines: int = Field(default=10, gt=0, le=100)
    csv_delimiter: str = Field(default=",", min_length=1, max_length=1)
    # Folders on the exchange, relative to the SFTP user's root (`root`).
    root: str = "/"
    orders_folder: str = "outbound/orders"
    cancels_folder: str = "outbound/cancels"
    shipments_folder: str = "inbound/shipments"
    inventory_folder: str = "inbound/inventory"
    archive_folder: str = "archive"
    error_folder: str = "error"
    order_columns: OrderColumns = OrderColumns()
    shipment_columns: ShipmentColumns = ShipmentColumns()
    inventory_columns: InventoryColumns = InventoryColumns()
    # Partner warehouse code -> Orderloop location id (inventory files' `location` column).
    warehouses: dict[str, str] = Field(default_factory=dict)
    connect_timeout_seconds: float = Field(default=15.0, gt=0)
    operation_timeout_seconds: float = Field(default=60.0, gt=0)

    @property
    def extension(self) -> str:
        return f".{self.format}"


def settings_of(channel: ChannelConfig) -> FlatFileSettings:
    return channel_settings(channel, FlatFileSettings)
