"""In-memory emulation of ShipBob's dated REST API for `make run` and the tests: orders keyed by
a unique `reference_id`, one or two shipments per order (a split order), labels after `ship_delay`
seconds, cancel refused once a shipment is picked, inventory per fulfillment center, a sliding
150-requests-per-minute limit, and Standard-Webhooks-signed `order.shipped` /
`order.shipment.cancelled` / `order.shipment.delivered` deliveries to Orderloop's webhook.

API (any of the versions `2026-01`, `2026-07` in the path; Bearer token = the channel's
`api_token`; the channel's `settings.channel_id` is the merchant's only channel; faults from
`POST /_sandbox/faults` apply here; 429 `{"statusCode": 429, "message": ...}` with
`x-retry-after` once over the limit, `x-remaining-calls` on every answer):
  GET  /{v}/channel                          [{id, name, application_name, scopes}]
  POST /{v}/order                            shipbob_channel_id required; 201 order, 400 malformed,
                                             422 {"field": [reason]}: duplicate reference_id,
                                             address, unknown product (no `name` to create it)
  GET  /{v}/order?ReferenceIds=&IDs=&HasTracking=&Page=&Limit=   [order, ...] + page headers
  GET  /{v}/order/{id}                       order with its shipments
  GET  /{v}/order/{id}/shipment              [shipment, ...]
  POST /{v}/order/{id}:cancel                200 {order_id, status: Success|PartialSuccess|Failure,
                                             canceled_shipment_results, order}; 422 if already cancelled
  GET  /{v}/shipment/{id}                    shipment
  GET  /{v}/inventory-level                  {items: [{sku, total_*_quantity}], next, ...}
  GET  /{v}/inventory-level/locations?PageSize=&Cursor=   {items: [{sku, locations: [...]}], next, ...}

Controls (no auth; `{ref}` is ShipBob's order id or its reference_id):
  POST /_sandbox/ship/{ref}?parts=1|2&count=n   label what is pending now (parts=2 splits it
                                             first; count labels only the first n shipments)
  POST /_sandbox/pick/{ref}?stage=Picked|Packed   pending shipments can no longer be cancelled
  POST /_sandbox/deliver/{ref}               shipped shipments delivered (order.shipment.delivered)
  GET  /_sandbox/orders
  GET|POST /_sandbox/stock                   {sku: n} (every center) or {center_id: {sku: n}}; ?replace=true
  GET|POST /_sandbox/config                  knobs (`ShipBobKnobs`)
  GET|POST|DELETE /_sandbox/faults           {"status": 503|429, "count", "retry_after"}
plus the kit's `/_sandbox/requests`, `/_sandbox/deliveries`, `/_sandbox/health` and webhook
controls, a webhook's id being its `webhook-id`; every attempt is signed when it is made, so a
held or redelivered webhook carries a fresh `webhook-timestamp`:
  GET  /_sandbox/webhooks?topic=&state=      every webhook, with its body
  GET  /_sandbox/webhooks/held               the held queue (the knob `hold_deliveries` adds to it)
  POST /_sandbox/webhooks/hold?topic=        queue deliveries from now on
  POST /_sandbox/webhooks/release?order=fifo|reverse   send the queue one after the other
  POST|DELETE /_sandbox/webhooks/duplicate   every delivery twice from now on / once again
  POST /_sandbox/webhooks/{webhook_id}/redeliver     the same delivery again (a duplicate)
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import random
import secrets
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.base import SandboxOptions
from connectors.sandbox_kit import (
    FaultInjector,
    KnobHolder,
    Recorder,
    SlidingWindow,
    WebhookSender,
    read_json,
    sandbox_app,
)
from connectors.shipbob.client import CHANNEL_HEADER, REMAINING_CALLS_HEADER, RETRY_AFTER_HEADER
from connectors.shipbob.mapping import OrderStatus, ShipmentStatus
from connectors.shipbob.webhooks import TOPIC_HEADER, ShipBobTopic
from connectors.signing import standard_webhook_signature

StockKnob = dict[str, int | dict[str, int]]

SUPPORTED_VERSIONS = frozenset({"2026-01", "2026-07"})
# Stock every fulfillment center starts with, so the demo works out of the box.
SEED_STOCK: StockKnob = {
    "TSHIRT-BLK-M": 500,
    "TSHIRT-WHT-M": 500,
    "MUG-11OZ": 300,
    "POSTER-A2": 50,
    "HOODIE-GRY-L": 200,
}
# The center used when the channel maps none.
DEFAULT_CENTER = 8
_STAGES = ("Picked", "Packed")
_TRACKING_URLS = {
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "UPS": "https://www.ups.com/track?tracknum={}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={}",
}


class ShipBobKnobs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Seconds from order creation to the first label; a split order's second shipment follows
    # after as long again. 0 labels at once.
    ship_delay: float = Field(default=1.0, ge=0)
    # Share of orders (with two units or more) split into two shipments, decided by a seeded random.
    partial_ratio: float = Field(default=0.2, ge=0, le=1)
    # Off: shipments are only labelled by `POST /_sandbox/ship/{ref}`.
    auto_ship: bool = True
    # ShipBob's sliding window: `rate_limit` requests per `rate_window` seconds per token.
    rate_limit: int = Field(default=150, ge=1)
    rate_window: float = Field(default=60.0, gt=0)
    # Queue every new delivery for `POST /_sandbox/webhooks/release` while on; unlike a hold made
    # by `POST /_sandbox/webhooks/hold`, a release does not end it.
    hold_deliveries: bool = False
    # Send every delivery twice with the same webhook-id, as ShipBob's retries may (the same as
    # `POST /_sandbox/webhooks/duplicate`, from start-up on).
    duplicate_deliveries: bool = False
    carrier: Literal["USPS", "UPS", "FedEx"] = "USPS"
    seed: int = 0
    # Initial stock: {sku: on_hand} in every center or {center_id: {sku: on_hand}}; empty = seed stock.
    stock: StockKnob = Field(default_factory=dict)

    @field_validator("stock")
    @classmethod
    def _stock_shape(cls, value: StockKnob) -> StockKnob:
        check_stock(value)
        return value


def check_stock(stock: StockKnob) -> None:
    """A nested entry is keyed by a fulfillment center id; quantities are not negative."""
    for key, value in stock.items():
        levels = value if isinstance(value, dict) else {key: value}
        if isinstance(value, dict) and not key.strip().isdigit():
            raise ValueError(f"stock: {key!r} is not a fulfillment center id (use {{center_id: {{sku: n}}}})")
        for sku, on_hand in levels.items():
            if on_hand < 0:
                raise ValueError(f"stock: {sku!r} cannot be negative")


class ShipBobApiError(Exception):
    """An error answer in ShipBob's own shape (`body` as is)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body
        self.headers = headers or {}


