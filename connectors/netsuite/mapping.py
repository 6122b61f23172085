"""NetSuite payloads <-> the canonical model: a `ShippingRequest` becomes a sales order (or a
transfer order) record body for the REST record service, keyed by an external id derived from
our request id; SuiteQL rows of item fulfillment lines (with the package list of each
fulfillment record) become `Shipment`s, each fulfillment one shipment; a fulfillment for an item
or a quantity the request did not have is found here (`overshipped`), never applied; SuiteQL
rows of `inventoryitemlocations` become `StockRow`s for our locations."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.base import MappingError, StockRow, channel_settings
from connectors.json_values import integer, text, utc_time
from connectors.locations import LocationMap, check_one_location_each
from orderloop.config import ChannelConfig
from orderloop.model import Shipment, ShipmentLine, ShippingRequest

# Prefix of our `Shipment.id`: one shipment per item fulfillment record, named by its internal id.
SHIPMENT_ID_PREFIX = "netsuite-if-"
# NetSuite external ids: letters, numbers, underscore and hyphen (Oracle, "Using External IDs").
# Ours are the request id in base32 (RFC 4648, unpadded): in that alphabet, and read back by the
# channel-wide shipment poll to find the order a fulfilment belongs to.
EXTERNAL_ID_PREFIX = "OL-"


class RecordType(StrEnum):
    """The record a shipping request becomes (the REST record service's names)."""

    SALES_ORDER = "salesOrder"
    TRANSFER_ORDER = "transferOrder"


class AuthMethod(StrEnum):
    TBA = "tba"  # token-based authentication: OAuth 1.0a, HMAC-SHA256, realm = account id
    M2M = "m2m"  # OAuth 2.0 client credentials with a JWT assertion signed by a certificate key


class NetSuiteAccess(BaseModel):
    """How one NetSuite account is reached, whichever role the channel plays: the account,
    the authentication, the governance limit, the SuiteQL page size (the client's settings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The account id: the realm of TBA signatures, `1234567` or `1234567_SB1` for a sandbox.
    account_id: str = Field(min_length=1)
    auth: AuthMethod = AuthMethod.TBA
    # The account's concurrency limit (governance): calls one worker has in flight at once.
    concurrency_limit: int = Field(default=5, ge=1, le=100)
    # SuiteQL page size (`limit`, at most 1000).
    page_size: int = Field(default=1000, ge=1, le=1000)
    # The M2M token endpoint when it is not `{base_url}/services/rest/auth/oauth2/v1/token`.
    token_url: str | None = None
    # M2M scopes (`rest_webservices` is what the record and query services need).
    scopes: list[str] = Field(default_factory=lambda: ["rest_webservices"])


class NetSuiteSettings(NetSuiteAccess):
    """`channels[].settings` of a NetSuite fulfillment channel in `orderloop.yaml`."""

    # Orderloop location id -> NetSuite location internal id.
    locations: dict[str, int] = Field(min_length=1)
    # The record a request becomes; a transfer order moves stock from `transfer_from` to the
    # request's location (the brand's setup where the fulfilment centre is its own location).
    record: RecordType = RecordType.SALES_ORDER
    # The customer (entity internal id) sales orders are entered for.
    customer: int | None = None
    subsidiary: int | None = None
    transfer_from: int | None = None
    # Orderloop shipping code -> NetSuite ship method (item internal id).
    ship_methods: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> NetSuiteSettings:
        check_one_location_each(self.locations, "location")
        if self.record is RecordType.SALES_ORDER and self.customer is None:
            raise ValueError("a sales order needs `customer` (the entity internal id orders are entered for)")
        if self.record is RecordType.TRANSFER_ORDER and self.transfer_from is None:
            raise ValueError("a transfer order needs `transfer_from` (the location internal id it ships from)")
        return self

    @cached_property
    def location_map(self) -> LocationMap[int]:
        return LocationMap(self.locations, "NetSuite", "location")


def settings_of(channel: ChannelConfig) -> NetSuiteSettings:
    return channel_settings(channel, NetSuiteSettings)


def external_id(request_id: str) -> str:
    """The record's external id: `OL-` and our request id in unpadded base32."""
    return EXTERNAL_ID_PREFIX + base64.b32encode(request_id.encode()).decode().rstrip("=")


def request_id_of(external: str | None) -> str | None:
    """Our request id back from a record's external id; None for a record not entered by us."""
    if not external or not external.startswith(EXTERNAL_ID_PREFIX):
        return None
    encoded = external[len(EXTERNAL_ID_PREFIX) :]
    try:
        return base64.b32decode(encoded + "=" * (-len(encoded) % 8)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def order_body(request: ShippingRequest, settings: NetSuiteSettings) -> dict[str, Any]:
    """The record body of `PUT /record/v1/{salesOrder|transferOrder}/eid:{id}`. Items are
    referenced by their external id, the SKU (how a brand's item import keys them)."""
    address = request.shipping_address
    missing = address.missing_fields()
    if missing:
        raise MappingError(f"shipping address lacks {', '.join(missing)}")
    location = settings.location_map.warehouse_of(request.location_id)
    lines = [
        {
            "item": {"externalId": line.sku},
            "quantity": line.quantity,
            "description": f"Orderloop line {line.line_id}",
        }
        for line in request.line_items
    ]
    if settings.record is RecordType.SALES_ORDER:
        body: dict[str, Any] = {
            "entity": {"id": str(settings.customer)},
            "location": {"id": str(location)},
        }
        for line in lines:
            line["location"] = {"id": str(location)}
    else:
        body = {
            "location": {"id": str(settings.transfer_from)},
            "transferLocation": {"id": str(location)},
        }
    if settings.subsidiary is not None:
        body["subsidiary"] = {"id": str(settings.subsidiary)}
    method = settings.ship_methods.get(request.shipping_code or "")
    if method is not None:
        body["shipMethod"] = {"id": str(method)}
    name = " ".join(p for p in (address.first_name, address.last_name) if p) or address.company or ""
    return {
        "externalId": external_id(request.id),
        "tranDate": request.created_at.date().isoformat(),
        "otherRefNum": request.external_order_id,
        "memo": f"Orderloop shipping request {request.id}",
        **body,
        "shippingAddress": {
            "addressee": name,
            "attention": address.company,
            "addr1": address.address1,
            "addr2": address.address2,
            "city": address.city,
            "state": address.state_or_province,
            "zip": address.zip_code_or_postal_code,
            "country": address.country,
            "addrPhone": address.phone,
        },
        "item": {"items": lines},
    }


# --- the record read back --------------------------------------------------------------------


@dataclass(frozen=True)
class OrderLine:
    """One item line of the sales (transfer) order as the record service shows it."""

    line: int
    sku: str
    quantity: int
    fulfilled: int
    closed: bool

    @property
    def remaining(self) -> int:
        return 0 if self.closed else max(0, self.quantity - self.fulfilled)


def order_lines(record: Mapping[str, Any]) -> list[OrderLine]:
    """The item lines of a record read with `expandSubResources=true`."""
    sublist = record.get("item")
    items = sublist.get("items") if isinstance(sublist, Mapping) else None
    lines = []
    for raw in items if isinstance(items, list) else []:
        if not isinstance(raw, Mapping):
            raise MappingError(f"an item line must be an object, got {raw!r}")
        ref = raw.get("item")
        sku = text(ref.get("externalId")) if isinstance(ref, Mapping) else None
        sku = sku or (text(ref.get("refName")) if isinstance(ref, Mapping) else None)
        line, quantity = integer(raw.get("line")), integer(raw.get("quantity"))
        if sku is None or line is None or quantity is None:
            raise MappingError(f"an item line needs line, item and quantity, got {raw!r}")
        fulfilled = integer(raw.get("quantityFulfilled")) or 0
        lines.append(OrderLine(line, sku, quantity, fulfilled, bool(raw.get("isClosed"))))
    return lines


def close_lines_body(lines: Iterable[OrderLine]) -> dict[str, Any]:
    """The `PATCH` body closing the given lines (`isClosed`), each named by its `line`."""
    return {"item": {"items": [{"line": line.line, "isClosed": True} for line in lines]}}


# --- fulfilments -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FulfillmentLine:
    fulfillment_id: int
    sku: str
    quantity: int
    location: int | None
    shipped_at: str | None
    tran_id: str | None
    # The order it was created from (`transactionline.createdfrom`) and that order's external id.
    order_id: int | None = None
    order_ref: str | None = None


def fulfillment_lines(rows: Iterable[Any]) -> list[FulfillmentLine]:
    """SuiteQL rows (`fulfillment, tranid, trandate, sku, quantity, location`) -> lines; an item
    fulfillment's line quantity is negative in `transactionline` (stock leaving), so its size is
    taken."""
    lines = []
    for row in rows:
        if not isinstance(row, Mapping):
            raise MappingError(f"a SuiteQL row must be an object, got {row!r}")
        fid, sku, quantity = integer(row.get("fulfillment")), text(row.get("sku")), integer(row.get("quantity"))
        if fid is None or sku is None or quantity is None:
            raise MappingError(f"a fulfillment line needs fulfillment, sku and quantity, got {dict(row)!r}")
        if quantity:
            location, tran_date, tran_id = (
                integer(row.get("location")),
                text(row.get("trandate")),
                text(row.get("tranid")),
            )
            order, ref = integer(row.get("salesorder")), text(row.get("orderref"))
            lines.append(FulfillmentLine(fid, sku, abs(quantity), location, tran_date, tran_id, order, ref))
    return lines


def by_fulfillment(lines: Iterable[FulfillmentLine]) -> dict[int, list[FulfillmentLine]]:
    grouped: dict[int, list[FulfillmentLine]] = {}
    for line in lines:
        grouped.setdefault(line.fulfillment_id, []).append(line)
    return dict(sorted(grouped.items()))


def ordered_units(request: ShippingRequest) -> dict[str, int]:
    units: dict[str, int] = {}
    for line in request.line_items:
        units[line.sku] = units.get(line.sku, 0) + line.quantity
    return units


def record_units(lines: Iterable[OrderLine]) -> dict[str, int]:
    """Units per SKU the record was entered with (closed lines included: what was ordered)."""
    units: dict[str, int] = {}
    for line in lines:
        units[line.sku] = units.get(line.sku, 0) + line.quantity
    return units


def overshipped(ordered: Mapping[str, int], lines: Iterable[FulfillmentLine]) -> tuple[set[int], list[str]]:
    """The fulfillments (internal ids, in id order) that would ship an item or a quantity the
    order (`ordered`: units per SKU) did not have, and what each exceeds; the fulfillments before
    stay within it."""
    left = dict(ordered)
    refused: set[int] = set()
    reasons: list[str] = []
    for fid, group in by_fulfillment(lines).items():
        wanted: dict[str, int] = {}
        for line in group:
            wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
        over = [
            f"{sku}: {qty} fulfilled where {left.get(sku, 0)} {'remain' if sku in left else 'were never ordered'}"
            for sku, qty in sorted(wanted.items())
            if qty > left.get(sku, 0)
        ]
        if over:
            refused.add(fid)
            reasons.append(f"item fulfillment {fid}: {'; '.join(over)}")
            continue
        for sku, qty in wanted.items():
            left[sku] -= qty
    return refused, reasons


def package_tracking(record: Mapping[str, Any]) -> list[str]:
    """The tracking numbers of an itemFulfillment record's package list (`package.items[]
    .packageTrackingNumber`; carrier-specific lists `packageUps`/`packageFedEx`/`packageUsps`
    carry `packageTrackingNumberUps` ... where the carrier integration is on)."""
    found: list[str] = []
    for sublist, key in (
        ("package", "packageTrackingNumber"),
        ("packageUps", "packageTrackingNumberUps"),
        ("packageFedEx", "packageTrackingNumberFedEx"),
        ("packageUsps", "packageTrackingNumberUsps"),
    ):
        block = record.get(sublist)
        items = block.get("items") if isinstance(block, Mapping) else None
        for package in items if isinstance(items, list) else []:
            number = text(package.get(key)) if isinstance(package, Mapping) else None
            if number and number not in found:
                found.append(number)
    return found


def shipment_id(fulfillment_id: int) -> str:
    return f"{SHIPMENT_ID_PREFIX}{fulfillment_id}"


def shipment_of(
    request_id: str,
    default_location: str | None,
    group: list[FulfillmentLine],
    record: Mapping[str, Any],
    settings: NetSuiteSettings,
    channel_id: str,
) -> Shipment:
    """One item fulfillment (its SuiteQL lines and its record's packages) -> one shipment of
    request `request_id`."""
    first = group[0]
    ship_method = record.get("shipMethod")
    carrier = text(ship_method.get("refName")) if isinstance(ship_method, Mapping) else None
    return Shipment(
        id=shipment_id(first.fulfillment_id),
        shipping_request_id=request_id,
        fulfillment_channel_id=channel_id,
        location_id=settings.location_map.location_of(first.location) or default_location,
        line_items=[ShipmentLine(sku=line.sku, quantity=line.quantity) for line in group],
        tracking_numbers=package_tracking(record),
        shipping_carrier=carrier,
        shipped_at=utc_time(record.get("tranDate")) or utc_time(first.shipped_at),
    )


# --- inventory -------------------------------------------------------------------------------


def stock_rows(rows: Iterable[Any], settings: NetSuiteSettings) -> list[StockRow]:
    """SuiteQL rows of `inventoryitemlocations` (`sku, location, onhand, committed, available`)
    -> rows for our locations; a location no Orderloop location maps keeps a `netsuite-loc-<id>`
    ref, for the ledger to report."""
    stock = []
    for row in rows:
        if not isinstance(row, Mapping):
            raise MappingError(f"a SuiteQL row must be an object, got {row!r}")
        sku, location = text(row.get("sku")), integer(row.get("location"))
        on_hand = integer(row.get("onhand"))
        if sku is None or location is None or on_hand is None:
            raise MappingError(f"an inventory row needs sku, location and onhand, got {dict(row)!r}")
        stock.append(
            StockRow(
                sku=sku,
                on_hand=on_hand,
                committed=integer(row.get("committed")),
                available=integer(row.get("available")),
                location_ref=settings.location_map.location_of(location) or f"netsuite-loc-{location}",
            )
        )
    return stock
