"""The merchant's state at ShipBob and the API gate: knobs, Bearer auth, the channel header,
API versions, the sliding 150-calls-a-minute window with its headers, ShipBob's error answers,
and Standard-Webhooks-signed deliveries (signed afresh at every attempt)."""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import math
import random
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal

import httpx
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.base import SandboxOptions
from connectors.sandbox_kit import (
    ResourceStore,
    SandboxState,
    SlidingWindow,
    VendorError,
)
from connectors.shipbob.client import CHANNEL_HEADER, REMAINING_CALLS_HEADER, RETRY_AFTER_HEADER
from connectors.shipbob.sandbox.payloads import Product, SbOrder, SbShipment
from connectors.shipbob.webhooks import TOPIC_HEADER
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



class ShipBobApiError(VendorError):
    """An error answer in ShipBob's own shape (`body` as is)."""


def invalid(status: int, field_name: str, message: str) -> ShipBobApiError:
    """A validation error as ASP.NET model state: `{field: [message]}`."""
    return ShipBobApiError(status, {field_name: [message]})


def shipbob_error_body(status: int, message: str) -> dict[str, Any]:
    """The shape of ShipBob's gateway errors (its 429 is one), also for every route not served."""
    return {"statusCode": status, "message": message}


async def validation_error(_: Request, exc: Exception) -> Response:
    """A query that does not validate: 400 with ShipBob's `{field: [reason]}`."""
    assert isinstance(exc, RequestValidationError)
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        name = ".".join(str(p) for p in error["loc"][1:]) or str(error["loc"][0])
        errors.setdefault(name, []).append(error["msg"])
    return JSONResponse(errors, status_code=400)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _not_found(kind: str) -> Callable[[Any], ShipBobApiError]:
    return lambda resource_id: ShipBobApiError(404, {"message": f"{kind} {resource_id} was not found."})


class MerchantState(SandboxState[ShipBobKnobs]):
    """The merchant's state and the API gate; inventory and orders build on it."""

    def __init__(self, options: SandboxOptions, webhook_transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(options, ShipBobKnobs, webhook_transport=webhook_transport)
        self.rng = random.Random(self.knobs.value.seed)
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
        # Products by SKU (their ids from 300,000,001); orders and shipments by ShipBob's ids.
        self.products: ResourceStore[Product] = ResourceStore(itertools.count(300_000_001), id_of=lambda p: p.sku)
        self.stock: dict[int, dict[str, int]] = {}
        self.orders: ResourceStore[SbOrder] = ResourceStore(
            itertools.count(100_000_001), id_of=lambda o: o.id, missing=_not_found("Order")
        )
        self.by_reference: dict[str, SbOrder] = {}
        self.shipments: ResourceStore[SbShipment] = ResourceStore(
            itertools.count(200_000_001), id_of=lambda s: s.id, missing=_not_found("Shipment")
        )
        self.window = SlidingWindow(self.knobs.value.rate_limit, self.knobs.value.rate_window)

    def knobs_changed(self, changes: dict[str, Any]) -> None:
        value = self.knobs.value
        if "seed" in changes:
            self.rng.seed(value.seed)
        if "rate_limit" in changes or "rate_window" in changes:
            self.window = SlidingWindow(value.rate_limit, value.rate_window)

    # --- API checks ---

    def check_channel(self, raw: str | None, required: bool) -> int | None:
        if raw is None or not raw.strip():
            if required:
                raise invalid(400, CHANNEL_HEADER, "The shipbob_channel_id header is required.")
            return None
        try:
            channel = int(raw)
        except ValueError:
            raise invalid(400, CHANNEL_HEADER, f"'{raw}' is not a valid channel id.") from None
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

    async def authenticate(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip(), self.api_token):
            raise ShipBobApiError(
                401, {"message": "Authorization has been denied for this request."}, {"WWW-Authenticate": "Bearer"}
            )

    async def rate_limit(self, response: Response) -> None:
        response.headers[REMAINING_CALLS_HEADER] = str(self.take_call())

    async def known_version(self, version: str) -> None:
        if version not in SUPPORTED_VERSIONS:
            raise ShipBobApiError(404, {"message": f"API version {version!r} is not available."})

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
