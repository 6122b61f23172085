"""The state of one Walmart Marketplace seller in the sandbox: its API key pair and the
client-credentials tokens it issues (900 s; 401 once expired), the headers Walmart requires on
every call, a token bucket per operation (429 when empty; `X-Current-Token-Count` and
`X-Next-Replenishment-Time` on every answer), purchase orders whose lines move Created ->
Acknowledged -> Shipped or Cancelled as Walmart's Orders API moves them (ship only acknowledged
units, once; a carrier Walmart lists, or `otherCarrier` with a tracking URL), inventory per SKU
and ship node, and the ORDER_UPDATES notifications signed as an HMAC subscription."""

from __future__ import annotations

import base64
import itertools
import json
import math
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import SandboxOptions
from connectors.json_values import integer, text
from connectors.sandbox_kit import LeakyBucket, SandboxState
from connectors.walmart.client import (
    ACCESS_TOKEN_HEADER,
    CORRELATION_HEADER,
    REPLENISHMENT_HEADER,
    SERVICE_NAME_HEADER,
    TOKEN_COUNT_HEADER,
    WalmartSettings,
)
from connectors.walmart.mapping import WALMART_CARRIERS, CancelReason, LineStatus, epoch_ms, obj
from connectors.walmart.sandbox.errors import error_body, walmart_error
from connectors.walmart.sandbox.returns import ReturnsDesk
from connectors.walmart.webhooks import EVENT_TYPE, SubEvent, signature

__all__ = ["Seller", "error_body", "walmart_error"]

CATALOG = {"TSHIRT-BLK-M": 19.0, "TSHIRT-WHT-M": 19.0, "MUG-11OZ": 12.0, "POSTER-A2": 15.0, "HOODIE-GRY-L": 45.0}
DEFAULT_NODE = "10001234567"
METHODS = {"standard": "Standard", "express": "Express", "value": "Value", "oneday": "OneDay", "freight": "Freight"}


class WalmartKnobs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token_ttl: float = Field(default=900, gt=0)
    # Each operation's bucket: `burst` calls, refilled at `calls_per_second`.
    burst: int = Field(default=20, ge=1)
    calls_per_second: float = Field(default=10.0, gt=0)
    max_page_size: int = Field(default=200, ge=1, le=200)
    deliver_webhooks: bool = True
    duplicate_deliveries: bool = False
    # Walmart refuses the next ship-lines call (400) on its own grounds.
    reject_shipments: bool = False
    # estimatedShipDate of a placed order: its order date plus this.
    ship_days: float = Field(default=2.0, ge=0)


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def ms_ceil(seconds: float) -> int:
    """Epoch milliseconds of the next whole second at or after `seconds`."""
    return math.ceil(seconds) * 1000


def _when(value: str | None) -> datetime | None:
    return epoch_ms(value) if value else None


@dataclass
class SbLine:
    number: str
    sku: str
    name: str
    quantity: int
    price: float
    status_date: int
    # [{status, quantity, reason?, tracking?}], merged per status (and tracking number).
    statuses: list[dict[str, Any]] = field(default_factory=list)

    def units(self, *wanted: LineStatus) -> int:
        return sum(s["quantity"] for s in self.statuses if s["status"] in wanted)

    def move(self, source: LineStatus, target: LineStatus, quantity: int, **extra: Any) -> None:
        left = quantity
        for status in [s for s in self.statuses if s["status"] == source]:
            take = min(left, status["quantity"])
            status["quantity"] -= take
            left -= take
        self.statuses = [s for s in self.statuses if s["quantity"] > 0]
        same = next((s for s in self.statuses if s["status"] == target and s.get("extra") == extra), None)
        if same is None:
            self.statuses.append({"status": target, "quantity": quantity, "extra": extra})
        else:
            same["quantity"] += quantity
        self.status_date = ms(datetime.now(UTC))

    def resource(self) -> dict[str, Any]:
        statuses = []
        for s in self.statuses:
            extra = s.get("extra") or {}
            statuses.append(
                {
                    "status": str(s["status"]),
                    "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(s["quantity"])},
                    "cancellationReason": extra.get("reason"),
                    "trackingInfo": extra.get("tracking"),
                    "returnCenterAddress": None,
                }
            )
        return {
            "lineNumber": self.number,
            "item": {"productName": self.name, "sku": self.sku},
            "charges": {
                "charge": [
                    {
                        "chargeType": "PRODUCT",
                        "chargeName": "ItemPrice",
                        "chargeAmount": {"currency": "USD", "amount": round(self.price * self.quantity, 2)},
                        "tax": {"taxName": "Tax1", "taxAmount": {"currency": "USD", "amount": 0.0}},
                    }
                ]
            },
            "orderLineQuantity": {"unitOfMeasurement": "EACH", "amount": str(self.quantity)},
            "statusDate": self.status_date,
            "orderLineStatuses": {"orderLineStatus": statuses},
            "refund": None,
            "fulfillment": {"fulfillmentOption": "S2H", "shipMethod": "STANDARD", "pickUpDateTime": None},
        }