def _invalid(status: int, field_name: str, message: str) -> ShipBobApiError:
    return ShipBobApiError(status, {field_name: [message]})


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


@dataclass
class Product:
    id: int
    inventory_id: int
    sku: str
    name: str


@dataclass
class Line:
    product: Product
    quantity: int
    external_line_id: int | None


@dataclass
class SbShipment:
    id: int
    order: SbOrder
    center: int
    center_name: str
    lines: list[Line]
    created: str
    status: ShipmentStatus = ShipmentStatus.PROCESSING
    stage: str | None = None
    tracking: dict[str, Any] | None = None
    updated: str | None = None
    fulfilled_at: str | None = None
    delivered_at: str | None = None

    @property
    def pending(self) -> bool:
        return self.status is ShipmentStatus.PROCESSING

    @property
    def shipped(self) -> bool:
        return self.status in (ShipmentStatus.LABELED_CREATED, ShipmentStatus.COMPLETED)

    def to_json(self) -> dict[str, Any]:
        body = self.order.body
        details = (
            [{"id": 1, "name": self.stage, "description": f"Shipment is {self.stage.lower()}"}] if self.stage else []
        )
        return {
            "id": self.id,
            "order_id": self.order.id,
            "reference_id": self.order.reference_id,
            "recipient": {
                "name": body["recipient"].get("name"),
                "full_name": body["recipient"].get("name"),
                "address": body["recipient"].get("address"),
                "email": body["recipient"].get("email"),
                "phone_number": body["recipient"].get("phone_number"),
            },
            "created_date": self.created,
            "last_update_at": self.updated or self.created,
            "last_tracking_update_at": self.fulfilled_at,
            "status": self.status.value,
            "status_details": details,
            "location": {"id": self.center, "name": self.center_name},
            "invoice_amount": None,
            "invoice_currency_code": None,
            "insurance_value": None,
            "ship_option": body.get("shipping_method"),
            "tracking": self.tracking,
            "products": [
                {
                    "id": line.product.id,
                    "reference_id": line.product.sku,
                    "sku": line.product.sku,
                    "name": line.product.name,
                    "inventory_items": [
                        {
                            "id": line.product.inventory_id,
                            "name": line.product.name,
                            "quantity": line.quantity,
                            "quantity_committed": line.quantity,
                            "lot": None,
                            "expiration_date": None,
                            "serial_numbers": [],
                            "is_dangerous_goods": False,
                        }
                    ],
                }
                for line in self.lines
            ],
            "measurements": None,
            "package_material_type": "Unknown",
            "parent_cartons": None,
            "require_signature": False,
            "gift_message": body.get("gift_message"),
            "estimated_fulfillment_date": None,
            "estimated_fulfillment_date_status": "PendingOnTime" if self.pending else "FulfilledOnTime",
            "actual_fulfillment_date": self.fulfilled_at,
            "delivery_date": self.delivered_at,
            "is_tracking_uploaded": False,
        }


