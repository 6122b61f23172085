"""In-memory emulation of the generic in-house WMS for `make run` and the tests: it accepts
shipping requests idempotently, ships each one after `ship_delay` seconds (sometimes in two
partial shipments) and reports every shipment (`shipment.created`) and stock set by the controls
(`inventory.updated`) to Orderloop's webhook, signed in Orderloop's scheme, the delivery id
being the webhook's id. What the WMS's own operators do to a request (hold, release, deliver,
edit, cancel or lose it) is in `sandbox_operator`; expected returns and their receipts in
`sandbox_returns`.

The API takes bearer token = the channel's `api_token`; errors, and every route not served,
answer `{"error": ...}`. `GET /_sandbox` lists the routes and controls.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import string
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import SandboxOptions
from connectors.sandbox_kit import (
    ResourceStore,
    Route,
    RouteTable,
    SandboxError,
    SandboxState,
    bearer_auth,
    numbered,
    offset_page,
    sandbox_app,
)
from connectors.signing import json_type, orderloop_webhook_headers
from connectors.wms.client import ALREADY_SHIPPED
from connectors.wms.mapping import TRACKING_URL_FIELD
from connectors.wms.sandbox_operator import operator_routes
from connectors.wms.sandbox_returns import WmsReturns, return_api_routes, return_control_routes
from connectors.wms.webhooks import WmsEvent

# Stock given without a location applies to every location of the WMS.
ANY_LOCATION = "*"
_ADDRESS_REQUIRED = ("address1", "city", "zipCodeOrPostalCode", "country")
_TRACKING_URLS = {
    "UPS": "https://www.ups.com/track?tracknum={}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
}

StockKnob = dict[str, int | dict[str, int]]


class WmsKnobs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Seconds from acceptance to the (first) shipment; 0 ships at once.
    ship_delay: float = Field(default=1.0, ge=0)
    # Share of requests shipped in two parts (decided per request by a seeded random).
    partial_ratio: float = Field(default=0.2, ge=0, le=1)
    # Off: requests are only shipped by `POST /_sandbox/ship/{id}`.
    auto_ship: bool = True
    # Refuse (422) lines whose SKU has no stock entry at the request's location.
    reject_unknown_skus: bool = False
    carrier: str = "UPS"
    seed: int = 0
    tenant_id: str = "sandbox"
    # Initial stock: {sku: on_hand} for every location, or {location_id: {sku: on_hand}}; empty:
    # the `seed_stock` of the locations this channel serves.
    stock: StockKnob = Field(default_factory=dict)
    # Report stock set through `POST /_sandbox/stock` (a receipt, a count) as `inventory.updated`.
    inventory_webhooks: bool = True


class RequestStatus(StrEnum):
    ACCEPTED = "accepted"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


@dataclass
class WmsRequest:
    id: str
    external_id: str
    idempotency_key: str
    body: dict[str, Any]
    split: bool
    created_at: str
    status: RequestStatus = RequestStatus.ACCEPTED
    shipments: list[dict[str, Any]] = field(default_factory=list)
    # Why the WMS holds it (it does not ship while held).
    hold: str | None = None

    @property
    def location_id(self) -> str:
        return str(self.body.get("locationId") or ANY_LOCATION)

    def remaining(self) -> list[dict[str, Any]]:
        """Request lines still to ship, with what is left of each."""
        shipped: dict[int, int] = {}
        for shipment in self.shipments:
            for index, qty in shipment["_lineIndexes"]:
                shipped[index] = shipped.get(index, 0) + qty
        left = []
        for index, line in enumerate(self.body["lineItems"]):
            qty = line["quantity"] - shipped.get(index, 0)
            if qty > 0:
                left.append({**line, "quantity": qty, "_index": index})
        return left

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "externalId": self.external_id,
            "status": self.status.value,
            "locationId": self.body.get("locationId"),
            "lineItems": self.body["lineItems"],
            "shippingAddress": self.body.get("shippingAddress"),
            "shippingCode": self.body.get("shippingCode"),
            "requirements": self.body.get("requirements"),
            "customerPONumber": self.body.get("customerPONumber"),
            # What the packers print: each document's kind, file name, size and carton SSCCs.
            "documents": [
                {
                    "kind": doc.get("kind"),
                    "filename": doc.get("filename"),
                    "bytes": len(base64.b64decode(str(doc.get("content")))),
                    "ssccs": doc.get("ssccs") or [],
                }
                for doc in self.body.get("documents") or []
            ],
            "createdAt": self.created_at,
            "shipmentIds": [s["id"] for s in self.shipments],
            "hold": self.hold,
        }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def split_lines(lines: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Two non-empty parts of `lines` (at least two units in all): the first `units // 2` units in
    line order, the rest in the second part."""
    total = sum(line["quantity"] for line in lines)
    take = total // 2
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    for line in lines:
        now = min(take, line["quantity"])
        take -= now
        if now:
            first.append({**line, "quantity": now})
        if line["quantity"] - now:
            second.append({**line, "quantity": line["quantity"] - now})
    return first, second