@dataclass
class SbOrder:
    po: str
    customer_order_id: str
    order_date: int
    email: str
    shipping_info: dict[str, Any]
    lines: list[SbLine]
    ship_node_type: str = "SellerFulfilled"

    def line(self, number: Any) -> SbLine | None:
        return next((ln for ln in self.lines if ln.number == text(number)), None)

    @property
    def modified(self) -> int:
        return max([self.order_date, *(ln.status_date for ln in self.lines)])

    def resource(self) -> dict[str, Any]:
        return {
            "purchaseOrderId": self.po,
            "customerOrderId": self.customer_order_id,
            "customerEmailId": self.email,
            "orderType": "REGULAR",
            "orderDate": self.order_date,
            "shippingInfo": self.shipping_info,
            "orderLines": {"orderLine": [ln.resource() for ln in self.lines]},
            "shipNode": {"type": self.ship_node_type, "name": "Orderloop demo node", "id": DEFAULT_NODE},
        }


# The operations Walmart limits separately, by method and path.
def operation(method: str, path: str) -> str:
    if path.endswith("/token"):
        return "token"
    if path.startswith("/v3/inventory"):
        return "inventory"
    if path.startswith("/v3/returns"):
        return "refund" if path.endswith("/refund") else "returns"
    for action in ("acknowledge", "shipping", "cancel"):
        if path.endswith(f"/{action}"):
            return action
    return "orders" if method == "GET" else "other"