@dataclass
class SbOrder:
    id: int
    reference_id: str
    channel_id: int
    channel_name: str
    body: dict[str, Any]
    lines: list[Line]
    created: str
    shipments: list[SbShipment] = field(default_factory=list)

    @property
    def status(self) -> OrderStatus:
        live = [s for s in self.shipments if s.status is not ShipmentStatus.CANCELLED]
        if not live:
            return OrderStatus.CANCELLED
        shipped = sum(1 for s in live if s.shipped)
        if shipped == len(live):
            return OrderStatus.FULFILLED
        return OrderStatus.PARTIALLY_FULFILLED if shipped else OrderStatus.PROCESSING

    def to_json(self) -> dict[str, Any]:
        body = self.body
        return {
            "id": self.id,
            "created_date": self.created,
            "purchase_date": body.get("purchase_date"),
            "reference_id": self.reference_id,
            "order_number": body.get("order_number") or self.reference_id,
            "status": self.status.value,
            "type": body.get("type"),
            "channel": {"id": self.channel_id, "name": self.channel_name},
            "shipping_method": body.get("shipping_method"),
            "recipient": body.get("recipient"),
            "products": [
                {
                    "id": line.product.id,
                    "reference_id": line.product.sku,
                    "sku": line.product.sku,
                    "quantity": line.quantity,
                    "external_line_id": line.external_line_id,
                    "unit_price": None,
                    "gtin": None,
                    "upc": None,
                    "quantity_unit_of_measure_code": None,
                }
                for line in self.lines
            ],
            "tags": body.get("tags") or [],
            "financials": body.get("financials") or {"total_price": None},
            "gift_message": body.get("gift_message"),
            "retailer_program_data": body.get("retailer_program_data"),
            "shipping_terms": body.get("shipping_terms"),
            "shipments": [s.to_json() for s in self.shipments],
        }


def split_lines(lines: list[Line]) -> tuple[list[Line], list[Line]]:
    """Two non-empty parts of `lines` (two units or more): the first half of the units in line
    order, the rest in the second part."""
    take = sum(line.quantity for line in lines) // 2
    first: list[Line] = []
    second: list[Line] = []
    for line in lines:
        now = min(take, line.quantity)
        take -= now
        if now:
            first.append(Line(line.product, now, line.external_line_id))
        if line.quantity - now:
            second.append(Line(line.product, line.quantity - now, line.external_line_id))
    return first, second