def _documents_refusal(documents: Any) -> str | None:
    """Why the documents sent with a request cannot be printed (each a base64 PDF)."""
    if documents is None:
        return None
    if not isinstance(documents, list):
        return "documents must be an array"
    for i, doc in enumerate(documents):
        if not isinstance(doc, dict) or doc.get("contentType") != "application/pdf":
            return f"documents[{i}] must be a PDF (contentType application/pdf)"
        try:
            content = base64.b64decode(str(doc.get("content")), validate=True)
        except (binascii.Error, ValueError):
            return f"documents[{i}].content is not base64"
        if not content.startswith(b"%PDF-"):
            return f"documents[{i}].content is not a PDF"
    return None


def _refusal(body: dict[str, Any]) -> str | None:
    """Why a request body is not a shipping request the WMS can work on."""
    if not isinstance(body.get("externalId"), str) or not body["externalId"]:
        return "externalId is missing"
    lines = body.get("lineItems")
    if not isinstance(lines, list) or not lines:
        return "lineItems must be a non-empty array"
    for i, line in enumerate(lines):
        if not isinstance(line, dict) or not isinstance(line.get("sku"), str) or not line["sku"]:
            return f"lineItems[{i}].sku is missing"
        qty = line.get("quantity")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
            return f"lineItems[{i}].quantity must be a positive integer"
    wanted = body.get("requirements")
    if wanted is not None:
        why = _requirements_refusal(wanted)
        if why:
            return why
    why = _documents_refusal(body.get("documents"))
    if why:
        return why
    address = body.get("shippingAddress")
    if not isinstance(address, dict):
        return "shippingAddress is missing"
    missing = [name for name in _ADDRESS_REQUIRED if not str(address.get(name) or "").strip()]
    if missing:
        return f"shippingAddress is missing {', '.join(missing)}: the carrier cannot produce a label"
    return None


def _requirements_refusal(wanted: Any) -> str | None:
    """Why `requirements` is not what the WMS reads: `{carriers: [..], shippingMethod, packagingNotes}`."""
    if not isinstance(wanted, dict):
        return f"requirements must be an object, not {json_type(wanted)}"
    unknown = sorted(set(wanted) - {"carriers", "shippingMethod", "packagingNotes"})
    if unknown:
        return f"requirements has unknown field(s) {', '.join(unknown)}"
    carriers = wanted.get("carriers")
    if carriers is not None and (
        not isinstance(carriers, list) or not carriers or not all(isinstance(c, str) and c for c in carriers)
    ):
        return "requirements.carriers must be a non-empty array of carrier names"
    for name in ("shippingMethod", "packagingNotes"):
        if name in wanted and not (isinstance(wanted[name], str) and wanted[name].strip()):
            return f"requirements.{name} must be a non-empty string"
    return None


def _carrier_for(body: dict[str, Any], default: str) -> str:
    """The carrier a parcel goes with: the packers' usual one, unless the request requires
    others (then the first it names)."""
    carriers = (body.get("requirements") or {}).get("carriers")
    if not carriers or default.lower() in {c.lower() for c in carriers}:
        return default
    return str(carriers[0])


