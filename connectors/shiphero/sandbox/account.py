"""The account's state at the ShipHero sandbox and its gate: knobs, the tokens `/auth/*` hands
out (expiring after `token_ttl`), the credit bucket and the hard request cap, warehouses and stock,
orders and their shipments (packages with labels), picking, cancelling, and the signed webhooks
(Shipment Update per package, Order Canceled)."""

from __future__ import annotations

import base64
import itertools
import json
import math
import random
import secrets
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import SandboxOptions
from connectors.sandbox_kit import ResourceStore, SandboxState, SlidingWindow, VendorError
from connectors.shiphero.client import ErrorCode
from connectors.shiphero.mapping import FulfillmentStatus
from connectors.shiphero.webhooks import MESSAGE_ID_HEADER, SIGNATURE_HEADER, signature

SEED_STOCK = {"TSHIRT-BLK-M": 500, "TSHIRT-WHT-M": 500, "MUG-11OZ": 300, "POSTER-A2": 50, "HOODIE-GRY-L": 200}
DEFAULT_WAREHOUSE = "V2FyZWhvdXNlOjEwMDE="  # "Warehouse:1001"
# ShipHero retries a failed delivery 5 times.
WEBHOOK_ATTEMPTS = 6


class ShipHeroKnobs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Seconds from order creation to the labels; 0 labels at once.
    ship_delay: float = Field(default=1.0, ge=0)
    auto_ship: bool = True
    # Packages (labels, Shipment Update webhooks) an order ships in, when it has that many units.
    packages: int = Field(default=1, ge=1, le=5)
    # Seconds an access token lives (ShipHero: 28 days).
    token_ttl: float = Field(default=2_419_200, gt=0)
    # The credit bucket and the complexity of a mutation (a query costs 1 plus the nodes it returns).
    credits: int = Field(default=4004, ge=1)
    credits_per_second: float = Field(default=60.0, gt=0)
    mutation_cost: int = Field(default=10, ge=1)
    # The hard cap: `request_limit` GraphQL requests per `request_window` seconds, then 429.
    request_limit: int = Field(default=7000, ge=1)
    request_window: float = Field(default=300.0, gt=0)
    hold_deliveries: bool = False
    duplicate_deliveries: bool = False
    # Log webhooks but never send them (ShipHero's delivery is not guaranteed): polling must find them.
    drop_webhooks: bool = False
    # The next n `order_create` calls create the order, then answer 504 (the answer lost on the
    # way, as a client timing out sees it): a retried create must find the order, not add one.
    lose_create_answers: int = Field(default=0, ge=0)
    # The same for the next n `return_create` calls (a retried create must find the return).
    lose_return_answers: int = Field(default=0, ge=0)
    carrier: str = "UPS"
    seed: int = 0
    # Initial stock {sku: on_hand} in every warehouse; empty: the locations' seed stock, else SEED_STOCK.
    stock: dict[str, int] = Field(default_factory=dict)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def gid(kind: str, legacy: int) -> str:
    return base64.b64encode(f"{kind}:{legacy}".encode()).decode()


class ShipHeroApiError(VendorError):
    """A ShipHero answer in its own shape (`body` as is)."""


def gql_errors(message: str, code: int, operation: str | None = None, **extra: Any) -> dict[str, Any]:
    error = {"message": message, "operation": operation, "field": operation, "request_id": request_id(), "code": code}
    return {"errors": [{**error, **extra}], "data": None}


def request_id() -> str:
    return secrets.token_hex(12)


@dataclass
class Line:
    id: str
    legacy_id: int
    sku: str
    partner_line_item_id: str
    quantity: int
    shipped: int = 0


@dataclass
class Label:
    id: str
    tracking_number: str
    tracking_url: str
    carrier: str
    method: str
    created: str
    lines: list[tuple[Line, int]]


@dataclass
class SbShipment:
    id: str
    legacy_id: int
    order: SbOrder
    warehouse_id: str
    created: str
    labels: list[Label] = field(default_factory=list)


@dataclass
class SbOrder:
    id: str
    legacy_id: int
    data: dict[str, Any]
    lines: list[Line]
    warehouse_id: str
    created: str
    updated: str
    status: str = FulfillmentStatus.PENDING.value
    picked: bool = False
    shipments: list[SbShipment] = field(default_factory=list)

    @property
    def partner_order_id(self) -> str | None:
        value = self.data.get("partner_order_id")
        return value if isinstance(value, str) else None


