"""The ERP's own side of a NetSuite selling instance in the sandbox, on the same account store:
sales orders its users enter (`POST /_sandbox/orders`, from the demo's onX-shaped order body:
Pending Fulfillment, no external id unless one is given), cancelled in the UI, and the item
fulfillment an integration makes from a sales order (`POST /services/rest/record/v1/salesOrder/
{id}/!transform/itemFulfillment`), with NetSuite's refusals in its `o:errorDetails` body: an
order with nothing left to fulfil (closed, cancelled, fulfilled) cannot be transformed, a line
the order does not have is `INVALID_KEY_OR_REF`, units beyond a line's remaining ones and an
external id already used are `USER_ERROR`. Lines the body leaves out are not fulfilled (the
connector names every open line, so the account's "fulfil all lines" default does not matter)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from connectors.netsuite.mapping import RecordType
from connectors.netsuite.sandbox.account import (
    CURRENCIES,
    Account,
    FulfillmentStatus,
    SbFulfillment,
    SbLine,
    SbOrder,
    now_text,
)
from connectors.netsuite.sandbox.auth import error

_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]+$")


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class EnteredName(_Camel):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


class EnteredAddress(_Camel):
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state_or_province: str | None = None
    zip_code_or_postal_code: str | None = None
    country: str | None = None
    phone: str | None = None


class EnteredLine(_Camel):
    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    unit_price: float | None = None
    name: str | None = None


class EnteredOrder(_Camel):
    """What a sales rep types into the sales order form (the demo's order body): `externalId`
    becomes the customer's PO (`otherRefNum`); `netsuiteExternalId` gives the record an external
    id, as an integration (Orderloop's fulfillment role: `OL-...`) would."""

    external_id: str | None = None
    netsuite_external_id: str | None = None
    currency: str = "USD"
    customer: EnteredName | None = None
    shipping_address: EnteredAddress = Field(default_factory=EnteredAddress)
    line_items: list[EnteredLine] = Field(min_length=1)
    memo: str | None = None


def enter_order(acc: Account, given: EnteredOrder) -> SbOrder:
    """A sales order entered in the ERP, Pending Fulfillment, at the account's location."""
    currency = next((i for i, code in CURRENCIES.items() if code == given.currency.upper()), None)
    if currency is None:
        raise error(400, "Bad Request", f"Invalid 'currency' reference key {given.currency!r}.", "INVALID_KEY_OR_REF")
    if given.netsuite_external_id is not None and not _EXTERNAL_ID.match(given.netsuite_external_id):
        raise error(400, "Bad Request", "An external ID is letters, numbers, '_' and '-'.", "INVALID_ID")
    location = min(acc.locations)
    address, who = given.shipping_address, given.customer or EnteredName()
    name = " ".join(p for p in (who.first_name or address.first_name, who.last_name or address.last_name) if p)
    internal = next(acc.ids)
    lines = [
        SbLine(
            n + 1,
            acc.item_id(line.sku),
            line.sku,
            line.quantity,
            location,
            description=line.name,
            line_id=next(acc.line_ids),
            rate=line.unit_price,
        )
        for n, line in enumerate(given.line_items)
    ]
    addressee = " ".join(p for p in (address.first_name, address.last_name) if p) or address.company
    country = (address.country or "US").upper()
    header: dict[str, Any] = {
        "entity": {"id": str(acc.customer), "refName": name or "Walk-in customer"},
        "email": who.email,
        "location": {"id": str(location), "refName": f"Location {location}"},
        "currency": {"id": str(currency), "refName": given.currency.upper()},
        "otherRefNum": given.external_id,
        "memo": given.memo,
        "shippingAddress": {
            "addressee": addressee,
            "attention": address.company if addressee != address.company else None,
            "addr1": address.address1,
            "addr2": address.address2,
            "city": address.city,
            "state": address.state_or_province,
            "zip": address.zip_code_or_postal_code,
            "country": {"id": country, "refName": country},
            "addrPhone": address.phone,
        },
    }
    order = SbOrder(
        internal,
        RecordType.SALES_ORDER,
        given.netsuite_external_id,
        f"SO{internal}",
        header,
        lines,
        location,
        currency=currency,
    )
    acc.orders[internal] = order
    if given.netsuite_external_id is not None:
        acc.by_external[(RecordType.SALES_ORDER, given.netsuite_external_id)] = internal
    return order


def cancel(order: SbOrder) -> SbOrder:
    """Cancelled in the ERP's UI (status C): only before anything is fulfilled."""
    if any(line.fulfilled for line in order.lines):
        raise error(400, "Bad Request", "You cannot cancel a sales order that is fulfilled.", "USER_ERROR")
    order.cancelled = True
    order.modified = now_text()
    return order


def transform(acc: Account, order: SbOrder, target: str, body: Any) -> SbFulfillment:
    """`!transform/itemFulfillment` of a sales order: the lines named by `orderLine` with
    `itemReceive` true, their `quantity` (default: the line's remaining units), the `package`
    list's tracking numbers, `shipStatus`, `tranDate`, `externalId`."""
    if target != "itemFulfillment" or order.record is not RecordType.SALES_ORDER:
        raise error(400, "Bad Request", f"Transformation to {target!r} is not allowed.", "INVALID_TRANSFORM")
    if not isinstance(body, dict):
        raise error(400, "Bad Request", "The request body must be a JSON object.", "INVALID_CONTENT")
    if order.cancelled or not any(line.remaining for line in order.lines):
        raise error(
            400, "Bad Request", f"You can not initialize itemfulfillment: invalid reference {order.id}.", "USER_ERROR"
        )
    external = body.get("externalId")
    if external is not None and (not isinstance(external, str) or not _EXTERNAL_ID.match(external)):
        raise error(400, "Bad Request", "An external ID is letters, numbers, '_' and '-'.", "INVALID_ID")
    if external is not None and external in acc.fulfillments_by_external:
        raise error(
            400,
            "Bad Request",
            "A record with this external ID already exists.",
            "USER_ERROR",
            **{"o:errorPath": "externalId"},
        )
    sublist = body.get("item")
    items = sublist.get("items") if isinstance(sublist, dict) else None
    by_line = {line.line: line for line in order.lines}
    picks: list[tuple[SbLine | None, str, int]] = []
    for n, raw in enumerate(items if isinstance(items, list) else []):
        number = raw.get("orderLine") if isinstance(raw, dict) else None
        line = by_line.get(number) if isinstance(number, int) else None
        if line is None:
            raise error(
                400,
                "Bad Request",
                f"Invalid 'orderLine' reference key {number!r}.",
                "INVALID_KEY_OR_REF",
                **{"o:errorPath": f"item.items[{n}].orderLine"},
            )
        if raw.get("itemReceive") is False:
            continue
        quantity = raw.get("quantity", line.remaining)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity <= line.remaining:
            raise error(
                400,
                "Bad Request",
                f"You can not fulfill more than the remaining quantity of {line.sku} on {order.tran_id}.",
                "USER_ERROR",
                **{"o:errorPath": f"item.items[{n}].quantity"},
            )
        picks.append((line, line.sku, quantity))
    if not picks:
        raise error(400, "Bad Request", "You must enter at least one line item for this transaction.", "USER_ERROR")
    packages = body.get("package")
    listed = packages.get("items") if isinstance(packages, dict) else None
    tracking = [
        str(p["packageTrackingNumber"])
        for p in (listed if isinstance(listed, list) else [])
        if isinstance(p, dict) and p.get("packageTrackingNumber")
    ]
    ship_status = body.get("shipStatus")
    try:
        status = FulfillmentStatus(str(ship_status.get("id")) if isinstance(ship_status, dict) else "C")
    except ValueError:
        raise error(400, "Bad Request", f"Invalid 'shipStatus' value {ship_status!r}.", "INVALID_FLD_VALUE") from None
    tran_date = body.get("tranDate") if isinstance(body.get("tranDate"), str) else None
    return acc.record_fulfillment(order, picks, tracking, status, external_id=external, tran_date=tran_date)