class WmsSandbox(SandboxState[WmsKnobs]):
    """The WMS's state and behaviour; `create_app` wires it to routes."""

    def __init__(self, options: SandboxOptions) -> None:
        super().__init__(options, WmsKnobs)
        self.rng = random.Random(self.knobs.value.seed)
        self.secret = options.channel.credential("webhook_secret")
        self.api_token = options.channel.credential("api_token")
        self.requests: ResourceStore[WmsRequest] = ResourceStore(numbered("SR-{:06d}"), id_of=lambda r: r.id)
        self.by_key: dict[str, WmsRequest] = {}
        self.by_external: dict[str, WmsRequest] = {}
        self.stock: dict[str, dict[str, int]] = {}
        seeded: StockKnob = {loc: dict(levels) for loc, levels in options.stock.items()}
        self.set_stock(self.knobs.value.stock or seeded, replace=True)
        self._shipment_seq = 0
        self.returns = WmsReturns(self)

    def knobs_changed(self, changes: dict[str, Any]) -> None:
        if "stock" in changes:
            self.set_stock(self.knobs.value.stock, replace=True)
        if "seed" in changes:
            self.rng.seed(self.knobs.value.seed)

    # --- stock ---

    def set_stock(self, stock: StockKnob, replace: bool = False) -> None:
        if replace:
            self.stock = {}
        for key, value in stock.items():
            if isinstance(value, dict):
                self.stock.setdefault(key, {}).update(value)
            else:
                self.stock.setdefault(ANY_LOCATION, {})[key] = value

    def _stock_entry(self, location: str, sku: str) -> tuple[str, str] | None:
        for loc in (location, ANY_LOCATION):
            if sku in self.stock.get(loc, {}):
                return loc, sku
        return None

    def report_stock(self, stock: StockKnob) -> None:
        """Send `inventory.updated` with the current levels of the SKUs `stock` touched. Shipping
        sends none: the shipment webhook tells Orderloop, which commits the units itself."""
        if not self.knobs.value.inventory_webhooks:
            return
        touched: set[tuple[str, str]] = set()
        for key, value in stock.items():
            if isinstance(value, dict):
                touched.update((key, sku) for sku in value)
            else:
                touched.add((ANY_LOCATION, key))
        rows = [row for row in self.stock_levels() if ((row["locationId"] or ANY_LOCATION), row["sku"]) in touched]
        if rows:
            self.emit(WmsEvent.INVENTORY_UPDATED, {"items": rows})

    def committed(self) -> dict[tuple[str, str], int]:
        """Units accepted but not shipped, per stock entry (location, sku)."""
        totals: dict[tuple[str, str], int] = {}
        for request in self.requests.values():
            if request.status in (RequestStatus.ACCEPTED, RequestStatus.PARTIALLY_SHIPPED):
                for line in request.remaining():
                    entry = self._stock_entry(request.location_id, line["sku"])
                    if entry is not None:
                        totals[entry] = totals.get(entry, 0) + line["quantity"]
        return totals

    def stock_levels(self) -> list[dict[str, Any]]:
        committed = self.committed()
        rows = []
        for location, skus in sorted(self.stock.items()):
            for sku, on_hand in sorted(skus.items()):
                held = committed.get((location, sku), 0)
                rows.append(
                    {
                        "sku": sku,
                        "locationId": None if location == ANY_LOCATION else location,
                        "onHand": on_hand,
                        "committed": held,
                        "available": max(0, on_hand - held),
                        "inbound": 0,
                    }
                )
        return rows

    # --- requests ---

    def find(self, ref: str) -> WmsRequest:
        request = self.requests.get(ref) or self.by_external.get(ref)
        if request is None:
            raise SandboxError(404, f"no shipping request {ref!r}")
        return request

    def create(self, key: str | None, body: Any) -> JSONResponse:
        if not key:
            raise SandboxError(400, "Idempotency-Key header is required")
        if not isinstance(body, dict):
            raise SandboxError(422, f"the shipping request must be a JSON object, not {json_type(body)}")
        # A repeated key, or our request id sent again under another key, is the same request.
        existing = self.by_key.get(key) or self.by_external.get(str(body.get("externalId")))
        if existing is not None:
            return JSONResponse(existing.to_json(), status_code=200, headers={"Idempotent-Replayed": "true"})
        reason = _refusal(body) or self._unknown_skus(body)
        if reason:
            raise SandboxError(422, "shipping request refused", reason=reason)
        knobs = self.knobs.value
        request = WmsRequest(
            id=self.requests.new_id(),
            external_id=body["externalId"],
            idempotency_key=key,
            body=body,
            # Decided at acceptance, in acceptance order, so a seed reproduces the same splits.
            split=self.rng.random() < knobs.partial_ratio,
            created_at=_now(),
        )
        self.requests.add(request)
        self.by_key[key] = request
        self.by_external[request.external_id] = request
        if knobs.auto_ship:
            self._schedule(request, knobs.ship_delay)
        return JSONResponse(request.to_json(), status_code=201)

    def _unknown_skus(self, body: dict[str, Any]) -> str | None:
        if not self.knobs.value.reject_unknown_skus:
            return None
        location = str(body.get("locationId") or ANY_LOCATION)
        unknown = sorted({ln["sku"] for ln in body["lineItems"] if self._stock_entry(location, ln["sku"]) is None})
        if unknown:
            return f"unknown SKU(s) at location {location}: {', '.join(unknown)}"
        return None

    def cancel(self, ref: str) -> dict[str, Any]:
        request = self.find(ref)
        if request.status in (RequestStatus.SHIPPED, RequestStatus.PARTIALLY_SHIPPED):
            raise SandboxError(
                409,
                ALREADY_SHIPPED,
                requestStatus=request.status.value,
                shipmentIds=[s["id"] for s in request.shipments],
            )
        request.status = RequestStatus.CANCELLED
        self.timers.cancel(request.id)
        return request.to_json()

    # --- shipping ---

    def _schedule(self, request: WmsRequest, delay: float) -> None:
        # Only the first shipment splits; a scheduled second part ships what is left.
        self.timers.schedule(
            request.id, delay, lambda: self.ship(request, parts=2 if request.split and not request.shipments else 1)
        )

    def ship(self, request: WmsRequest, parts: int = 1) -> list[dict[str, Any]]:
        """Ship what is left of `request` now. With `parts=2` only the first half ships now and
        the rest after `ship_delay` (at once when it is 0 or the knob `auto_ship` is off)."""
        if request.status not in (RequestStatus.ACCEPTED, RequestStatus.PARTIALLY_SHIPPED) or request.hold:
            return []
        self.timers.cancel(request.id)
        left = request.remaining()
        if parts == 2 and sum(line["quantity"] for line in left) >= 2:
            first, rest = split_lines(left)
            sent = [self._ship_part(request, first)]
            request.status = RequestStatus.PARTIALLY_SHIPPED
            knobs = self.knobs.value
            if knobs.auto_ship and knobs.ship_delay > 0:
                self._schedule(request, knobs.ship_delay)
            else:
                sent.append(self._ship_part(request, rest))
            return sent
        return [self._ship_part(request, left)]

    def _ship_part(self, request: WmsRequest, lines: list[dict[str, Any]]) -> dict[str, Any]:
        knobs = self.knobs.value
        self._shipment_seq += 1
        tracking = "1Z" + "".join(self.rng.choices(string.ascii_uppercase + string.digits, k=16))
        carrier = _carrier_for(request.body, knobs.carrier)
        at = _now()
        fulfillment: dict[str, Any] = {
            "id": f"SHP-{self._shipment_seq:06d}",
            "orderId": request.external_id,
            "tenantId": knobs.tenant_id,
            "createdAt": at,
            "updatedAt": at,
            "status": "shipped",
            "lineItems": [{k: v for k, v in line.items() if k in ("id", "sku", "quantity")} for line in lines],
            "trackingNumbers": [tracking],
            "shippingCarrier": carrier,
            "customFields": [
                {"name": "wmsRequestId", "value": request.id},
                {"name": TRACKING_URL_FIELD, "value": self._tracking_url(carrier, tracking)},
            ],
        }
        if request.body.get("locationId"):
            fulfillment["locationId"] = request.body["locationId"]
        if request.body.get("shippingCode"):
            fulfillment["shippingCode"] = request.body["shippingCode"]
        request.shipments.append({**fulfillment, "_lineIndexes": [(ln["_index"], ln["quantity"]) for ln in lines]})
        for line in lines:
            entry = self._stock_entry(request.location_id, line["sku"])
            if entry is not None:
                location, sku = entry
                self.stock[location][sku] = max(0, self.stock[location][sku] - line["quantity"])
        if not request.remaining():
            request.status = RequestStatus.SHIPPED
        self.emit(WmsEvent.SHIPMENT_CREATED, fulfillment)
        return fulfillment

    def report(self, request: WmsRequest, event: WmsEvent, reason: str | None = None) -> dict[str, Any]:
        """A request event: held (its timer stopped), released (shipping resumed) or delivered."""
        if event in (WmsEvent.REQUEST_ON_HOLD, WmsEvent.REQUEST_EXCEPTION):
            request.hold = reason or "held at the warehouse"
            self.timers.cancel(request.id)
        elif event is WmsEvent.REQUEST_RELEASED:
            request.hold = None
            if self.knobs.value.auto_ship:
                self._schedule(request, self.knobs.value.ship_delay)
        payload = {**request.to_json(), "reason": reason, "at": _now()}
        self.emit(event, payload)
        return payload

    def emit(self, event: WmsEvent, payload: dict[str, Any]) -> None:
        """Sign with the channel's secret and send; the delivery id is the webhook's id."""
        body = json.dumps(payload).encode()
        delivery_id = uuid.uuid4().hex
        headers = orderloop_webhook_headers(self.secret, event.value, body, delivery_id=delivery_id)
        self.sender.emit(self.options.webhook_url, event.value, body, headers, webhook_id=delivery_id)

    @staticmethod
    def _tracking_url(carrier: str, number: str) -> str:
        return _TRACKING_URLS.get(carrier, "https://track.example.com/" + carrier.lower() + "/{}").format(number)

    @staticmethod
    def public(shipment: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in shipment.items() if not k.startswith("_")}