class Account(SandboxState[ShipHeroKnobs]):
    """The account: its gate (tokens, credits, request cap) and its state."""

    def __init__(self, options: SandboxOptions, webhook_transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(options, ShipHeroKnobs, webhook_transport=webhook_transport)
        self.sender.max_attempts = WEBHOOK_ATTEMPTS
        channel = options.channel
        self.rng = random.Random(self.knobs.value.seed)
        self.webhook_secret = channel.credential("webhook_secret")
        credentials = channel.credentials
        self.refresh_token = channel.credential("refresh_token") if "refresh_token" in credentials else None
        self.login = (
            (channel.credential("username"), channel.credential("password")) if "username" in credentials else None
        )
        self.access_tokens: dict[str, float] = {}
        mapped: dict[str, str] = dict(channel.settings.get("warehouses") or {})
        self.warehouses: dict[str, str] = {wh: f"ShipHero {loc}" for loc, wh in sorted(mapped.items())} or {
            DEFAULT_WAREHOUSE: "ShipHero Primary"
        }
        self.stock: dict[str, dict[str, int]] = {}
        seeded = {mapped[loc]: dict(levels) for loc, levels in options.stock.items() if loc in mapped and levels}
        self.set_stock(self.knobs.value.stock, seeded)
        self.orders: ResourceStore[SbOrder] = ResourceStore(id_of=lambda o: o.id)
        self._legacy = itertools.count(300_000_001)
        self.new_gate()

    def new_gate(self) -> None:
        knobs = self.knobs.value
        self.credits = float(knobs.credits)
        self.credits_at = time.monotonic()
        self.window = SlidingWindow(knobs.request_limit, knobs.request_window)

    def knobs_changed(self, changes: dict[str, Any]) -> None:
        if changes.keys() & {"credits", "credits_per_second", "request_limit", "request_window"}:
            self.new_gate()
        if "seed" in changes:
            self.rng.seed(self.knobs.value.seed)
        if "stock" in changes:
            self.set_stock(self.knobs.value.stock, {})

    def set_stock(self, levels: dict[str, int], per_warehouse: dict[str, dict[str, int]]) -> None:
        self.stock = {wh: dict(per_warehouse.get(wh) or levels or SEED_STOCK) for wh in self.warehouses}

    def legacy_id(self) -> int:
        return next(self._legacy)

    # --- the gate ---

    def issue_token(self) -> dict[str, Any]:
        token = secrets.token_urlsafe(32)
        ttl = self.knobs.value.token_ttl
        self.access_tokens[token] = time.monotonic() + ttl
        return {
            "access_token": token,
            "expires_in": int(ttl),
            "scope": "openid profile offline_access",
            "token_type": "Bearer",
        }

    def check_token(self, authorization: str | None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        expires = self.access_tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expires is None:
            raise ShipHeroApiError(401, gql_errors("Invalid or missing access token", ErrorCode.UNAUTHORIZED))
        if time.monotonic() >= expires:
            raise ShipHeroApiError(401, gql_errors("The access token has expired", ErrorCode.UNAUTHORIZED))

    def count_request(self) -> None:
        wait = self.window.acquire()
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            body = gql_errors(f"Too many requests: try again in {seconds} seconds", 429)
            raise ShipHeroApiError(429, body, {"Retry-After": str(seconds)})

    def credits_left(self) -> float:
        """Credits in the bucket now, restored at `credits_per_second` up to `credits`."""
        knobs = self.knobs.value
        at = time.monotonic()
        self.credits = min(float(knobs.credits), self.credits + (at - self.credits_at) * knobs.credits_per_second)
        self.credits_at = at
        return self.credits

    def charge(self, credits: int) -> None:
        self.credits = max(0.0, self.credits_left() - credits)

    def throttled(self, required: int, operation: str) -> dict[str, Any] | None:
        """ShipHero's answer when the bucket holds fewer than `required` credits, else None."""
        left = self.credits_left()
        if left >= required:
            return None
        knobs = self.knobs.value
        seconds = max(1, math.ceil((required - left) / knobs.credits_per_second))
        message = (
            f"There are not enough credits to perform the requested operation, which requires {required} credits. "
            f"The max allowed for your account is {knobs.credits} credits per operation. "
            f"Try again in {seconds} seconds"
        )
        return gql_errors(
            message,
            ErrorCode.NOT_ENOUGH_CREDITS,
            operation,
            required_credits=required,
            remaining_credits=int(left),
            time_remaining=f"{seconds} seconds",
        )

    # --- webhooks ---

    def emit(self, webhook_type: str, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        message_id = secrets.token_hex(16)
        knobs = self.knobs.value
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self.webhook_secret, body),
            MESSAGE_ID_HEADER: message_id,
        }
        self.sender.emit(
            self.options.webhook_url,
            webhook_type,
            body,
            headers,
            webhook_id=message_id,
            duplicate=knobs.duplicate_deliveries,
            hold=knobs.hold_deliveries,
            deliver=not knobs.drop_webhooks,
        )

    def tracking_number(self) -> str:
        return "1Z" + "".join(self.rng.choices(string.ascii_uppercase + string.digits, k=16))


def invalid(message: str, operation: str) -> ShipHeroApiError:
    """A refused request: HTTP 200 with `errors[]`, as ShipHero answers."""
    return ShipHeroApiError(200, gql_errors(message, 6, operation))
