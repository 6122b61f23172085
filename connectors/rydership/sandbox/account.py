"""The state of one RyderShip (Whiplash) account in the sandbox: its OAuth application (refresh
grant issuing 2 h access tokens and a new refresh token each time, revoking the one spent; 401 `{"error": ...}` once a
token expired), the per-account limit (10 requests a second; 429 with `X-RateLimit-*` and
`Retry-After`), orders validated as Whiplash does (422 `{"error": ...}`; a known `order_orig`
refused), their life (processing -> picked -> shipped, on a timer or by control; cancel refused
once picked; a cancel or an edit in Whiplash's own UI by control), stock per warehouse and
item, and the signed webhooks (`X-WHIPLASH-SIGNATURE`)."""

from __future__ import annotations

import itertools
import json
import math
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import SandboxOptions
from connectors.rydership.mapping import STATUS_NAMES, OrderStatus
from connectors.rydership.webhooks import SIGNATURE_HEADER, RyderShipEvent, signature
from connectors.sandbox_kit import SandboxState, SlidingWindow, VendorError

SEED_STOCK = {"TSHIRT-BLK-M": 500, "TSHIRT-WHT-M": 500, "MUG-11OZ": 300, "POSTER-A2": 50, "HOODIE-GRY-L": 200}
RATE_LIMIT = 10
# The flat address fields of a Whiplash order (what a hand edit in its UI may change).
SHIPPING_FIELDS = (
    "shipping_name",
    "shipping_company",
    "shipping_address_1",
    "shipping_address_2",
    "shipping_city",
    "shipping_state",
    "shipping_zip",
    "shipping_country_iso2",
    "shipping_phone",
)


class RyderShipKnobs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token_ttl: float = Field(default=7200, gt=0)
    per_second: int = Field(default=RATE_LIMIT, ge=1)
    ship_delay: float = Field(default=1.0, ge=0)
    auto_ship: bool = True
    deliver_webhooks: bool = True
    duplicate_deliveries: bool = False
    # The next n create answers are lost after the order was created (504).
    lose_create_answers: int = Field(default=0, ge=0)
    carrier: str = "USPS Priority Mail"
    stock: dict[str, dict[str, int]] = Field(default_factory=dict)