def api_routes(wms: WmsSandbox) -> RouteTable:
    async def stock_levels(
        cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 500
    ) -> dict[str, Any]:
        """?cursor=&limit=: {"items": [{sku, locationId, onHand, committed, available}], "next_cursor"}"""
        items, next_cursor = offset_page(wms.stock_levels(), cursor, limit)
        return {"items": items, "next_cursor": next_cursor}

    return RouteTable(
        dependencies=(bearer_auth(wms.api_token),),
        routes=(
            Route(
                "POST",
                "/shipping-requests",
                lambda c: wms.create(c.request.headers.get("idempotency-key"), c.body),
                "Idempotency-Key required; 201 new, 200 repeat, 422 refused",
            ),
            # The specific routes come first: `{ref:path}` would also match ".../shipments".
            Route(
                "GET",
                "/shipping-requests/{ref:path}/shipments",
                lambda c: {"shipments": [wms.public(s) for s in wms.find(c.path["ref"]).shipments]},
                '{"shipments": [onX fulfillment, ...]}',
            ),
            Route(
                "POST",
                "/shipping-requests/{ref:path}/cancel",
                lambda c: wms.cancel(c.path["ref"]),
                '200 cancelled, 409 {"error": "already_shipped"}',
            ),
            Route(
                "GET",
                "/shipping-requests/{ref:path}",
                lambda c: wms.find(c.path["ref"]).to_json(),
                "by the WMS id or our request id (externalId)",
            ),
            Route("GET", "/stock-levels", endpoint=stock_levels),
            *return_api_routes(wms.returns, _now),
        ),
    )