class ShipBobSandbox:
    """ShipBob's state and behaviour; `create_app` wires it to routes."""

    def __init__(self, options: SandboxOptions, webhook_transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.options = options
        self.knobs = KnobHolder(ShipBobKnobs, options.knobs)
        self.rng = random.Random(self.knobs.value.seed)
        self.recorder = Recorder()
        self.sender = WebhookSender(self.recorder, transport=webhook_transport)
        self.faults = FaultInjector()
        channel = options.channel
        self.api_token = channel.credential("api_token")
        self.webhook_secret = channel.credential("webhook_secret")
        try:
            base64.b64decode(self.webhook_secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"channel {channel.id!r}: webhook_secret must be a whsec_ base64 key") from None
        self.channel_id = int(channel.settings.get("channel_id") or 1)
        self.channel_name = f"Orderloop ({channel.id})"
        mapped = channel.settings.get("fulfillment_centers") or {}
        self.centers: dict[int, str] = {
            int(center): f"ShipBob FC {center} ({location})" for location, center in sorted(mapped.items())
        } or {DEFAULT_CENTER: f"ShipBob FC {DEFAULT_CENTER}"}
        self._order_seq = 100_000_000
        self._shipment_seq = 200_000_000
        self._product_seq = 300_000_000
        self.products: dict[str, Product] = {}
        self.stock: dict[int, dict[str, int]] = {}
        self.set_stock(self.knobs.value.stock or self._configured_stock(mapped, options) or SEED_STOCK, replace=True)
        self.orders: dict[int, SbOrder] = {}
        self.by_reference: dict[str, SbOrder] = {}
        self.shipments: dict[int, SbShipment] = {}
        self.window = SlidingWindow(self.knobs.value.rate_limit, self.knobs.value.rate_window)
        self._timers: dict[int, asyncio.Task[None]] = {}

    @staticmethod
    def _configured_stock(mapped: dict[str, Any], options: SandboxOptions) -> StockKnob:
        """The `seed_stock` of the Orderloop locations mapped to centers, by center id."""
        return {str(mapped[loc]): dict(levels) for loc, levels in options.stock.items() if loc in mapped and levels}

    def knobs_changed(self, changes: dict[str, Any]) -> None:
        value = self.knobs.value
        if "stock" in changes:
            self.set_stock(value.stock or SEED_STOCK, replace=True)
        if "seed" in changes:
            self.rng.seed(value.seed)
        if "rate_limit" in changes or "rate_window" in changes:
            self.window = SlidingWindow(value.rate_limit, value.rate_window)

    # --- products and stock ---

    def product(self, sku: str, name: str | None = None) -> Product:
        known = self.products.get(sku)
        if known is None:
            self._product_seq += 1
            known = Product(id=self._product_seq, inventory_id=self._product_seq + 1_000_000, sku=sku, name=name or sku)
            self.products[sku] = known
        return known

    def set_stock(self, stock: StockKnob, replace: bool = False) -> None:
        if replace:
            self.stock = {}
        for key, value in stock.items():
            if isinstance(value, dict):
                center = int(key)
                self.centers.setdefault(center, f"ShipBob FC {center}")
                targets = {center: value}
            else:
                targets = {center: {key: value} for center in self.centers}
            for center, levels in targets.items():
                for sku, on_hand in levels.items():
                    self.product(sku)
                    self.stock.setdefault(center, {})[sku] = on_hand

    def committed(self) -> dict[tuple[int, str], int]:
        held: dict[tuple[int, str], int] = {}
        for shipment in self.shipments.values():
            if shipment.pending:
                for line in shipment.lines:
                    key = (shipment.center, line.product.sku)
                    held[key] = held.get(key, 0) + line.quantity
        return held

    def inventory_by_center(self) -> list[dict[str, Any]]:
        held = self.committed()
        items = []
        for sku in sorted(self.products):
            product = self.products[sku]
            locations = []
            for center in sorted(self.stock):
                if sku not in self.stock[center]:
                    continue
                on_hand = self.stock[center][sku]
                committed = held.get((center, sku), 0)
                locations.append(
                    {
                        "location_id": center,
                        "name": self.centers.get(center, f"ShipBob FC {center}"),
                        "on_hand_quantity": on_hand,
                        "committed_quantity": committed,
                        "fulfillable_quantity": max(0, on_hand - committed),
                        "awaiting_quantity": 0,
                        "internal_transfer_quantity": 0,
                    }
                )
            if locations:
                items.append(
                    {"inventory_id": product.inventory_id, "name": product.name, "sku": sku, "locations": locations}
                )
        return items

    def inventory_totals(self) -> list[dict[str, Any]]:
        rows = []
        for item in self.inventory_by_center():
            on_hand = sum(loc["on_hand_quantity"] for loc in item["locations"])
            committed = sum(loc["committed_quantity"] for loc in item["locations"])
            fulfillable = sum(loc["fulfillable_quantity"] for loc in item["locations"])
            rows.append(
                {
                    "inventory_id": item["inventory_id"],
                    "name": item["name"],
                    "sku": item["sku"],
                    "total_on_hand_quantity": on_hand,
                    "total_committed_quantity": committed,
                    "total_fulfillable_quantity": fulfillable,
                    "total_sellable_quantity": fulfillable,
                    "total_awaiting_quantity": 0,
                    "total_backordered_quantity": 0,
                    "total_exception_quantity": 0,
                    "total_internal_transfer_quantity": 0,
                }
            )
        return rows

    # --- API checks ---

    def check_channel(self, raw: str | None, required: bool) -> int | None:
        if raw is None or not raw.strip():
            if required:
                raise _invalid(400, CHANNEL_HEADER, "The shipbob_channel_id header is required.")
            return None
        try:
            channel = int(raw)
        except ValueError:
            raise _invalid(400, CHANNEL_HEADER, f"'{raw}' is not a valid channel id.") from None
        if channel != self.channel_id:
            raise ShipBobApiError(403, {"message": f"No access to channel {channel} for this token."})
        return channel

    def take_call(self) -> int:
        """Count one call against the window; 429 in ShipBob's shape when over it."""
        wait = self.window.acquire()
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise ShipBobApiError(
                429,
                {"statusCode": 429, "message": f"Rate limit is exceeded. Try again in {seconds} seconds."},
                {RETRY_AFTER_HEADER: str(seconds), REMAINING_CALLS_HEADER: "0"},
            )
        return self.window.remaining

    # --- orders ---

    def find(self, ref: str) -> SbOrder:
        """An order by its reference_id or ShipBob id (sandbox controls)."""
        order = self.by_reference.get(ref)
        if order is None and ref.isdigit():
            order = self.orders.get(int(ref))
        if order is None:
            raise ShipBobApiError(404, {"message": f"Order {ref} was not found."})
        return order

    def order(self, order_id: int) -> SbOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise ShipBobApiError(404, {"message": f"Order {order_id} was not found."})
        return order

    def create(self, channel_id: int, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _invalid(400, "", "A non-empty JSON object is required.")
        reference = body.get("reference_id")
        if not isinstance(reference, str) or not 1 <= len(reference) <= 300:
            raise _invalid(400, "reference_id", "The reference_id field is required (1 to 300 characters).")
        if not isinstance(body.get("shipping_method"), str) or not body["shipping_method"].strip():
            raise _invalid(400, "shipping_method", "The shipping_method field is required.")
        if body.get("type") not in ("DTC", "DropShip", "B2B"):
            raise _invalid(400, "type", "The type field must be one of DTC, DropShip, B2B.")
        products = body.get("products")
        if not isinstance(products, list) or not products:
            raise _invalid(400, "products", "At least one product is required.")
        if not isinstance(body.get("recipient"), dict) or not isinstance(body["recipient"].get("address"), dict):
            raise _invalid(400, "recipient", "The recipient field with an address is required.")
        if reference in self.by_reference:
            raise _invalid(
                422, "reference_id", f"Duplicate reference ID: an order with reference_id '{reference}' exists."
            )
        if body["type"] != "DTC" and not (body.get("retailer_program_data") and body.get("shipping_terms")):
            raise _invalid(
                422, "retailer_program_data", "DropShip and B2B orders need retailer_program_data and shipping_terms."
            )
        self._check_recipient(body["recipient"])
        lines = self._lines(products)
        center = self._center(body.get("location_id"), lines)
        self._order_seq += 1
        at = _now()
        order = SbOrder(
            id=self._order_seq,
            reference_id=reference,
            channel_id=channel_id,
            channel_name=self.channel_name,
            body=body,
            lines=lines,
            created=at,
        )
        knobs = self.knobs.value
        units = sum(line.quantity for line in lines)
        # Decided at creation, in creation order, so a seed reproduces the same splits.
        split = self.rng.random() < knobs.partial_ratio and units >= 2
        for part in split_lines(lines) if split else (lines,):
            self._add_shipment(order, center, list(part))
        self.orders[order.id] = order
        self.by_reference[reference] = order
        if knobs.auto_ship:
            for k, shipment in enumerate(order.shipments, start=1):
                self._schedule(shipment, knobs.ship_delay * k)
        return order.to_json()

    def _check_recipient(self, recipient: dict[str, Any]) -> None:
        if not str(recipient.get("name") or "").strip():
            raise _invalid(422, "recipient.name", "The recipient name is required.")
        address = recipient["address"]
        for key, label in (("address1", "Address1"), ("city", "City"), ("country", "Country")):
            if not str(address.get(key) or "").strip():
                raise _invalid(422, f"recipient.address.{key}", f"The {label} field is required.")
        country = str(address["country"]).strip().upper()
        zip_code = str(address.get("zip_code") or "").strip()
        if country in ("US", "USA", "UNITED STATES") and not (
            len(zip_code) in (5, 10) and zip_code[:5].isdigit() and (len(zip_code) == 5 or zip_code[5] == "-")
        ):
            raise _invalid(422, "recipient.address.zip_code", f"'{zip_code}' is not a valid US zip code.")

    def _lines(self, products: list[Any]) -> list[Line]:
        lines = []
        for i, item in enumerate(products):
            if not isinstance(item, dict):
                raise _invalid(400, f"products[{i}]", "A product must be an object.")
            quantity = item.get("quantity")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise _invalid(400, f"products[{i}].quantity", "The quantity must be a positive integer.")
            external = item.get("external_line_id")
            if external is not None and (isinstance(external, bool) or not isinstance(external, int)):
                raise _invalid(400, f"products[{i}].external_line_id", "The external_line_id must be an integer.")
            lines.append(Line(self._product_of(i, item), quantity, external))
        return lines

    def _product_of(self, i: int, item: dict[str, Any]) -> Product:
        if item.get("id") is not None:
            for product in self.products.values():
                if product.id == item["id"]:
                    return product
            raise _invalid(422, f"products[{i}].id", f"No product with id {item['id']} exists.")
        sku = item.get("reference_id")
        if not isinstance(sku, str) or not sku.strip():
            raise _invalid(400, f"products[{i}].reference_id", "Either reference_id or id is required.")
        name = item.get("name")
        if sku not in self.products and not (isinstance(name, str) and name.strip()):
            raise _invalid(
                422,
                f"products[{i}].reference_id",
                f"No product with reference_id '{sku}' exists; include a name to create it.",
            )
        return self.product(sku, name)

    def _center(self, requested: Any, lines: list[Line]) -> int:
        if requested is not None:
            if isinstance(requested, bool) or not isinstance(requested, int) or requested not in self.centers:
                raise _invalid(422, "location_id", f"Fulfillment center {requested} is not available to this merchant.")
            return requested
        held = self.committed()
        for center in sorted(self.centers):
            levels = self.stock.get(center, {})
            if all(
                levels.get(ln.product.sku, 0) - held.get((center, ln.product.sku), 0) >= ln.quantity for ln in lines
            ):
                return center
        return min(self.centers)

    def _add_shipment(self, order: SbOrder, center: int, lines: list[Line]) -> SbShipment:
        self._shipment_seq += 1
        shipment = SbShipment(
            id=self._shipment_seq,
            order=order,
            center=center,
            center_name=self.centers[center],
            lines=lines,
            created=_now(),
        )
        order.shipments.append(shipment)
        self.shipments[shipment.id] = shipment
        return shipment

    def list_orders(
        self, channel_id: int | None, ids: str | None, references: str | None, has_tracking: bool | None
    ) -> list[SbOrder]:
        wanted_ids = {int(i) for i in (ids or "").split(",") if i.strip().isdigit()} if ids else None
        wanted_refs = {r.strip() for r in (references or "").split(",") if r.strip()} if references else None
        found = []
        for order in self.orders.values():
            if channel_id is not None and order.channel_id != channel_id:
                continue
            if wanted_ids is not None and order.id not in wanted_ids:
                continue
            if wanted_refs is not None and order.reference_id not in wanted_refs:
                continue
            if has_tracking is not None and any(s.tracking for s in order.shipments) != has_tracking:
                continue
            found.append(order)
        return found

    def cancel(self, order: SbOrder) -> dict[str, Any]:
        if order.status is OrderStatus.CANCELLED:
            raise _invalid(422, "order_id", f"Order {order.id} is already cancelled.")
        results = []
        for shipment in order.shipments:
            if shipment.status is ShipmentStatus.CANCELLED:
                continue
            refusal = self._cancel_refusal(shipment)
            if refusal is None:
                shipment.status = ShipmentStatus.CANCELLED
                shipment.updated = _now()
                timer = self._timers.pop(shipment.id, None)
                if timer is not None:
                    timer.cancel()
                self.emit(ShipBobTopic.SHIPMENT_CANCELLED, shipment.to_json())
            results.append(
                {"action": "Cancel", "is_success": refusal is None, "reason": refusal, "shipment_id": shipment.id}
            )
        succeeded = sum(1 for r in results if r["is_success"])
        status = "Success" if succeeded == len(results) else "PartialSuccess" if succeeded else "Failure"
        return {"order_id": order.id, "status": status, "canceled_shipment_results": results, "order": order.to_json()}

    @staticmethod
    def _cancel_refusal(shipment: SbShipment) -> str | None:
        if shipment.shipped:
            return f"Shipment {shipment.id} is already shipped and cannot be cancelled."
        if shipment.stage:
            return f"Shipment {shipment.id} is already {shipment.stage.lower()} and cannot be cancelled."
        return None

    # --- fulfilment ---

    def _schedule(self, shipment: SbShipment, delay: float) -> None:
        async def later() -> None:
            await asyncio.sleep(delay)
            self._timers.pop(shipment.id, None)
            self.ship(shipment)

        self._timers[shipment.id] = asyncio.get_running_loop().create_task(later())

    def ship_order(self, order: SbOrder, parts: int = 1, count: int | None = None) -> list[dict[str, Any]]:
        """Label the order's pending shipments now (the first `count` of them); `parts=2` first
        splits a single pending shipment in two, as ShipBob does for a split order."""
        pending = [s for s in order.shipments if s.pending]
        if parts == 2 and len(pending) == 1 and sum(line.quantity for line in pending[0].lines) >= 2:
            first, rest = split_lines(pending[0].lines)
            pending[0].lines = first
            pending.append(self._add_shipment(order, pending[0].center, rest))
        return [payload for s in pending[:count] if (payload := self.ship(s)) is not None]

    def ship(self, shipment: SbShipment) -> dict[str, Any] | None:
        """Print the label: tracking, stock out of the center, `order.shipped`, then Completed."""
        if not shipment.pending:
            return None
        timer = self._timers.pop(shipment.id, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        carrier = self.knobs.value.carrier
        number = self._tracking_number(carrier)
        at = _now()
        shipment.status = ShipmentStatus.LABELED_CREATED
        shipment.stage = None
        shipment.fulfilled_at = at
        shipment.updated = at
        shipment.tracking = {
            "carrier": carrier,
            "carrier_service": "Ground",
            "tracking_number": number,
            "tracking_url": _TRACKING_URLS[carrier].format(number),
            "shipping_date": at,
            "bol": None,
            "pro_number": None,
            "scac": None,
        }
        levels = self.stock.setdefault(shipment.center, {})
        for line in shipment.lines:
            levels[line.product.sku] = max(0, levels.get(line.product.sku, 0) - line.quantity)
        payload = shipment.to_json()
        self.emit(ShipBobTopic.ORDER_SHIPPED, payload)
        # ShipBob moves a labelled shipment to Completed shortly after: readers must accept both.
        shipment.status = ShipmentStatus.COMPLETED
        return payload

    def deliver(self, order: SbOrder) -> list[dict[str, Any]]:
        delivered = []
        for shipment in order.shipments:
            if shipment.shipped and shipment.delivered_at is None:
                shipment.delivered_at = shipment.updated = _now()
                payload = shipment.to_json()
                self.emit(ShipBobTopic.SHIPMENT_DELIVERED, payload)
                delivered.append(payload)
        return delivered

    def pick(self, order: SbOrder, stage: str) -> list[dict[str, Any]]:
        picked = []
        for shipment in order.shipments:
            if shipment.pending:
                shipment.stage = stage
                shipment.updated = _now()
                timer = self._timers.pop(shipment.id, None)
                if timer is not None:
                    timer.cancel()
                picked.append(shipment.to_json())
        return picked

    def _tracking_number(self, carrier: str) -> str:
        if carrier == "UPS":
            return "1Z" + "".join(self.rng.choices(string.ascii_uppercase + string.digits, k=16))
        if carrier == "FedEx":
            return "".join(self.rng.choices(string.digits, k=12))
        return "9400" + "".join(self.rng.choices(string.digits, k=18))

    # --- webhooks ---

    def emit(self, topic: str, resource: dict[str, Any]) -> None:
        webhook_id = f"msg_{secrets.token_urlsafe(18)}"
        body = json.dumps(resource).encode()
        knobs = self.knobs.value
        self.sender.emit(
            self.options.webhook_url,
            topic,
            body,
            partial(self.signed_headers, webhook_id, topic, body),
            webhook_id=webhook_id,
            duplicate=knobs.duplicate_deliveries,
            hold=knobs.hold_deliveries,
        )

    def signed_headers(self, webhook_id: str, topic: str, body: bytes) -> dict[str, str]:
        """Headers signed now: every attempt gets a fresh timestamp, as ShipBob's do."""
        timestamp = int(time.time())
        return {
            "Content-Type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": standard_webhook_signature(self.webhook_secret, webhook_id, timestamp, body),
            TOPIC_HEADER: topic,
        }

    async def aclose(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        await self.sender.aclose()


def create_app(options: SandboxOptions, *, webhook_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    sb = ShipBobSandbox(options, webhook_transport)
    app = sandbox_app(f"ShipBob sandbox ({options.channel.id})", sb)

    async def shipbob_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ShipBobApiError)
        return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)

    async def validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"][1:]) or str(error["loc"][0])
            errors.setdefault(name, []).append(error["msg"])
        return JSONResponse(errors, status_code=400)

    app.add_exception_handler(ShipBobApiError, shipbob_error)
    app.add_exception_handler(RequestValidationError, validation_error)

    async def authenticate(request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip(), sb.api_token):
            raise ShipBobApiError(
                401, {"message": "Authorization has been denied for this request."}, {"WWW-Authenticate": "Bearer"}
            )

    async def rate_limit(response: Response) -> None:
        response.headers[REMAINING_CALLS_HEADER] = str(sb.take_call())

    async def known_version(version: str) -> None:
        if version not in SUPPORTED_VERSIONS:
            raise ShipBobApiError(404, {"message": f"API version {version!r} is not available."})

    api = APIRouter(
        prefix="/{version}",
        dependencies=[Depends(sb.faults.check), Depends(authenticate), Depends(rate_limit), Depends(known_version)],
    )

    @api.get("/channel")
    async def channels() -> list[dict[str, Any]]:
        return [
            {
                "id": sb.channel_id,
                "name": sb.channel_name,
                "application_name": "Orderloop",
                "scopes": ["orders_read", "orders_write", "inventory_read", "webhooks_read", "webhooks_write"],
            }
        ]

    @api.post("/order", status_code=201)
    async def create_order(request: Request) -> dict[str, Any]:
        channel = sb.check_channel(request.headers.get(CHANNEL_HEADER), required=True)
        assert channel is not None
        return sb.create(channel, await read_json(request, lambda reason: _invalid(400, "", reason)))

    @api.get("/order")
    async def list_orders(
        request: Request,
        response: Response,
        page: Annotated[int, Query(alias="Page", ge=1)] = 1,
        limit: Annotated[int, Query(alias="Limit", ge=1, le=250)] = 50,
        ids: Annotated[str | None, Query(alias="IDs")] = None,
        references: Annotated[str | None, Query(alias="ReferenceIds")] = None,
        has_tracking: Annotated[bool | None, Query(alias="HasTracking")] = None,
    ) -> list[dict[str, Any]]:
        channel = sb.check_channel(request.headers.get(CHANNEL_HEADER), required=False)
        found = sb.list_orders(channel, ids, references, has_tracking)
        pages = max(1, math.ceil(len(found) / limit))
        response.headers.update({"page-number": str(page), "total-pages": str(pages), "total-count": str(len(found))})
        return [o.to_json() for o in found[(page - 1) * limit : page * limit]]

    @api.get("/order/{order_id}")
    async def get_order(order_id: int) -> dict[str, Any]:
        return sb.order(order_id).to_json()

    @api.get("/order/{order_id}/shipment")
    async def order_shipments(order_id: int) -> list[dict[str, Any]]:
        return [s.to_json() for s in sb.order(order_id).shipments]

    @api.post("/order/{order_id}:cancel")
    async def cancel_order(order_id: int) -> dict[str, Any]:
        return sb.cancel(sb.order(order_id))

    @api.get("/shipment/{shipment_id}")
    async def get_shipment(shipment_id: int) -> dict[str, Any]:
        shipment = sb.shipments.get(shipment_id)
        if shipment is None:
            raise ShipBobApiError(404, {"message": f"Shipment {shipment_id} was not found."})
        return shipment.to_json()

    def paged(request: Request, rows: list[dict[str, Any]], size: int, cursor: int) -> dict[str, Any]:
        def link(at: int) -> str:
            return str(request.url.remove_query_params("Cursor").include_query_params(Cursor=at, PageSize=size))

        last = max(0, (len(rows) - 1) // size * size)
        return {
            "items": rows[cursor : cursor + size],
            "first": None if cursor == 0 else link(0),
            "prev": link(max(0, cursor - size)) if cursor > 0 else None,
            "next": link(cursor + size) if cursor + size < len(rows) else None,
            "last": None if cursor >= last else link(last),
        }

    @api.get("/inventory-level")
    async def inventory_levels(
        request: Request,
        page_size: Annotated[int, Query(alias="PageSize", ge=1, le=250)] = 50,
        cursor: Annotated[int, Query(alias="Cursor", ge=0)] = 0,
    ) -> dict[str, Any]:
        return paged(request, sb.inventory_totals(), page_size, cursor)

    @api.get("/inventory-level/locations")
    async def inventory_by_center(
        request: Request,
        page_size: Annotated[int, Query(alias="PageSize", ge=1, le=250)] = 50,
        cursor: Annotated[int, Query(alias="Cursor", ge=0)] = 0,
        location_id: Annotated[int | None, Query(alias="LocationId")] = None,
    ) -> dict[str, Any]:
        rows = sb.inventory_by_center()
        if location_id is not None:
            rows = [
                {**row, "locations": [loc for loc in row["locations"] if loc["location_id"] == location_id]}
                for row in rows
            ]
            rows = [row for row in rows if row["locations"]]
        return paged(request, rows, page_size, cursor)

    controls = APIRouter(prefix="/_sandbox")

    @controls.post("/ship/{ref:path}")
    async def ship_now(
        ref: str,
        parts: Annotated[int, Query(ge=1, le=2)] = 1,
        count: Annotated[int | None, Query(ge=1)] = None,
    ) -> dict[str, Any]:
        order = sb.find(ref)
        shipped = sb.ship_order(order, parts, count)
        if not shipped:
            raise ShipBobApiError(409, {"message": f"order {order.id} is {order.status.value}: nothing to ship"})
        return {"shipments": shipped, "order": order.to_json()}

    @controls.post("/pick/{ref:path}")
    async def pick(ref: str, stage: Annotated[Literal["Picked", "Packed"], Query()] = "Picked") -> dict[str, Any]:
        order = sb.find(ref)
        return {"shipments": sb.pick(order, stage), "order": order.to_json()}

    @controls.post("/deliver/{ref:path}")
    async def deliver(ref: str) -> dict[str, Any]:
        order = sb.find(ref)
        return {"shipments": sb.deliver(order), "order": order.to_json()}

    @controls.get("/orders")
    async def sandbox_orders() -> list[dict[str, Any]]:
        return [o.to_json() for o in sb.orders.values()]

    @controls.get("/stock")
    async def sandbox_stock() -> list[dict[str, Any]]:
        return sb.inventory_by_center()

    @controls.post("/stock")
    async def set_stock(stock: StockKnob, replace: bool = False) -> list[dict[str, Any]]:
        try:
            check_stock(stock)
        except ValueError as exc:
            raise _invalid(400, "stock", str(exc)) from None
        sb.set_stock(stock, replace=replace)
        return sb.inventory_by_center()

    app.include_router(controls)
    app.include_router(api)
    return app