class WhiplashError(VendorError):
    """An answer in Whiplash's shape (`{"error": text}` unless given another body)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, {"error": body} if isinstance(body, str) else body, headers)


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": message}


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class SbOrder:
    id: int
    body: dict[str, Any]
    items: list[dict[str, Any]]
    status: OrderStatus = OrderStatus.PROCESSING
    tracking: list[str] = field(default_factory=list)
    ship_method: str | None = None
    shipped_on: str | None = None
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    attention: str | None = None

    @property
    def orig(self) -> str:
        return str(self.body["order_orig"])

    @property
    def open(self) -> bool:
        return self.status < OrderStatus.SHIPPED and self.status != OrderStatus.CANCELLED

    def resource(self) -> dict[str, Any]:
        shipped = self.status >= OrderStatus.SHIPPED
        fields = {k: v for k, v in self.body.items() if k not in ("order_items_attributes", "originator_attributes")}
        return {
            **fields,
            "id": self.id,
            "status": int(self.status),
            "status_name": STATUS_NAMES[self.status],
            "originator": {"original_id": self.orig, **(self.body.get("originator_attributes") or {})},
            "order_items": self.items,
            "tracking": list(self.tracking) if shipped else [],
            "tracking_links": [f"https://tools.usps.com/go/TrackConfirmAction?tLabels={t}" for t in self.tracking]
            if shipped
            else [],
            "ship_method": self.ship_method,
            "shipped_on": self.shipped_on,
            "attention_message": self.attention,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class Account(SandboxState[RyderShipKnobs]):
    def __init__(self, options: SandboxOptions, webhook_transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(options, RyderShipKnobs, webhook_transport=webhook_transport)
        channel = options.channel
        self.client_id = channel.credential("client_id")
        self.client_secret = channel.credential("client_secret")
        self.webhook_secret = channel.credential("webhook_secret")
        # The refresh tokens still valid: the consent's, until spent. Each grant spends the one
        # sent and issues a new one, as Whiplash does; a spent one is refused (invalid_grant).
        self.refresh_tokens = {channel.credential("refresh_token")}
        self.refresh_spent = 0
        self.tokens: dict[str, float] = {}
        self.tokens_issued = 0
        self.throttled = 0
        self.window = SlidingWindow(self.knobs.value.per_second, 1.0)
        self.warehouses: dict[str, int] = dict(channel.settings.get("warehouses") or {"main": 1})
        self.ids = itertools.count(4_100_001)
        self.item_ids: dict[str, int] = {}
        self.orders: dict[int, SbOrder] = {}
        self.stock: dict[int, dict[str, int]] = {}
        seeded = {self.warehouses[loc]: dict(lv) for loc, lv in options.stock.items() if loc in self.warehouses}
        self.set_stock(self.knobs.value.stock or seeded or {str(w): SEED_STOCK for w in self.warehouses.values()})
        self._serial = itertools.count(1)

    def knobs_changed(self, changes: dict[str, Any]) -> None:
        if "per_second" in changes:
            self.window = SlidingWindow(self.knobs.value.per_second, 1.0)
        if changes.get("stock"):
            self.set_stock(self.knobs.value.stock)

    def set_stock(self, stock: dict[Any, dict[str, int]]) -> None:
        self.stock = {int(w): dict(levels) for w, levels in stock.items()}
        for w in self.warehouses.values():
            self.stock.setdefault(w, {})
        for levels in self.stock.values():
            for sku in levels:
                self.item_ids.setdefault(sku, 7_000_001 + len(self.item_ids))

    # --- OAuth ---

    async def token(self, request: Request) -> Any:
        """form grant_type=refresh_token, refresh_token, client_id, client_secret: a token"""
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        if not (
            secrets.compare_digest(form.get("client_id", ""), self.client_id)
            and secrets.compare_digest(form.get("client_secret", ""), self.client_secret)
        ):
            raise WhiplashError(401, {"error": "invalid_client", "error_description": "Client authentication failed."})
        if form.get("grant_type") != "refresh_token":
            raise WhiplashError(400, {"error": "unsupported_grant_type", "error_description": "Use refresh_token."})
        if form.get("refresh_token") not in self.refresh_tokens:
            raise WhiplashError(400, {"error": "invalid_grant", "error_description": "The refresh token is invalid."})
        ttl = self.knobs.value.token_ttl
        token, refresh = secrets.token_hex(32), secrets.token_hex(32)
        self.tokens[token] = time.monotonic() + ttl
        self.refresh_tokens.discard(form["refresh_token"])
        self.refresh_spent += 1
        self.refresh_tokens.add(refresh)
        self.tokens_issued += 1
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": int(ttl),
            "refresh_token": refresh,
            "scope": "user_manage",
            "created_at": int(time.time()),
        }

    def expire_tokens(self) -> int:
        self.tokens = dict.fromkeys(self.tokens, 0.0)
        return len(self.tokens)

    async def throttle(self) -> None:
        """10 a second per account; over it: 429 with the window's headers and `Retry-After`."""
        wait = self.window.acquire()
        if wait > 0:
            self.throttled += 1
            headers = {**self.rate_headers(wait), "Retry-After": str(max(1, math.ceil(wait)))}
            raise WhiplashError(429, "Rate limit exceeded. Please slow down.", headers)

    def rate_headers(self, wait: float = 0.0) -> dict[str, str]:
        """`X-RateLimit-Limit`, `-Remaining`, `-Reset` (epoch seconds), on every API answer."""
        return {
            "X-RateLimit-Limit": str(self.window.limit),
            "X-RateLimit-Remaining": str(self.window.remaining),
            "X-RateLimit-Reset": str(math.ceil(time.time() + max(wait, 1.0))),
        }

    async def authenticate(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expires = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expires is None or time.monotonic() >= expires:
            raise WhiplashError(401, "The access token is invalid or has expired.", {"WWW-Authenticate": "Bearer"})

    # --- orders ---

    def create(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise WhiplashError(422, "An order must be a JSON object.")
        orig = body.get("order_orig")
        if not isinstance(orig, str) or not orig.strip():
            raise WhiplashError(422, {"errors": {"order_orig": ["can't be blank"]}})
        if any(o.orig == orig for o in self.orders.values()):
            raise WhiplashError(422, {"errors": {"order_orig": ["has already been taken"]}})
        errors: dict[str, list[str]] = {}
        for key in ("shipping_name", "shipping_address_1", "shipping_city", "shipping_zip", "shipping_country_iso2"):
            if not str(body.get(key) or "").strip():
                errors[key] = ["can't be blank"]
        if body.get("warehouse_id") not in self.stock:
            errors["warehouse_id"] = [f"{body.get('warehouse_id')!r} is not a warehouse of this account"]
        lines = body.get("order_items_attributes")
        if not isinstance(lines, list) or not lines:
            errors["order_items"] = ["must have at least one item"]
            lines = []
        for line in lines:
            sku = line.get("sku") if isinstance(line, dict) else None
            quantity = line.get("quantity") if isinstance(line, dict) else None
            if sku not in self.item_ids:
                errors.setdefault("order_items", []).append(f"item with sku {sku!r} not found")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                errors.setdefault("order_items", []).append(f"{sku}: quantity must be greater than 0")
        if errors:
            raise WhiplashError(422, {"errors": errors})
        order_id = next(self.ids)
        items = [
            {
                "id": order_id * 10 + n,
                "item_id": self.item_ids[line["sku"]],
                "sku": line["sku"],
                "quantity": line["quantity"],
                "originator_id": line.get("originator_id"),
            }
            for n, line in enumerate(lines, 1)
        ]
        order = SbOrder(order_id, dict(body), items, ship_method=body.get("shop_shipping_method_text"))
        self.orders[order_id] = order
        self.emit("order.created", order)
        knobs = self.knobs.value
        if knobs.auto_ship:
            self.timers.schedule(order_id, knobs.ship_delay / 2, lambda: self._auto_pick(order))
        return order.resource()

    def _auto_pick(self, order: SbOrder) -> None:
        if self.pick(order):
            self.timers.schedule(order.id, self.knobs.value.ship_delay / 2, lambda: self.ship(order))

    def search(self, query: dict[str, str]) -> list[dict[str, Any]]:
        raw = query.get("search")
        try:
            ransack = json.loads(raw) if raw else {}
        except ValueError:
            raise WhiplashError(400, "search must be a JSON object of Ransack predicates.") from None
        wanted = ransack.get("order_orig_eq") if isinstance(ransack, dict) else None
        return [o.resource() for o in self.orders.values() if wanted in (None, o.orig)]

    def find(self, ref: str) -> SbOrder:
        order = self.orders.get(int(ref)) if ref.isdigit() else None
        order = order or next((o for o in self.orders.values() if o.orig == ref), None)
        if order is None:
            raise WhiplashError(404, f"Couldn't find Order with 'id'={ref}")
        return order

    def cancel(self, order: SbOrder) -> dict[str, Any]:
        if order.status == OrderStatus.CANCELLED:
            raise WhiplashError(422, f"Order {order.id} is already cancelled.")
        if order.status >= OrderStatus.PICKED:
            raise WhiplashError(422, f"Order {order.id} cannot be cancelled: it is {STATUS_NAMES[order.status]}.")
        order.status = OrderStatus.CANCELLED
        order.updated_at = now()
        self.timers.cancel(order.id)
        self.emit(RyderShipEvent.ORDER_CANCELLED, order)
        return order.resource()

    def edit(self, order: SbOrder, items: dict[str, int], shipping: dict[str, str | None]) -> dict[str, Any]:
        """A change made in Whiplash's own UI before picking: units per SKU (0 removes the line,
        a new SKU adds one) and `shipping_*` fields. Whiplash sends no webhook for it [?]."""
        if not order.open or order.status >= OrderStatus.PICKED:
            raise WhiplashError(422, f"Order {order.id} cannot be changed: it is {STATUS_NAMES[order.status]}.")
        errors = [f"{key} is not a shipping field" for key in shipping if key not in SHIPPING_FIELDS]
        errors += [f"item with sku {sku!r} not found" for sku in items if sku not in self.item_ids]
        errors += [f"{sku}: quantity must be 0 or more" for sku, quantity in items.items() if quantity < 0]
        if errors:
            raise WhiplashError(422, {"errors": {"order": errors}})
        for sku, quantity in items.items():
            line = next((i for i in order.items if i["sku"] == sku), None)
            if line is None and quantity:
                n = len(order.items) + 1
                order.items.append(
                    {
                        "id": order.id * 10 + n,
                        "item_id": self.item_ids[sku],
                        "sku": sku,
                        "quantity": quantity,
                        "originator_id": None,
                    }
                )
            elif line is not None and quantity:
                line["quantity"] = quantity
            elif line is not None:
                order.items.remove(line)
        order.body.update(shipping)
        order.updated_at = now()
        return order.resource()

    def pick(self, order: SbOrder) -> bool:
        if not order.open or order.status >= OrderStatus.PICKED:
            return False
        order.status, order.updated_at = OrderStatus.PICKED, now()
        return True

    def ship(self, order: SbOrder) -> dict[str, Any] | None:
        if not order.open:
            return None
        self.timers.cancel(order.id)
        order.status = OrderStatus.SHIPPED
        order.ship_method = self.knobs.value.carrier
        order.tracking = [f"9400{next(self._serial):018d}"]
        order.shipped_on = order.updated_at = now()
        order.attention = None
        levels = self.stock.setdefault(int(order.body["warehouse_id"]), {})
        for item in order.items:
            levels[item["sku"]] = max(0, levels.get(item["sku"], 0) - item["quantity"])
            self.emit_item(item["sku"])
        self.emit(RyderShipEvent.ORDER_SHIPPED, order)
        return order.resource()

    def hold(self, order: SbOrder, message: str) -> dict[str, Any]:
        """The warehouse flags the order (an address it cannot ship to, a damaged item)."""
        order.status, order.attention, order.updated_at = OrderStatus.PAUSED, message, now()
        self.timers.cancel(order.id)
        self.emit(RyderShipEvent.ORDER_ATTENTION, order)
        return order.resource()

    # --- items ---

    def available(self, warehouse: int, sku: str) -> int:
        held = sum(
            i["quantity"]
            for o in self.orders.values()
            if o.open and o.body.get("warehouse_id") == warehouse
            for i in o.items
            if i["sku"] == sku
        )
        return max(0, self.stock.get(warehouse, {}).get(sku, 0) - held)

    def items(self) -> list[dict[str, Any]]:
        return [
            {"id": item_id, "sku": sku, "title": sku, "quantity": sum(lv.get(sku, 0) for lv in self.stock.values())}
            for sku, item_id in sorted(self.item_ids.items(), key=lambda kv: kv[1])
        ]

    def quantities(self, item_id: int) -> list[dict[str, Any]]:
        sku = next((s for s, i in self.item_ids.items() if i == item_id), None)
        if sku is None:
            raise WhiplashError(404, f"Couldn't find Item with 'id'={item_id}")
        return [
            {"warehouse_id": w, "item_id": item_id, "quantity": lv.get(sku, 0), "available": self.available(w, sku)}
            for w, lv in sorted(self.stock.items())
            if sku in lv
        ]

    # --- webhooks ---

    def emit(self, event: str, order: SbOrder) -> None:
        self._send(event, {**order.resource(), "event_name": event})

    def emit_item(self, sku: str) -> None:
        item = next(i for i in self.items() if i["sku"] == sku)
        self._send(RyderShipEvent.ITEM_INVENTORY_CHANGED, {**item, "event_name": RyderShipEvent.ITEM_INVENTORY_CHANGED})

    def _send(self, event: str, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        knobs = self.knobs.value
        self.sender.emit(
            self.options.webhook_url,
            event,
            body,
            {"Content-Type": "application/json", SIGNATURE_HEADER: signature(self.webhook_secret, body)},
            duplicate=knobs.duplicate_deliveries,
            deliver=knobs.deliver_webhooks,
        )
