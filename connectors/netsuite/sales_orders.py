"""NetSuite sales orders entered in the ERP <-> the canonical model, for the selling instance:
its settings (which statuses are meant for Orderloop), the payload a poll hands the order
workflow (the record service's sales order, its status letter and currency code from SuiteQL,
its items' names), the `Order` mapped from it, and the item fulfillment body that records a
shipment on it (`!transform/itemFulfillment`).

The order's external id is NetSuite's internal id, not its `tranId`: the internal id is the key
of every record-service URL (the transform, the close, a read back all need it; a `tranId`
would need a lookup first), is unique in the account and never changes, while a `tranId` is a
document number an administrator may renumber (auto-numbering prefixes, manual numbers) and is
unique only per transaction type. The `tranId` is kept as the order's `name` (what people in
the ERP call it) and as the custom field `netsuiteTranId`."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from connectors.base import MappingError, channel_settings, validated_order
from connectors.json_values import integer, money, text, utc_time
from connectors.netsuite.mapping import EXTERNAL_ID_PREFIX, NetSuiteAccess
from orderloop.config import ChannelConfig
from orderloop.model import Order, Shipment

# Saved-search status values of a sales order (`SalesOrd:<letter>`); SuiteQL's
# `transaction.status` holds the letter alone.
PENDING_FULFILLMENT = "SalesOrd:B"
# Statuses read as the ERP's cancel of an order: C cancelled, H closed (every line closed).
CANCELLED_LETTERS = frozenset({"C", "H"})
_STATUS = re.compile(r"^SalesOrd:([A-H])$")
# External ids of the item fulfillments we create: `OLF-` and our shipment id in base32, so a
# retried push finds the one it made (`GET itemFulfillment/eid:...`).
FULFILLMENT_EXTERNAL_PREFIX = "OLF-"
# An item fulfillment entered as shipped (A picked, B packed, C shipped).
SHIPPED = "C"


class NetSuiteSellingSettings(NetSuiteAccess):
    """`channels[].settings` of a NetSuite selling channel (`role: selling`): the account, and
    which sales orders entered in the ERP are meant for Orderloop."""

    # The statuses whose orders Orderloop ships, as NetSuite's saved searches name them
    # (`SalesOrd:B` Pending Fulfillment); cancelled (C) and closed (H) orders are always read
    # too, as cancels of the orders Orderloop accepted.
    statuses: list[str] = Field(default_factory=lambda: [PENDING_FULFILLMENT], min_length=1)

    @field_validator("statuses")
    @classmethod
    def _statuses(cls, value: list[str]) -> list[str]:
        wrong = [s for s in value if not _STATUS.match(s)]
        if wrong:
            raise ValueError(f"a sales order status is SalesOrd:<A-H> (SalesOrd:B Pending Fulfillment), got {wrong}")
        return value

    def letters(self) -> set[str]:
        """The status letters the poll asks for: the configured ones and the cancels."""
        return {status.split(":", 1)[1] for status in self.statuses} | CANCELLED_LETTERS


def selling_settings_of(channel: ChannelConfig) -> NetSuiteSellingSettings:
    return channel_settings(channel, NetSuiteSellingSettings)


def own_order(external_id: str | None) -> bool:
    """Whether a sales order is one Orderloop entered as the fulfillment role (its external id
    is ours: `OL-` and a request id): never an order to sell, whatever its status."""
    return bool(external_id) and str(external_id).startswith(EXTERNAL_ID_PREFIX)


# --- the payload of a polled order ------------------------------------------------------------


def payload(record: Mapping[str, Any], row: Mapping[str, Any], items: Mapping[int, str]) -> dict[str, Any]:
    """What the order workflow maps: the sales order as the record service answers it (with
    its sublists), its status letter and currency code from the SuiteQL row, and the name
    (`itemid`) of each item its lines reference."""
    used = {str(i): items[i] for i in line_item_ids(record) if i in items}
    return {
        "salesOrder": dict(record),
        "status": text(row.get("status")),
        "currency": text(row.get("currency")),
        "items": used,
    }


def line_item_ids(record: Mapping[str, Any]) -> set[int]:
    """The item internal ids the record's item lines reference."""
    found = set()
    for raw in _lines(record):
        ref = raw.get("item")
        item = integer(ref.get("id")) if isinstance(ref, Mapping) else None
        if item is not None:
            found.add(item)
    return found