class Seller(SandboxState[WalmartKnobs]):
    def __init__(self, options: SandboxOptions, webhook_transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(options, WalmartKnobs, webhook_transport=webhook_transport)
        channel = options.channel
        self.client_id = channel.credential("client_id")
        self.client_secret = channel.credential("client_secret")
        self.auth_header = WalmartSettings.of(channel).webhook_auth_header
        self.tokens: dict[str, float] = {}
        self.tokens_issued = 0
        self.throttled = 0
        self.buckets: dict[str, LeakyBucket] = {}
        self.orders: dict[str, SbOrder] = {}
        self.po_ids = itertools.count(1_796_277_083_001)
        self.inventory: dict[str, dict[str, int]] = {sku: {DEFAULT_NODE: 0} for sku in CATALOG}
        self.returns = ReturnsDesk(self)

    def knobs_changed(self, changes: dict[str, Any]) -> None:
        if "burst" in changes or "calls_per_second" in changes:
            self.buckets.clear()

    # --- auth, headers, limits ---

    async def token(self, request: Request) -> Any:
        """form grant_type=client_credentials, Basic auth clientId:clientSecret: a 900 s token"""
        self.require_headers(request)
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
        except ValueError:
            client_id, secret = "", ""
        if scheme.lower() != "basic" or not (
            secrets.compare_digest(client_id, self.client_id) and secrets.compare_digest(secret, self.client_secret)
        ):
            raise walmart_error(
                401, "UNAUTHORIZED.GMP_GATEWAY_API", "Unauthorized", "Invalid client id or secret", "UNAUTHORIZED"
            )
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            raise walmart_error(
                400,
                "INVALID_REQUEST_PARAM.GMP_GATEWAY_API",
                "grant_type must be client_credentials",
                field_="grant_type",
            )
        ttl = self.knobs.value.token_ttl
        token = secrets.token_urlsafe(48)
        self.tokens[token] = time.monotonic() + ttl
        self.tokens_issued += 1
        return {"access_token": token, "token_type": "Bearer", "expires_in": int(ttl)}

    def expire_tokens(self) -> int:
        self.tokens = dict.fromkeys(self.tokens, 0.0)
        return len(self.tokens)

    def require_headers(self, request: Request) -> None:
        for header in (CORRELATION_HEADER, SERVICE_NAME_HEADER):
            if not request.headers.get(header, "").strip():
                raise walmart_error(
                    400, "INVALID_REQUEST_HEADER.GMP_GATEWAY_API", f"{header} header is required", field_=header
                )

    async def authenticate(self, request: Request) -> None:
        self.require_headers(request)
        expires = self.tokens.get(request.headers.get(ACCESS_TOKEN_HEADER, "").strip())
        if expires is None or time.monotonic() >= expires:
            raise walmart_error(
                401,
                "UNAUTHORIZED.GMP_GATEWAY_API",
                "Unauthorized",
                "Unauthorized token or Invalid token.",
                "UNAUTHORIZED",
            )

    def bucket(self, request: Request) -> LeakyBucket:
        op = operation(request.method, request.url.path)
        knobs = self.knobs.value
        if op not in self.buckets:
            self.buckets[op] = LeakyBucket(knobs.burst, knobs.calls_per_second)
        return self.buckets[op]

    async def throttle(self, request: Request) -> None:
        """Each operation's bucket; empty: 429 with the replenishment time (and `Date`)."""
        wait = self.bucket(request).acquire()
        if wait > 0:
            self.throttled += 1
            exc = walmart_error(
                429, "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API", "Too Many Requests", field_="request"
            )
            exc.headers.update(self.rate_headers(request, wait))
            exc.headers["Date"] = formatdate(usegmt=True)
            raise exc

    def rate_headers(self, request: Request, wait: float | None = None) -> dict[str, str]:
        bucket = self.bucket(request)
        now = time.time()
        if wait is None:
            left = bucket.size - bucket.level
            wait = 0.0 if left >= 1 else (1 - left) / bucket.rate
        tokens = max(0, math.floor(bucket.size - bucket.level))
        # Whole seconds ahead, so a client counting from the `Date` second never retries early.
        return {TOKEN_COUNT_HEADER: str(tokens), REPLENISHMENT_HEADER: str(ms_ceil(now + wait))}

    # --- orders ---

    def place(self, body: Any) -> dict[str, Any]:
        """A demo order (onX-ish, as `orderloop demo` places them) becomes a released purchase order."""
        if not isinstance(body, dict):
            raise walmart_error(400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API", "an order must be a JSON object")
        items = body.get("lineItems") or body.get("line_items")
        if not isinstance(items, list) or not items:
            raise walmart_error(400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API", "lineItems must list the order's lines")
        now = datetime.now(UTC)
        address = body.get("shippingAddress") or {}
        name = " ".join(str(address.get(k)) for k in ("firstName", "lastName") if address.get(k)) or "Walmart Customer"
        method = METHODS.get(str(body.get("shippingCode") or "standard").lower(), str(body.get("shippingCode")))
        postal = {
            "name": name,
            "address1": address.get("address1"),
            "address2": address.get("address2"),
            "city": address.get("city"),
            "state": address.get("stateOrProvince"),
            "postalCode": address.get("zipCodeOrPostalCode"),
            "country": "USA" if address.get("country") in (None, "US", "USA") else address.get("country"),
            "addressType": "RESIDENTIAL",
        }
        po = str(next(self.po_ids))
        lines = []
        for n, item in enumerate(items, 1):
            sku = str(item.get("sku"))
            quantity = integer(item.get("quantity")) or 1
            price = float(item.get("unitPrice") or CATALOG.get(sku, 10.0))
            line = SbLine(str(n), sku, sku.replace("-", " ").title(), quantity, price, ms(now))
            line.statuses.append({"status": LineStatus.CREATED, "quantity": quantity, "extra": {}})
            lines.append(line)
        order = SbOrder(
            po=po,
            customer_order_id=str(body.get("externalId") or f"5{po[1:]}"),
            order_date=ms(now),
            email=f"{uuid.uuid4().hex.upper()}@relay.walmart.com",
            shipping_info={
                "phone": "2025550143",
                "estimatedDeliveryDate": ms(now + timedelta(days=self.knobs.value.ship_days + 3)),
                "estimatedShipDate": ms(now + timedelta(days=self.knobs.value.ship_days)),
                "methodCode": method,
                "postalAddress": postal,
            },
            lines=lines,
            ship_node_type=str(body.get("shipNodeType") or "SellerFulfilled"),
        )
        self.orders[po] = order
        self.notify(SubEvent.PO_CREATED, order)
        return {"id": po, **order.resource()}

    def find(self, po: str) -> SbOrder:
        order = self.orders.get(po)
        if order is None:
            raise walmart_error(
                404, "CONTENT_NOT_FOUND.GMP_ORDER_API", f"purchase order {po} was not found", field_="purchaseOrderId"
            )
        return order

    def listing(self, query: Any, released: bool) -> dict[str, Any]:
        """`GET /v3/orders[/released]`: filters, `limit` (<= 200) and Walmart's `nextCursor`."""
        limit = integer(query.get("limit")) or 10
        if not 1 <= limit <= 200:
            raise walmart_error(400, "INVALID_REQUEST_PARAM.GMP_ORDER_API", "limit must be 1 to 200", field_="limit")
        limit = min(limit, self.knobs.value.max_page_size)
        offset = integer(query.get("soIndex")) or 0
        created = _when(query.get("createdStartDate"))
        modified = _when(query.get("lastModifiedStartDate"))
        node_type = query.get("shipNodeType")
        rows = [
            o
            for o in self.orders.values()
            if (not released or any(ln.units(LineStatus.CREATED) for ln in o.lines))
            and (created is None or o.order_date >= ms(created))
            and (modified is None or o.modified >= ms(modified))
            and (node_type is None or o.ship_node_type == node_type)
        ]
        page = rows[offset : offset + limit]
        meta: dict[str, Any] = {"totalCount": len(rows), "limit": limit, "nextCursor": None}
        if offset + limit < len(rows):
            kept = {
                k: v for k, v in query.items() if k in ("createdStartDate", "lastModifiedStartDate", "shipNodeType")
            }
            cursor = {"limit": limit, "hasMoreElements": "true", "soIndex": offset + limit, **kept}
            meta["nextCursor"] = f"?{urlencode(cursor)}"
        return {"list": {"meta": meta, "elements": {"order": [o.resource() for o in page]}}}

    def acknowledge(self, order: SbOrder) -> dict[str, Any]:
        if not any(ln.units(LineStatus.CREATED, LineStatus.ACKNOWLEDGED) for ln in order.lines):
            raise walmart_error(
                400,
                "INVALID_REQUEST_CONTENT.GMP_ORDER_API",
                f"purchase order {order.po} has no line to acknowledge: every line is shipped or cancelled",
            )
        for line in order.lines:
            created = line.units(LineStatus.CREATED)
            if created:
                line.move(LineStatus.CREATED, LineStatus.ACKNOWLEDGED, created)
        return {"order": order.resource()}

    def _line_statuses(self, order: SbOrder, body: Any, root: str) -> list[tuple[SbLine, dict[str, Any]]]:
        container = body.get(root) if isinstance(body, dict) else None
        lines = ((container or {}).get("orderLines") or {}).get("orderLine") if isinstance(container, dict) else None
        if not isinstance(lines, list) or not lines:
            raise walmart_error(
                400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API", f"{root}.orderLines.orderLine is required", field_=root
            )
        found = []
        for entry in lines:
            line = order.line(entry.get("lineNumber")) if isinstance(entry, dict) else None
            if line is None:
                raise walmart_error(
                    400,
                    "INVALID_REQUEST_CONTENT.GMP_ORDER_API",
                    f"lineNumber {entry.get('lineNumber') if isinstance(entry, dict) else entry!r} is not a line of "
                    f"purchase order {order.po}",
                    field_="lineNumber",
                )
            statuses = ((entry.get("orderLineStatuses") or {}).get("orderLineStatus")) or []
            for status in statuses if isinstance(statuses, list) else []:
                found.append((line, status if isinstance(status, dict) else {}))
        return found

    def ship(self, order: SbOrder, body: Any) -> dict[str, Any]:
        if self.knobs.value.reject_shipments:
            self.knobs.update({"reject_shipments": False})
            raise walmart_error(
                400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API", "Tracking number is not valid for the carrier"
            )
        moves = []
        for line, status in self._line_statuses(order, body, "orderShipment"):
            quantity = integer((status.get("statusQuantity") or {}).get("amount")) or 0
            tracking = obj(status.get("trackingInfo"))
            problem = self._shipping_problem(line, status, quantity, tracking)
            if problem:
                raise walmart_error(400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API", problem, field_="orderLineStatus")
            moves.append((line, quantity, tracking))
        for line, quantity, tracking in moves:
            line.move(LineStatus.ACKNOWLEDGED, LineStatus.SHIPPED, quantity, tracking=tracking)
        return {"order": order.resource()}

    def _shipping_problem(
        self, line: SbLine, status: Mapping[str, Any], quantity: int, tracking: Mapping[str, Any]
    ) -> str:
        if status.get("status") != LineStatus.SHIPPED:
            return f"line {line.number}: status must be Shipped"
        if line.units(LineStatus.CREATED):
            return f"line {line.number} is not acknowledged: acknowledge the purchase order before shipping it"
        if quantity < 1 or quantity > line.units(LineStatus.ACKNOWLEDGED):
            return (
                f"line {line.number}: {quantity} units to ship, {line.units(LineStatus.ACKNOWLEDGED)} open "
                "(a shipped line cannot be updated)"
            )
        carrier = obj(tracking.get("carrierName"))
        if not text(tracking.get("trackingNumber")):
            return f"line {line.number}: trackingInfo.trackingNumber is required"
        if integer(tracking.get("shipDateTime")) is None:
            return f"line {line.number}: trackingInfo.shipDateTime is required (epoch milliseconds)"
        if carrier.get("carrier") is not None and carrier.get("carrier") not in WALMART_CARRIERS:
            return f"line {line.number}: carrier {carrier.get('carrier')!r} is not supported"
        if carrier.get("carrier") is None and not (text(carrier.get("otherCarrier")) and tracking.get("trackingURL")):
            return f"line {line.number}: carrierName needs carrier, or otherCarrier with trackingURL"
        return ""

    def cancel(self, order: SbOrder, body: Any) -> dict[str, Any]:
        moves = []
        reasons = set(CancelReason)
        for line, status in self._line_statuses(order, body, "orderCancellation"):
            quantity = integer((status.get("statusQuantity") or {}).get("amount")) or 0
            reason = status.get("cancellationReason")
            if status.get("status") != LineStatus.CANCELLED or reason not in reasons:
                raise walmart_error(
                    400,
                    "INVALID_REQUEST_CONTENT.GMP_ORDER_API",
                    f"line {line.number}: status Cancelled with a cancellationReason ({', '.join(sorted(reasons))})",
                )
            if quantity < 1 or quantity > line.units(LineStatus.CREATED, LineStatus.ACKNOWLEDGED):
                raise walmart_error(
                    400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API", f"line {line.number}: {quantity} units are not open"
                )
            moves.append((line, quantity, reason))
        for line, quantity, reason in moves:
            self._cancel_units(line, quantity, reason)
        return {"order": order.resource()}

    def _cancel_units(self, line: SbLine, quantity: int, reason: str) -> None:
        created = min(quantity, line.units(LineStatus.CREATED))
        if created:
            line.move(LineStatus.CREATED, LineStatus.CANCELLED, created, reason=reason)
        if quantity - created:
            line.move(LineStatus.ACKNOWLEDGED, LineStatus.CANCELLED, quantity - created, reason=reason)

    def walmart_cancel(self, order: SbOrder, sub_event: SubEvent) -> dict[str, Any]:
        """Walmart cancels every unshipped unit itself (auto-cancel: not shipped by the ship date
        + 4 days; fraud review) and notifies."""
        reason = {SubEvent.FRAUD_CANCEL: "FRAUD_CANCEL"}.get(sub_event, "SELLER_CANCEL_NOT_SHIPPED_ON_TIME")
        for line in order.lines:
            left = line.units(LineStatus.CREATED, LineStatus.ACKNOWLEDGED)
            if left:
                self._cancel_units(line, left, reason)
        self.notify(sub_event, order)
        return order.resource()

    def tracking_records(self, po: str) -> list[dict[str, Any]]:
        order = self.find(po)
        numbers: dict[str, dict[str, Any]] = {}
        for line in order.lines:
            for status in line.statuses:
                tracking = (status.get("extra") or {}).get("tracking")
                if status["status"] == LineStatus.SHIPPED and tracking:
                    entry = numbers.setdefault(tracking["trackingNumber"], {"tracking": tracking, "lines": {}})
                    entry["lines"][line.number] = entry["lines"].get(line.number, 0) + status["quantity"]
        return list(numbers.values())

    # --- inventory ---

    def set_inventory(self, query: Any, body: Any) -> dict[str, Any]:
        sku = query.get("sku")
        if not sku:
            raise walmart_error(400, "INVALID_REQUEST_PARAM.GMP_INVENTORY_API", "sku is required", field_="sku")
        quantity = obj(body.get("quantity")) if isinstance(body, dict) else {}
        amount = integer(quantity.get("amount"))
        if not isinstance(body, dict) or body.get("sku") != sku or amount is None or amount < 0:
            raise walmart_error(
                400,
                "INVALID_REQUEST_CONTENT.GMP_INVENTORY_API",
                "the body must be {sku (the one in the query), quantity: {unit: EACH, amount >= 0}}",
            )
        if quantity.get("unit") != "EACH":
            raise walmart_error(400, "INVALID_REQUEST_CONTENT.GMP_INVENTORY_API", "quantity.unit must be EACH")
        if sku not in self.inventory:
            raise walmart_error(404, "CONTENT_NOT_FOUND.GMP_INVENTORY_API", f"item {sku} was not found", field_="sku")
        self.inventory[sku][query.get("shipNode") or DEFAULT_NODE] = amount
        return {"sku": sku, "quantity": {"unit": "EACH", "amount": amount}}

    # --- notifications ---

    def notify(self, sub_event: SubEvent, order: SbOrder) -> None:
        payload = {"meta": {"subEventType": str(sub_event)}, "order": order.resource()}
        self.send_notification(EVENT_TYPE, payload, {"subEventType": str(sub_event)})

    def send_notification(self, event_type: str, payload: dict[str, Any], extra: dict[str, str] | None = None) -> None:
        """A notification of `event_type` (the `source` envelope every Walmart event has), signed
        as the HMAC subscription is."""
        event_id = str(uuid.uuid4())
        document = {
            "source": {
                "eventType": event_type,
                "eventFilters": None,
                "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "eventId": event_id,
            },
            "payload": payload,
        }
        body = json.dumps(document).encode()
        knobs = self.knobs.value
        self.sender.emit(
            self.options.webhook_url,
            event_type,
            body,
            {"Content-Type": "application/json", self.auth_header: signature(self.client_secret, body)},
            webhook_id=event_id,
            extra=extra,
            duplicate=knobs.duplicate_deliveries,
            deliver=knobs.deliver_webhooks,
        )