def control_routes(wms: WmsSandbox) -> RouteTable:
    async def ship_now(ref: str, parts: Annotated[int, Query(ge=1, le=2)] = 1) -> dict[str, Any]:
        """?parts=1|2: ship what is left now"""
        request = wms.find(ref)
        if request.status not in (RequestStatus.ACCEPTED, RequestStatus.PARTIALLY_SHIPPED):
            raise SandboxError(409, f"request {request.id} is {request.status.value}: nothing to ship")
        return {"shipments": [wms.public(s) for s in wms.ship(request, parts)], "request": request.to_json()}

    async def set_stock(stock: StockKnob, replace: bool = False) -> list[dict[str, Any]]:
        """{sku: n} or {locationId: {sku: n}}; ?replace=true; reported as inventory.updated"""
        wms.set_stock(stock, replace=replace)
        wms.report_stock(stock)
        return wms.stock_levels()

    return RouteTable(
        prefix="/_sandbox",
        routes=(
            Route("POST", "/ship/{ref:path}", endpoint=ship_now),
            Route("GET", "/shipping-requests", lambda _: [r.to_json() for r in wms.requests.values()], "every request"),
            Route("GET", "/stock", lambda _: wms.stock_levels(), "the stock levels"),
            Route("POST", "/stock", endpoint=set_stock),
        ),
    )


def create_app(options: SandboxOptions) -> FastAPI:
    wms = WmsSandbox(options)
    return sandbox_app(
        f"WMS sandbox ({options.channel.id})",
        wms,
        api_routes(wms),
        control_routes(wms),
        operator_routes(wms),
        return_control_routes(wms.returns, _now),
    )
