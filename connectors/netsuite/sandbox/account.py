"""The state of one NetSuite account in the sandbox: its items, locations and customer (master
data a record must reference, or NetSuite refuses it with `INVALID_KEY_OR_REF`), sales and
transfer orders by internal id and by external id (an upsert by `eid:` creates once, then
updates), item fulfillments created from them (by control, as the warehouse enters them) with
their package lists, inventory per location (on hand; committed = the open order lines; available
= the difference), the account's concurrency limit (calls in flight beyond it answered 429
`CONCURRENCY_LIMIT_EXCEEDED`), and the tables SuiteQL reads."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import httpx
from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import SandboxOptions
from connectors.netsuite.mapping import AuthMethod, NetSuiteAccess, NetSuiteSettings, RecordType
from connectors.netsuite.sales_orders import NetSuiteSellingSettings
from connectors.netsuite.sandbox import suiteql
from connectors.netsuite.sandbox.auth import Gatekeeper, M2mCredentials, TbaCredentials, error, public_key_of
from connectors.sandbox_kit import SandboxState
from orderloop.model import ConnectorRole

SEED_STOCK = {"TSHIRT-BLK-M": 200, "TSHIRT-WHT-M": 200, "MUG-11OZ": 120, "POSTER-A2": 40, "HOODIE-GRY-L": 60}
_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_TRANSACTION_TYPES = {RecordType.SALES_ORDER: "SalesOrd", RecordType.TRANSFER_ORDER: "TrnfrOrd"}
_PREFIXES = {RecordType.SALES_ORDER: "SO", RecordType.TRANSFER_ORDER: "TO"}
# A selling instance's account: the customer and the location the ERP's own orders are entered
# for and at (its settings name none: Orderloop enters nothing there), and its currency.
ERP_CUSTOMER = 1301
ERP_LOCATION = 1
CURRENCIES = {1: "USD", 2: "CAD", 3: "EUR", 4: "GBP"}


class FulfillmentStatus(StrEnum):
    """`shipStatus` of an item fulfillment: picked, packed, shipped."""

    PICKED = "A"
    PACKED = "B"
    SHIPPED = "C"


STATUS_NAMES = {
    FulfillmentStatus.PICKED: "Picked",
    FulfillmentStatus.PACKED: "Packed",
    FulfillmentStatus.SHIPPED: "Shipped",
}


class NetSuiteKnobs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The account's concurrency limit, and the slots other integrations hold now.
    concurrency_limit: int = Field(default=5, ge=1)
    busy_slots: int = Field(default=0, ge=0)
    # Seconds each API call takes (so calls overlap, and the limit can be seen).
    call_time: float = Field(default=0.0, ge=0)
    timestamp_window: float = Field(default=300.0, gt=0)
    token_ttl: float = Field(default=3600.0, gt=0)
    # The next n upsert answers are lost after the record was stored (504).
    lose_create_answers: int = Field(default=0, ge=0)
    # Fulfil (ship) every new order this many seconds after it is entered (the demo's warehouse).
    auto_fulfill: bool = True
    fulfill_delay: float = Field(default=3.0, ge=0)
    carrier: str = "UPS Ground"


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class SbLine:
    line: int
    item: int
    sku: str
    quantity: int
    location: int | None
    fulfilled: int = 0
    closed: bool = False
    description: str | None = None
    line_id: int = 0
    rate: float | None = None

    @property
    def remaining(self) -> int:
        return 0 if self.closed else max(0, self.quantity - self.fulfilled)


@dataclass
class SbOrder:
    id: int
    record: RecordType
    # None for an order entered in the ERP by its users (no integration's key).
    external_id: str | None
    tran_id: str
    body: dict[str, Any]
    lines: list[SbLine]
    location: int | None
    created: str = field(default_factory=now_text)
    modified: str = field(default_factory=now_text)
    # Cancelled in the ERP (status C), and the currency's internal id.
    cancelled: bool = False
    currency: int = 1

    def status(self) -> tuple[str, str]:
        if self.cancelled:
            return "C", "Cancelled"
        if all(line.closed or line.remaining == 0 for line in self.lines):
            if any(line.fulfilled for line in self.lines):
                return "G", "Billed" if self.record is RecordType.SALES_ORDER else "Received"
            return "H", "Closed"
        if any(line.fulfilled for line in self.lines):
            return "D", "Partially Fulfilled"
        return "B", "Pending Fulfillment"


@dataclass
class SbFulfillment:
    id: int
    tran_id: str
    order: SbOrder
    lines: list[tuple[int, SbLine | None, int, str, int, int | None]]  # (line id, order line, item, sku, qty, loc)
    tracking: list[str]
    status: FulfillmentStatus
    ship_method: str
    tran_date: str
    modified: str = field(default_factory=now_text)
    external_id: str | None = None


class Account(SandboxState[NetSuiteKnobs]):
    def __init__(self, options: SandboxOptions, webhook_transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(options, NetSuiteKnobs, webhook_transport=webhook_transport)
        channel = options.channel
        model = NetSuiteSellingSettings if channel.role is ConnectorRole.SELLING else NetSuiteSettings
        self.settings: NetSuiteAccess = model.model_validate(channel.settings)
        fulfilment = self.settings if isinstance(self.settings, NetSuiteSettings) else None
        self.customer = fulfilment.customer if fulfilment is not None else ERP_CUSTOMER
        self.location_ids = dict(fulfilment.locations) if fulfilment is not None else {}
        transfer_from = fulfilment.transfer_from if fulfilment is not None else None
        self.base_url = channel.base_url.rstrip("/")
        if "concurrency_limit" not in options.knobs:
            self.knobs.update({"concurrency_limit": self.settings.concurrency_limit})
        self.gatekeeper = Gatekeeper(
            self.settings.account_id,
            self._tba(),
            self._m2m(),
            window=lambda: self.knobs.value.timestamp_window,
            token_ttl=lambda: self.knobs.value.token_ttl,
        )
        self.ids = itertools.count(8_001)
        self.line_ids = itertools.count(1)
        self.items: dict[str, int] = {}
        self.customers = {self.customer} if self.customer is not None else set()
        self.locations = (set(self.location_ids.values()) or {ERP_LOCATION}) | (
            {transfer_from} if transfer_from is not None else set()
        )
        self.orders: dict[int, SbOrder] = {}
        self.by_external: dict[tuple[RecordType, str], int] = {}
        self.fulfillments: dict[int, SbFulfillment] = {}
        self.fulfillments_by_external: dict[str, int] = {}
        self.on_hand: dict[tuple[int, int], int] = {}
        self.in_flight = 0
        self.concurrency_refused = 0
        seeded: dict[int, dict[str, int]] = {
            self.location_ids[loc]: dict(levels) for loc, levels in options.stock.items() if loc in self.location_ids
        }
        self.set_inventory(seeded or {loc: dict(SEED_STOCK) for loc in self.locations})

    def _tba(self) -> TbaCredentials | None:
        names = ("consumer_key", "consumer_secret", "token_id", "token_secret")
        channel = self.options.channel
        if self.settings.auth is not AuthMethod.TBA:
            return None
        return TbaCredentials(*(channel.credential(n) for n in names))

    def _m2m(self) -> M2mCredentials | None:
        channel = self.options.channel
        if self.settings.auth is not AuthMethod.M2M:
            return None
        return M2mCredentials(
            channel.credential("client_id"),
            channel.credential("certificate_id"),
            public_key_of(channel.credential("private_key")),
        )

    @property
    def token_url(self) -> str:
        return self.settings.token_url or f"{self.base_url}/services/rest/auth/oauth2/v1/token"

    # --- dependencies of every API route ---

    async def govern(self) -> AsyncIterator[None]:
        """The account's concurrency limit: a call beyond it is refused at once."""
        knobs = self.knobs.value
        if self.in_flight + knobs.busy_slots >= knobs.concurrency_limit:
            self.concurrency_refused += 1
            raise error(
                429,
                "Too Many Requests",
                "Concurrent request limit exceeded. Request blocked.",
                "CONCURRENCY_LIMIT_EXCEEDED",
            )
        self.in_flight += 1
        try:
            if knobs.call_time:
                await asyncio.sleep(knobs.call_time)
            yield
        finally:
            self.in_flight -= 1

    async def authenticate(self, request: Request) -> None:
        self.gatekeeper.check(request)

    # --- master data and inventory ---

    def item_id(self, sku: str) -> int:
        if sku not in self.items:
            self.items[sku] = 500 + len(self.items) + 1
        return self.items[sku]

    def set_inventory(self, levels: dict[int, dict[str, int]]) -> None:
        """Replace on hand per location (NetSuite location internal id) and SKU."""
        self.on_hand = {}
        for location, skus in levels.items():
            self.locations.add(int(location))
            for sku, units in skus.items():
                self.on_hand[(int(location), self.item_id(sku))] = int(units)

    def committed(self, location: int, item: int) -> int:
        return sum(
            line.remaining
            for order in self.orders.values()
            for line in order.lines
            if line.item == item and line.location == location
        )

    # --- the record service ---

    def _reference(self, body: dict[str, Any], name: str, known: set[int], path: str) -> int:
        ref = body.get(name)
        value = ref.get("id") if isinstance(ref, dict) else None
        if value is None or not str(value).isdigit() or int(value) not in known:
            raise error(
                400,
                "Bad Request",
                f"Error while accessing a resource. Invalid '{name}' reference key {value!r}.",
                "INVALID_KEY_OR_REF",
                **{"o:errorPath": path},
            )
        return int(value)

    def _lines(self, body: dict[str, Any], default_location: int | None) -> list[SbLine]:
        sublist = body.get("item")
        items = sublist.get("items") if isinstance(sublist, dict) else None
        if not isinstance(items, list) or not items:
            raise error(400, "Bad Request", "Please enter value(s) for: Items", "USER_ERROR", **{"o:errorPath": "item"})
        by_id = {v: k for k, v in self.items.items()}
        lines = []
        for n, raw in enumerate(items):
            ref = raw.get("item") if isinstance(raw, dict) else None
            sku: str | None = None
            if isinstance(ref, dict) and isinstance(ref.get("externalId"), str) and ref["externalId"] in self.items:
                sku = ref["externalId"]
            elif isinstance(ref, dict) and str(ref.get("id", "")).isdigit():
                sku = by_id.get(int(ref["id"]))
            if sku is None:
                key = ref.get("externalId", ref.get("id")) if isinstance(ref, dict) else ref
                raise error(
                    400,
                    "Bad Request",
                    f"Error while accessing a resource. Invalid 'item' reference key {key!r}.",
                    "INVALID_KEY_OR_REF",
                    **{"o:errorPath": f"item.items[{n}].item"},
                )
            quantity = raw.get("quantity")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
                raise error(
                    400,
                    "Bad Request",
                    f"Invalid number (must be positive): {quantity!r}",
                    "INVALID_FLD_VALUE",
                    **{"o:errorPath": f"item.items[{n}].quantity"},
                )
            location = default_location
            if isinstance(raw.get("location"), dict):
                location = self._reference(raw, "location", self.locations, f"item.items[{n}].location")
            lines.append(
                SbLine(
                    n + 1,
                    self.items[sku],
                    sku,
                    quantity,
                    location,
                    description=raw.get("description"),
                    line_id=next(self.line_ids),
                )
            )
        return lines

    def record_type(self, name: str) -> RecordType:
        try:
            return RecordType(name)
        except ValueError:
            raise error(404, "Not Found", f"Record type '{name}' does not exist.", "NONEXISTENT_ID") from None

    def upsert(self, record: RecordType, key: str, body: Any) -> tuple[SbOrder, bool]:
        if not key.startswith("eid:") or not _EXTERNAL_ID.match(key[4:]):
            raise error(
                400,
                "Bad Request",
                "The upsert operation needs an external ID of letters, numbers, '_' and '-' in the URL.",
                "INVALID_ID",
                **{"o:urlPath": key},
            )
        if not isinstance(body, dict):
            raise error(400, "Bad Request", "The request body must be a JSON object.", "INVALID_CONTENT")
        external = key[4:]
        if body.get("externalId") not in (None, external):
            raise error(
                400,
                "Bad Request",
                "The externalId in the body differs from the one in the URL.",
                "USER_ERROR",
                **{"o:errorPath": "externalId"},
            )
        if record is RecordType.SALES_ORDER:
            self._reference(body, "entity", self.customers, "entity")
            location = self._reference(body, "location", self.locations, "location")
        else:
            self._reference(body, "location", self.locations, "location")
            location = self._reference(body, "transferLocation", self.locations, "transferLocation")
        lines = self._lines(body, location)
        existing = self.by_external.get((record, external))
        if existing is not None:
            order = self.orders[existing]
            if any(line.fulfilled for line in order.lines):
                raise error(
                    400, "Bad Request", "You cannot change the items of a transaction that is fulfilled.", "USER_ERROR"
                )
            order.body, order.lines, order.location, order.modified = body, lines, location, now_text()
            return order, False
        internal = next(self.ids)
        order = SbOrder(internal, record, external, f"{_PREFIXES[record]}{internal}", body, lines, location)
        self.orders[internal] = order
        self.by_external[(record, external)] = internal
        if self.knobs.value.auto_fulfill:
            self.timers.schedule(("fulfil", internal), self.knobs.value.fulfill_delay, lambda: self._auto(order))
        return order, True

    def _auto(self, order: SbOrder) -> None:
        if any(line.remaining for line in order.lines):
            self.fulfil(order)

    def find(self, record: RecordType, key: str) -> SbOrder:
        internal: int | None
        if key.startswith("eid:"):
            internal = self.by_external.get((record, key[4:]))
        else:
            internal = int(key) if key.isdigit() else None
        order = self.orders.get(internal) if internal is not None else None
        if order is None or order.record is not record:
            raise error(
                404,
                "Not Found",
                "The record instance does not exist. Provide a valid record instance ID.",
                "NONEXISTENT_ID",
                **{"o:urlPath": key},
            )
        return order

    def patch(self, order: SbOrder, body: Any) -> None:
        """Only what the connector changes: `isClosed` of item lines named by `line`."""
        sublist = body.get("item") if isinstance(body, dict) else None
        items = sublist.get("items") if isinstance(sublist, dict) else None
        if not isinstance(items, list):
            raise error(400, "Bad Request", "Nothing to update: the body has no item sublist.", "USER_ERROR")
        by_line = {line.line: line for line in order.lines}
        for n, raw in enumerate(items):
            number = raw.get("line") if isinstance(raw, dict) else None
            line = by_line.get(number) if isinstance(number, int) else None
            if line is None:
                raise error(
                    400,
                    "Bad Request",
                    f"Invalid line reference {raw!r}.",
                    "INVALID_KEY_OR_REF",
                    **{"o:errorPath": f"item.items[{n}].line"},
                )
            if "isClosed" in raw:
                line.closed = bool(raw["isClosed"])
        order.modified = now_text()
        self.timers.cancel(("fulfil", order.id))

    def close_all(self, order: SbOrder) -> SbOrder:
        for line in order.lines:
            line.closed = True
        order.modified = now_text()
        return order

    def order_json(self, order: SbOrder) -> dict[str, Any]:
        status, name = order.status()
        href = f"{self.base_url}/services/rest/record/v1/{order.record}/{order.id}"
        header = {k: v for k, v in order.body.items() if k not in ("item",)}
        return {
            "links": [{"rel": "self", "href": href}],
            **header,
            "id": str(order.id),
            **({"externalId": order.external_id} if order.external_id else {}),
            "tranId": order.tran_id,
            "status": {"id": status, "refName": name},
            "createdDate": order.created.replace(" ", "T") + "Z",
            "lastModifiedDate": order.modified.replace(" ", "T") + "Z",
            "item": {
                "links": [{"rel": "self", "href": f"{href}/item"}],
                "items": [
                    {
                        "links": [],
                        "line": line.line,
                        "item": {"id": str(line.item), "refName": line.sku},
                        "quantity": line.quantity,
                        "quantityFulfilled": line.fulfilled,
                        **({"rate": line.rate} if line.rate is not None else {}),
                        "isClosed": line.closed,
                        "location": {"id": str(line.location)} if line.location is not None else None,
                        "description": line.description,
                    }
                    for line in order.lines
                ],
                "totalResults": len(order.lines),
            },
        }

    # --- item fulfillments (entered by the warehouse: controls) ---

    def fulfil(
        self,
        order: SbOrder,
        units: dict[str, int] | None = None,
        tracking: list[str] | None = None,
        status: FulfillmentStatus = FulfillmentStatus.SHIPPED,
        beyond_order: bool = False,
    ) -> SbFulfillment | None:
        """Fulfil `units` per SKU (default: every open unit). Units beyond what the order has
        open are refused unless `beyond_order` (an over-fulfilment the account's preference
        allows, or an item added by hand on the fulfilment)."""
        wanted = units if units is not None else {line.sku: line.remaining for line in order.lines if line.remaining}
        wanted = {sku: qty for sku, qty in wanted.items() if qty > 0}
        if not wanted:
            return None
        lines = []
        for sku, qty in wanted.items():
            line = next((x for x in order.lines if x.sku == sku and (x.remaining or beyond_order)), None)
            if not beyond_order and (line is None or qty > line.remaining):
                raise error(
                    400,
                    "Bad Request",
                    f"You can not fulfill more than the remaining quantity of {sku} on {order.tran_id}.",
                    "USER_ERROR",
                )
            lines.append((line, sku, qty))
        return self.record_fulfillment(order, lines, tracking, status)

    def record_fulfillment(
        self,
        order: SbOrder,
        picks: list[tuple[SbLine | None, str, int]],
        tracking: list[str] | None,
        status: FulfillmentStatus,
        external_id: str | None = None,
        tran_date: str | None = None,
    ) -> SbFulfillment:
        """An item fulfillment of `picks` (order line, or None for an item beyond the order;
        SKU; units) on the order: the lines' fulfilled units and the stock move with it."""
        lines = [
            (next(self.line_ids), line, self.item_id(sku), sku, qty, line.location if line else order.location)
            for line, sku, qty in picks
        ]
        internal = next(self.ids)
        for _, line, item, _, qty, location in lines:
            if line is not None:
                line.fulfilled += qty
            if location is not None:
                self.on_hand[(location, item)] = self.on_hand.get((location, item), 0) - qty
        numbers = tracking if tracking is not None else [f"1Z{internal:06d}{n:02d}NS" for n in range(1, 2)]
        fulfillment = SbFulfillment(
            internal,
            f"IF{internal}",
            order,
            lines,
            numbers,
            status,
            self.knobs.value.carrier,
            tran_date or datetime.now(UTC).date().isoformat(),
            external_id=external_id,
        )
        self.fulfillments[internal] = fulfillment
        if external_id is not None:
            self.fulfillments_by_external[external_id] = internal
        order.modified = now_text()
        return fulfillment

    def fulfillment_json(self, key: str) -> dict[str, Any]:
        internal = self.fulfillments_by_external.get(key[4:]) if key.startswith("eid:") else None
        found = self.fulfillments.get(internal or (int(key) if key.isdigit() else -1))
        if found is None:
            raise error(
                404,
                "Not Found",
                "The record instance does not exist. Provide a valid record instance ID.",
                "NONEXISTENT_ID",
                **{"o:urlPath": key},
            )
        href = f"{self.base_url}/services/rest/record/v1/itemFulfillment/{found.id}"
        return {
            "links": [{"rel": "self", "href": href}],
            "id": str(found.id),
            **({"externalId": found.external_id} if found.external_id else {}),
            "tranId": found.tran_id,
            "tranDate": found.tran_date,
            "createdFrom": {"id": str(found.order.id), "refName": found.order.tran_id},
            "shipStatus": {"id": str(found.status), "refName": STATUS_NAMES[found.status]},
            "shipMethod": {"id": "4", "refName": found.ship_method},
            "lastModifiedDate": found.modified.replace(" ", "T") + "Z",
            "item": {
                "items": [
                    {
                        "line": n + 1,
                        "item": {"id": str(item), "refName": sku},
                        "quantity": qty,
                        "location": {"id": str(loc)} if loc is not None else None,
                        "orderLine": line.line if line is not None else None,
                    }
                    for n, (_, line, item, sku, qty, loc) in enumerate(found.lines)
                ],
            },
            "package": {
                "items": [
                    {"packageTrackingNumber": number, "packageWeight": 1.0, "packageDescr": f"Carton {n + 1}"}
                    for n, number in enumerate(found.tracking)
                ]
            },
        }

    # --- SuiteQL ---

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        items = [
            {"id": i, "itemid": sku, "externalid": sku, "displayname": sku, "itemtype": "InvtPart"}
            for sku, i in self.items.items()
        ]
        transactions: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        for order in self.orders.values():
            status, _ = order.status()
            transactions.append(
                {
                    "id": order.id,
                    "type": _TRANSACTION_TYPES[order.record],
                    "tranid": order.tran_id,
                    "trandate": order.created[:10],
                    "status": status,
                    "externalid": order.external_id,
                    "currency": order.currency,
                    "entity": self.customer,
                    "createddate": order.created,
                    "lastmodifieddate": order.modified,
                }
            )
            lines.append(
                {
                    "id": 0,
                    "transaction": order.id,
                    "linesequencenumber": 0,
                    "mainline": "T",
                    "location": order.location,
                    "isclosed": "F",
                }
            )
            lines.extend(
                {
                    "id": line.line_id,
                    "transaction": order.id,
                    "linesequencenumber": line.line,
                    "item": line.item,
                    "quantity": line.quantity,
                    "location": line.location,
                    "mainline": "F",
                    "isclosed": "T" if line.closed else "F",
                }
                for line in order.lines
            )
        for found in self.fulfillments.values():
            transactions.append(
                {
                    "id": found.id,
                    "type": "ItemShip",
                    "tranid": found.tran_id,
                    "externalid": found.external_id,
                    "trandate": found.tran_date,
                    "status": str(found.status),
                    "entity": self.customer,
                    "createddate": found.modified,
                    "lastmodifieddate": found.modified,
                }
            )
            lines.append(
                {
                    "id": 0,
                    "transaction": found.id,
                    "linesequencenumber": 0,
                    "mainline": "T",
                    "createdfrom": found.order.id,
                    "isclosed": "F",
                }
            )
            lines.extend(
                {
                    "id": line_id,
                    "transaction": found.id,
                    "linesequencenumber": n + 1,
                    "item": item,
                    "quantity": -qty,
                    "location": loc,
                    "createdfrom": found.order.id,
                    "mainline": "F",
                    "isclosed": "F",
                }
                for n, (line_id, _, item, _, qty, loc) in enumerate(found.lines)
            )
        inventory = []
        for (location, item), units in sorted(self.on_hand.items()):
            committed = self.committed(location, item)
            inventory.append(
                {
                    "item": item,
                    "location": location,
                    "quantityonhand": units,
                    "quantitycommitted": committed,
                    "quantityavailable": max(0, units - committed),
                }
            )
        locations = [{"id": loc, "name": f"Location {loc}"} for loc in sorted(self.locations)]
        currencies = [{"id": i, "name": code, "symbol": code} for i, code in CURRENCIES.items()]
        return {
            "currency": currencies,
            "item": items,
            "location": locations,
            "transaction": transactions,
            "transactionline": lines,
            "inventoryitemlocations": inventory,
        }

    def suiteql(self, body: Any, query: Any, url: str) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("q"), str):
            raise error(400, "Bad Request", 'The request body must be {"q": "<SuiteQL>"}.', "INVALID_CONTENT")
        try:
            limit = int(query.get("limit") or 1000)
            offset = int(query.get("offset") or 0)
        except ValueError:
            raise error(400, "Bad Request", "limit and offset must be integers.", "INVALID_PARAMETER") from None
        if not 1 <= limit <= 1000 or offset < 0:
            raise error(400, "Bad Request", "limit must be 1 to 1000 and offset not negative.", "INVALID_PARAMETER")
        try:
            rows = suiteql.run(body["q"], self.tables())
        except suiteql.QueryError as exc:
            raise error(400, "Bad Request", str(exc), "INVALID_PARAMETER") from None
        page = rows[offset : offset + limit]
        has_more = offset + limit < len(rows)
        links = [{"rel": "self", "href": f"{url}?limit={limit}&offset={offset}"}]
        if has_more:
            links.append({"rel": "next", "href": f"{url}?limit={limit}&offset={offset + limit}"})
        return {
            "links": links,
            "count": len(page),
            "hasMore": has_more,
            "items": [{"links": [], **row} for row in page],
            "offset": offset,
            "totalResults": len(rows),
        }