def is_cancelled(raw: Mapping[str, Any]) -> bool:
    return raw.get("status") in CANCELLED_LETTERS


def _lines(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    sublist = record.get("item")
    items = sublist.get("items") if isinstance(sublist, Mapping) else None
    return [line for line in items if isinstance(line, Mapping)] if isinstance(items, list) else []


def _ref_name(value: Any) -> str | None:
    return text(value.get("refName")) if isinstance(value, Mapping) else text(value)


def _ref_id(value: Any) -> str | None:
    return text(value.get("id")) if isinstance(value, Mapping) else text(value)


# --- the order --------------------------------------------------------------------------------


def map_order(
    raw: Mapping[str, Any], *, order_id: str, tenant_id: str, channel_id: str, received_at: datetime
) -> Order:
    """A polled payload (`payload`) -> `Order`: one line per open item line (its `line` the
    line id, the item's `itemid` the SKU, the units not yet fulfilled, the `rate` the unit
    price), the shipping address subrecord, the customer (`entity`, `email`), the currency's
    ISO code, the record's created and last-modified times."""
    record = raw.get("salesOrder") if isinstance(raw, Mapping) else None
    if not isinstance(record, Mapping):
        raise MappingError("a NetSuite sales order payload has `salesOrder`, the record the record service answers")
    internal = text(record.get("id"))
    if internal is None or not internal.isdigit():
        raise MappingError(f"the sales order has no internal id, got {record.get('id')!r}")
    if own_order(text(record.get("externalId"))):
        raise MappingError(f"sales order {internal} was entered by Orderloop (external id {record.get('externalId')})")
    names = raw.get("items") if isinstance(raw.get("items"), Mapping) else {}
    currency = text(raw.get("currency"))
    lines = []
    for n, line in enumerate(_lines(record)):
        where = f"item.items[{n}]"
        number, item = integer(line.get("line")), _ref_id(line.get("item"))
        quantity, fulfilled = integer(line.get("quantity")), integer(line.get("quantityFulfilled")) or 0
        if number is None or item is None or quantity is None:
            raise MappingError(f"{where} needs line, item and quantity, got {dict(line)!r}")
        if line.get("isClosed") is True or quantity - fulfilled <= 0:
            continue
        sku = text(names.get(item)) if isinstance(names, Mapping) else None
        if sku is None:
            raise MappingError(f"{where}: item {item} has no itemid (the SKU) in the payload")
        lines.append(
            {
                "id": str(number),
                "external_id": str(number),
                "sku": sku,
                "quantity": quantity - fulfilled,
                "unit_price": money(line.get("rate"), f"{where}.rate"),
                "name": text(line.get("description")) or _ref_name(line.get("item")),
            }
        )
    if not lines:
        raise MappingError(f"sales order {internal} has no open item line to ship")
    entity, email = record.get("entity"), text(record.get("email"))
    created = utc_time(record.get("createdDate")) or received_at
    tran_id = text(record.get("tranId"))
    custom = [{"name": "netsuiteTranId", "value": tran_id}] if tran_id else []
    fields: dict[str, Any] = {
        "id": order_id,
        "external_id": internal,
        "tenant_id": tenant_id,
        "channel_id": channel_id,
        "created_at": created,
        "updated_at": utc_time(record.get("lastModifiedDate")) or created,
        "name": tran_id or internal,
        "status": text(raw.get("status")),
        "currency": currency,
        "customer": {
            "external_id": _ref_id(entity),
            "email": email,
            **_names(_ref_name(entity)),
        }
        if entity or email
        else None,
        "line_items": lines,
        "shipping_address": _address(record.get("shippingAddress"), email),
        "order_note": text(record.get("memo")),
        "order_source": "netsuite",
        "custom_fields": custom,
    }
    return validated_order(fields)


def _names(full: str | None) -> dict[str, str | None]:
    if not full:
        return {}
    first, _, last = full.partition(" ")
    return {"first_name": first, "last_name": last or None}


def _address(raw: Any, email: str | None) -> dict[str, Any] | None:
    """The `shippingAddress` subrecord (`addressee`, `attention`, `addr1`, `addr2`, `city`,
    `state`, `zip`, `country` as an enum reference `{"id": "US"}` or its code, `addrPhone`):
    the attention line is the person where it is given, the addressee then the company."""
    if not isinstance(raw, Mapping):
        return None
    addressee, attention = text(raw.get("addressee")), text(raw.get("attention"))
    person, company = (attention, addressee) if attention else (addressee, None)
    return {
        **_names(person),
        "company": company,
        "address1": text(raw.get("addr1")),
        "address2": text(raw.get("addr2")),
        "city": text(raw.get("city")),
        "state_or_province": text(raw.get("state")),
        "zip_code_or_postal_code": text(raw.get("zip")),
        "country": _ref_id(raw.get("country")),
        "phone": text(raw.get("addrPhone")),
        "email": email,
    }


# --- the item fulfillment of a shipment -------------------------------------------------------


def fulfillment_external_id(shipment_id: str) -> str:
    """`OLF-` and the shipment id in unpadded base32 (letters and digits, as NetSuite's
    external ids allow)."""
    return FULFILLMENT_EXTERNAL_PREFIX + base64.b32encode(shipment_id.encode()).decode().rstrip("=")


def fulfillment_body(order: Order, shipment: Shipment, record: Mapping[str, Any]) -> dict[str, Any]:
    """The body of `POST /record/v1/salesOrder/{id}/!transform/itemFulfillment`: every open line
    of the order (`orderLine`), those the shipment carries with `itemReceive` and their units,
    the others `itemReceive: false` (whatever the account's default for lines left out), one
    package per tracking number, shipped. A shipment line is matched by its order line id (our
    line ids are NetSuite's `line`), else by SKU; one the order has no open units for is a
    `MappingError`."""
    remaining: dict[int, int] = {}
    for line in _lines(record):
        number, quantity = integer(line.get("line")), integer(line.get("quantity"))
        if number is not None and quantity is not None and line.get("isClosed") is not True:
            remaining[number] = max(0, quantity - (integer(line.get("quantityFulfilled")) or 0))
    by_sku = {ln.sku: integer(ln.id) for ln in order.line_items}
    wanted: dict[int, int] = {}
    for item in shipment.line_items:
        number = integer(item.line_id) if item.line_id is not None else by_sku.get(item.sku)
        if number is None or remaining.get(number, 0) < wanted.get(number, 0) + item.quantity:
            raise MappingError(
                f"sales order {order.external_id} has no {item.quantity} open units of {item.sku} "
                f"(line {item.line_id or '?'}) to fulfil"
            )
        wanted[number] = wanted.get(number, 0) + item.quantity
    lines = [
        {"orderLine": number, "itemReceive": True, "quantity": wanted[number]}
        if number in wanted
        else {"orderLine": number, "itemReceive": False}
        for number in sorted(remaining)
        if remaining[number] > 0 or number in wanted
    ]
    body: dict[str, Any] = {
        "externalId": fulfillment_external_id(shipment.id),
        "shipStatus": {"id": SHIPPED},
        "memo": f"Orderloop shipment {shipment.id}",
        "item": {"items": lines},
        "package": {
            "items": [
                {"packageTrackingNumber": number, "packageDescr": shipment.shipping_carrier or "Parcel"}
                for number in shipment.tracking_numbers
            ]
        },
    }
    if shipment.shipped_at is not None:
        body["tranDate"] = shipment.shipped_at.date().isoformat()
    return body
