"""In-memory emulation of one Shopify shop's REST Admin API for `make run` and the tests: orders
with their fulfillment orders (one per location, derived from the line items), fulfillments that
consume what remains, products, inventory levels, the leaky-bucket call limit, and signed
webhooks delivered to Orderloop with Shopify's headers.

API (`/admin/api/{version}/...`; header `X-Shopify-Access-Token` = the channel's `access_token`,
else 401; every answer carries `X-Shopify-Shop-Api-Call-Limit: used/size` and
`X-Shopify-API-Version`; a call beyond the bucket answers 429 with `Retry-After`; faults from
`POST /_sandbox/faults` apply here). Lists are paginated by `Link` (`page_info` + `limit` only):
  GET  orders.json?status=open|closed|cancelled|any&ids=&since_id=&created_at_min=
       &updated_at_min=&updated_at_max=&financial_status=&limit=
  GET  orders/{id}.json
  GET  orders/{id}/fulfillment_orders.json
  GET  orders/{id}/fulfillments.json?limit=
  GET  fulfillment_orders/{id}.json
  POST fulfillments.json         {"fulfillment": {"line_items_by_fulfillment_order": [...],
                                  "tracking_info": {company, number, url}, "notify_customer"}}
                                  201; 422 beyond what remains or for a closed fulfillment order
  GET  products.json?fields=&limit=
  GET  locations.json
  GET  inventory_levels.json?inventory_item_ids=&location_ids=
  POST inventory_levels/set.json {location_id, inventory_item_id, available}

Webhooks go to the channel's webhook URL, signed with `webhook_secret`, with `X-Shopify-Topic`,
`-Hmac-Sha256`, `-Shop-Domain`, `-API-Version`, `-Webhook-Id`, `-Event-Id`, `-Triggered-At`:
`orders/create`; `orders/edited` then `orders/updated` for an edit; `orders/paid` then
`orders/updated`; `orders/cancelled` then `orders/updated`; after a fulfillment (knob
`fulfillment_webhooks`) `fulfillments/create`, `orders/partially_fulfilled|fulfilled`,
`orders/updated`.

Controls (no auth; `?duplicate=true` delivers each webhook twice with the same ids,
`?bad_signature=true` signs with a wrong key):
  POST /_sandbox/orders                    place an order, 201 with the Shopify order JSON
       {"line_items": [{"sku", "quantity", "price"?, "requires_shipping"?, "gift_card"?,
        "location_id"?}], "shipping_address": {first_name, last_name, address1, city,
        province_code, zip, country_code, ...}, "email"?, "customer"?, "financial_status"?
        (default "paid"), "tags"?, "shipping_line"? {code, title, price}, "note"?,
        "currency"?, "created_at"? (backdate)}; the onX names the storefront demo sends
        (`lineItems`, `shippingAddress`, `unitPrice`, `stateOrProvince`, ...) are accepted too
  GET  /_sandbox/orders, /_sandbox/orders/{id}
  POST /_sandbox/orders/{id}/edit          {"line_items": [{"id" | "sku", "quantity"}],
                                            "shipping_address"?, "tags"?, "note"?, "email"?}
                                            (a SKU sets its unfulfilled line, or adds a line)
  POST /_sandbox/orders/{id}/pay           financial_status -> paid
  POST /_sandbox/orders/{id}/cancel        {"reason"?} (customer, fraud, inventory, declined, other)
  GET|POST /_sandbox/products              {"sku", "title"?, "price"?, "available"?,
                                            "tracked"?, "requires_shipping"?} or a list of them
  POST /_sandbox/locations                 {"name"?}: another location (fulfillment orders and
                                            inventory can use it)
  GET  /_sandbox/inventory, /_sandbox/fulfillments?order=
  GET|POST /_sandbox/config                knobs (`ShopifyKnobs`)
  GET|POST|DELETE /_sandbox/faults         {"status": 503|429, "count", "retry_after"}
plus the kit's `/_sandbox/requests`, `/_sandbox/deliveries`, `/_sandbox/health` and webhook
controls, a webhook's id being its `X-Shopify-Webhook-Id` (the log also shows its `event_id`):
  GET  /_sandbox/webhooks?topic=&state=    every webhook, with its raw signed body
  GET  /_sandbox/webhooks/held             the held queue
  POST /_sandbox/webhooks/hold?topic=      queue deliveries from now on
  POST /_sandbox/webhooks/release?order=fifo|reverse   deliver the queue one by one
  POST|DELETE /_sandbox/webhooks/duplicate every webhook twice from now on / once again
  POST /_sandbox/webhooks/{webhook_id}/redeliver       Shopify's retry: same ids, same body
"""

from __future__ import annotations

import base64
import copy
import hmac
import itertools
import json
import math
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import SandboxOptions
from connectors.sandbox_kit import (
    FaultInjector,
    KnobHolder,
    LeakyBucket,
    Recorder,
    SandboxError,
    Webhook,
    WebhookSender,
    read_json,
    sandbox_app,
)
from connectors.shopify.client import ACCESS_TOKEN_HEADER, API_VERSION_HEADER, CALL_LIMIT_HEADER, DEFAULT_API_VERSION
from connectors.shopify.webhooks import (
    EVENT_ID_HEADER,
    HMAC_HEADER,
    SHOP_DOMAIN_HEADER,
    TOPIC_HEADER,
    TRIGGERED_AT_HEADER,
    WEBHOOK_ID_HEADER,
    ShopifyTopic,
)
from connectors.signing import base64_hmac_sha256, json_type

DEFAULT_SHOP_DOMAIN = "orderloop-sandbox.myshopify.com"
DEFAULT_LOCATION_ID = 655441491
SHOP_ID = 548380009
SEED_PRODUCTS = (
    ("TSHIRT-BLK-M", "Classic T-shirt", "Black / M", "19.00"),
    ("TSHIRT-WHT-M", "Classic T-shirt", "White / M", "19.00"),
    ("MUG-11OZ", "Logo mug", "11 oz", "12.00"),
    ("POSTER-A2", "Poster", "A2", "15.00"),
    ("HOODIE-GRY-L", "Hoodie", "Grey / L", "45.00"),
)
SEED_AVAILABLE = 50
CANCEL_REASONS = ("customer", "fraud", "inventory", "declined", "other", "staff")
_VERSION = re.compile(r"^(\d{4}-\d{2}|unstable)$")
_PAGE_PARAMS = frozenset({"limit", "page_info", "fields"})
_COUNTRIES = {"US": "United States", "CA": "Canada", "GB": "United Kingdom", "DE": "Germany", "FR": "France"}
_TRACKING_URLS = {
    "UPS": "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums={}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1={}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={}",
}
CENT = Decimal("0.01")


class ShopifyKnobs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The REST leaky bucket: `bucket_size` calls, leaking `leak_rate` per second (changing
    # either at run time starts an empty bucket).
    bucket_size: int = Field(default=40, ge=1)
    leak_rate: float = Field(default=2.0, gt=0)
    # Shopify caps `limit` at 250; a smaller cap makes short lists span pages.
    max_page_size: int = Field(default=250, ge=1, le=250)
    # Off: webhooks are signed and listed under /_sandbox/webhooks but never sent (missed
    # webhooks, for the poller).
    deliver_webhooks: bool = True
    webhook_delay: float = Field(default=0.0, ge=0)
    # What Shopify also sends after a fulfillment: fulfillments/create, orders/(partially_)fulfilled
    # and orders/updated.
    fulfillment_webhooks: bool = True
    # Answer 422 to every fulfillment (drives the `tracking_rejected` exception).
    reject_fulfillments: bool = False
    # Products of the demo (SKUs of the shipped orderloop.yaml), each with stock at the location.
    seed_products: bool = True
    currency: str = "USD"


class ShopifyApiError(Exception):
    """An error answer in Shopify's shape: `{"errors": ...}` with `status`."""

    def __init__(self, status: int, errors: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(str(errors))
        self.status = status
        self.errors = errors
        self.headers = dict(headers or {})


def _not_found() -> ShopifyApiError:
    return ShopifyApiError(404, "Not Found")


@dataclass
class LineSpec:
    """One line of a control request, in Shopify's names."""

    sku: str
    quantity: int
    price: Decimal | None = None
    title: str | None = None
    requires_shipping: bool | None = None
    gift_card: bool = False
    location_id: int | None = None


@dataclass
class Ids:
    """Id sequences at the magnitudes Shopify's ids have."""

    orders: Iterator[int] = field(default_factory=lambda: itertools.count(5_700_000_001))
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1001))
    line_items: Iterator[int] = field(default_factory=lambda: itertools.count(14_000_000_001))
    fulfillment_orders: Iterator[int] = field(default_factory=lambda: itertools.count(6_000_000_001))
    fo_line_items: Iterator[int] = field(default_factory=lambda: itertools.count(15_000_000_001))
    fulfillments: Iterator[int] = field(default_factory=lambda: itertools.count(4_800_000_001))
    products: Iterator[int] = field(default_factory=lambda: itertools.count(8_100_000_001))
    variants: Iterator[int] = field(default_factory=lambda: itertools.count(44_000_000_001))
    inventory_items: Iterator[int] = field(default_factory=lambda: itertools.count(46_000_000_001))
    customers: Iterator[int] = field(default_factory=lambda: itertools.count(7_000_000_001))
    order_edits: Iterator[int] = field(default_factory=lambda: itertools.count(1_500_000_001))


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(at: datetime) -> str:
    return at.isoformat()


def _parse_time(value: Any, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ShopifyApiError(400, {name: ["is not a valid ISO 8601 time"]}) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _amount(value: Decimal) -> str:
    return str(value.quantize(CENT))


def _money_set(value: Decimal, currency: str) -> dict[str, Any]:
    money = {"amount": _amount(value), "currency_code": currency}
    return {"shop_money": money, "presentment_money": dict(money)}


def _decimal(value: Any, where: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SandboxError(422, f"{where} must be an amount, not {json_type(value)}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise SandboxError(422, f"{where} must be an amount, got {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise SandboxError(422, f"{where} must be a non-negative amount, got {value!r}")
    return amount


def _pick(data: Mapping[str, Any], *names: str) -> Any:
    return next((data[n] for n in names if data.get(n) is not None), None)


def _positive_int(value: Any, where: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SandboxError(422, f"{where} must be an integer >= {minimum}, got {value!r}")
    return value


def _token(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def _untoken(token: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        raise ShopifyApiError(400, {"page_info": ["Invalid value."]}) from None
    if not isinstance(state, dict) or not isinstance(state.get("f"), dict):
        raise ShopifyApiError(400, {"page_info": ["Invalid value."]})
    return state


class ShopifySandbox:
    """The shop's state and behaviour; `create_app` wires it to routes."""

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        settings = options.channel.settings
        # The shop's plan, as the channel declares it (`settings.leak_rate`: Standard 2/s,
        # Advanced 4/s, Plus 20/s); Shopify's bucket holds 20 seconds of leak.
        plan: dict[str, Any] = {}
        if settings.get("leak_rate"):
            plan = {"leak_rate": float(settings["leak_rate"]), "bucket_size": int(20 * float(settings["leak_rate"]))}
        self.knobs = KnobHolder(ShopifyKnobs, plan | dict(options.knobs))
        self.recorder = Recorder()
        self.sender = WebhookSender(self.recorder)
        self.faults = FaultInjector()
        self.secret = options.channel.credential("webhook_secret")
        self.access_token = options.channel.credential("access_token")
        self.shop_domain = str(settings.get("shop_domain") or DEFAULT_SHOP_DOMAIN)
        self.api_version = str(settings.get("api_version") or DEFAULT_API_VERSION)
        self.bucket = LeakyBucket(self.knobs.value.bucket_size, self.knobs.value.leak_rate)
        self.ids = Ids()
        self.orders: dict[int, dict[str, Any]] = {}
        self.fulfillment_orders: dict[int, dict[str, Any]] = {}
        self.fulfillments: dict[int, dict[str, Any]] = {}
        self.products: dict[int, dict[str, Any]] = {}
        self.inventory_items: dict[int, dict[str, Any]] = {}
        self.levels: dict[tuple[int, int], dict[str, Any]] = {}
        self.inventory_log: deque[dict[str, Any]] = deque(maxlen=10_000)
        self.customers: dict[str, dict[str, Any]] = {}
        self.location_id = int(settings.get("location_id") or DEFAULT_LOCATION_ID)
        self.locations: dict[int, dict[str, Any]] = {}
        self.add_location("Sandbox warehouse", self.location_id)
        if self.knobs.value.seed_products:
            for sku, title, variant_title, price in SEED_PRODUCTS:
                self.add_product({"sku": sku, "title": title, "variant_title": variant_title, "price": price})

    def knobs_changed(self, changes: dict[str, Any]) -> None:
        if "bucket_size" in changes or "leak_rate" in changes:
            self.bucket = LeakyBucket(self.knobs.value.bucket_size, self.knobs.value.leak_rate)

    @property
    def currency(self) -> str:
        return self.knobs.value.currency

    # --- the API gate: auth, then the leaky bucket ---

    async def gate(self, request: Request) -> None:
        version = request.path_params.get("version", "")
        if not _VERSION.match(version):
            raise _not_found()
        request.state.api_version = version
        token = request.headers.get(ACCESS_TOKEN_HEADER.lower(), "")
        if not hmac.compare_digest(token, self.access_token):
            raise ShopifyApiError(401, "[API] Invalid API key or access token (unrecognized login or wrong password)")
        wait = self.bucket.acquire()
        if wait > 0:
            request.state.call_limit = f"{self.bucket.size}/{self.bucket.size}"
            # Tenths of a second, rounded up, so a client waiting this long finds room.
            retry = math.ceil(wait * 10) / 10
            raise ShopifyApiError(
                429,
                f"Exceeded {self.bucket.rate:g} calls per second for api client. "
                "Reduce request rates to resume uninterrupted service.",
                {"Retry-After": f"{retry:.1f}"},
            )
        request.state.call_limit = f"{min(self.bucket.size, math.ceil(self.bucket.level - 1e-9))}/{self.bucket.size}"

    @staticmethod
    def api_headers(request: Request) -> dict[str, str]:
        headers = {}
        limit = getattr(request.state, "call_limit", None)
        if limit:
            headers[CALL_LIMIT_HEADER] = limit
        version = getattr(request.state, "api_version", None)
        if version:
            headers[API_VERSION_HEADER] = version
        return headers

    def reply(
        self, request: Request, content: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> JSONResponse:
        return JSONResponse(content, status_code=status, headers={**self.api_headers(request), **(headers or {})})

    # --- pagination ---

    def page(
        self, request: Request, key: str, rows_for: Callable[[dict[str, str]], list[dict[str, Any]]]
    ) -> JSONResponse:
        """A `Link`-paginated list, ascending by id. The first page reads its filters from the
        query; `page_info` carries them to the next pages, so only `limit` and `fields` may
        accompany it."""
        query = dict(request.query_params)
        limit = self._limit(query.get("limit"))
        token = query.get("page_info")
        if token is None:
            filters = {k: v for k, v in query.items() if k not in _PAGE_PARAMS}
            cursor: dict[str, Any] = {}
        else:
            extra = sorted(set(query) - _PAGE_PARAMS)
            if extra:
                raise ShopifyApiError(
                    400, {"page_info": [f"cannot be combined with {', '.join(extra)}: use the Link URL as it is"]}
                )
            cursor = _untoken(token)
            filters = {str(k): str(v) for k, v in cursor["f"].items()}
        rows = sorted(rows_for(filters), key=lambda row: row["id"])
        if "after" in cursor:
            rows_page = [r for r in rows if r["id"] > cursor["after"]][:limit]
        elif "before" in cursor:
            rows_page = [r for r in rows if r["id"] < cursor["before"]][-limit:]
        else:
            rows_page = rows[:limit]
        links = []
        if rows_page and cursor and rows[0]["id"] < rows_page[0]["id"]:
            links.append((_token({"f": filters, "before": rows_page[0]["id"]}), "previous"))
        if rows_page and rows[-1]["id"] > rows_page[-1]["id"]:
            links.append((_token({"f": filters, "after": rows_page[-1]["id"]}), "next"))
        headers = {}
        if links:
            extra_params = {"fields": query["fields"]} if query.get("fields") else {}
            headers["Link"] = ", ".join(
                f"<{request.url.replace(query=urlencode({'limit': limit, **extra_params, 'page_info': t}))}>; "
                f'rel="{rel}"'
                for t, rel in links
            )
        fields = [f.strip() for f in (query.get("fields") or "").split(",") if f.strip()]
        items = [{k: v for k, v in row.items() if k in fields} for row in rows_page] if fields else rows_page
        return self.reply(request, {key: items}, headers=headers)

    def _limit(self, value: str | None) -> int:
        if value is None:
            return min(50, self.knobs.value.max_page_size)
        if not value.isdigit() or int(value) < 1:
            raise ShopifyApiError(400, {"limit": ["must be a positive integer"]})
        return min(int(value), self.knobs.value.max_page_size)

    # --- orders (API) ---

    def order(self, order_id: int) -> dict[str, Any]:
        order = self.orders.get(order_id)
        if order is None:
            raise _not_found()
        return order

    def filter_orders(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        status = filters.get("status", "open")
        if status not in ("open", "closed", "cancelled", "any"):
            raise ShopifyApiError(400, {"status": [f"{status!r} is not one of open, closed, cancelled, any"]})
        rows = list(self.orders.values())
        if status == "open":
            rows = [o for o in rows if not o["cancelled_at"] and not o["closed_at"]]
        elif status == "closed":
            rows = [o for o in rows if o["closed_at"]]
        elif status == "cancelled":
            rows = [o for o in rows if o["cancelled_at"]]
        if filters.get("ids"):
            wanted = {int(i) for i in filters["ids"].split(",") if i.strip().isdigit()}
            rows = [o for o in rows if o["id"] in wanted]
        if filters.get("since_id", "").isdigit():
            rows = [o for o in rows if o["id"] > int(filters["since_id"])]
        if filters.get("financial_status") not in (None, "any"):
            rows = [o for o in rows if o["financial_status"] == filters["financial_status"]]
        for name, attr, keep in (
            ("created_at_min", "created_at", lambda at, bound: at >= bound),
            ("created_at_max", "created_at", lambda at, bound: at <= bound),
            ("updated_at_min", "updated_at", lambda at, bound: at >= bound),
            ("updated_at_max", "updated_at", lambda at, bound: at <= bound),
        ):
            if filters.get(name):
                bound = _parse_time(filters[name], name)
                rows = [o for o in rows if keep(_parse_time(o[attr], attr), bound)]
        return rows

    def order_fulfillment_orders(self, order_id: int) -> list[dict[str, Any]]:
        self.order(order_id)
        return [fo for fo in self.fulfillment_orders.values() if fo["order_id"] == order_id]

    def order_fulfillments(self, order_id: int) -> list[dict[str, Any]]:
        self.order(order_id)
        return [f for f in self.fulfillments.values() if f["order_id"] == order_id]

    def create_fulfillment(self, body: Any) -> dict[str, Any]:
        fulfillment = body.get("fulfillment") if isinstance(body, dict) else None
        groups = fulfillment.get("line_items_by_fulfillment_order") if isinstance(fulfillment, dict) else None
        if not isinstance(groups, list) or not groups:
            raise ShopifyApiError(400, {"fulfillment": "Required parameter missing or invalid"})
        assert isinstance(fulfillment, dict)
        if self.knobs.value.reject_fulfillments:
            raise ShopifyApiError(422, ["Fulfillment refused (sandbox knob reject_fulfillments)."])
        taken = self._fulfillment_lines(groups)
        fos = [self.fulfillment_orders[fo_id] for fo_id in taken]
        order = self.orders[fos[0]["order_id"]]
        given = fulfillment.get("tracking_info")
        tracking: dict[str, Any] = given if isinstance(given, dict) else {}
        number = tracking.get("number")
        company = tracking.get("company")
        url = tracking.get("url") or (
            _TRACKING_URLS[company].format(number) if number and company in _TRACKING_URLS else None
        )
        fulfillment_id = next(self.ids.fulfillments)
        at = _iso(_now())
        by_line: dict[int, int] = {}
        for fo_id, items in taken.items():
            for item_id, quantity in items.items():
                item = next(i for i in self.fulfillment_orders[fo_id]["line_items"] if i["id"] == item_id)
                item["fulfillable_quantity"] -= quantity
                by_line[item["line_item_id"]] = by_line.get(item["line_item_id"], 0) + quantity
            self.fulfillment_orders[fo_id]["updated_at"] = at
        lines = {line["id"]: line for line in order["line_items"]}
        record = {
            "id": fulfillment_id,
            "admin_graphql_api_id": f"gid://shopify/Fulfillment/{fulfillment_id}",
            "order_id": order["id"],
            "name": f"{order['name']}.{len(self.order_fulfillments(order['id'])) + 1}",
            "status": "success",
            "service": "manual",
            "created_at": at,
            "updated_at": at,
            "location_id": fos[0]["assigned_location_id"],
            "origin_address": fulfillment.get("origin_address"),
            "shipment_status": None,
            "tracking_company": company,
            "tracking_number": number,
            "tracking_numbers": [number] if number else [],
            "tracking_url": url,
            "tracking_urls": [url] if url else [],
            "receipt": {},
            "line_items": [],
        }
        self.fulfillments[fulfillment_id] = record
        self._refresh_fulfillment_state(order)
        order["updated_at"] = at
        record["line_items"] = [
            {**copy.deepcopy(lines[line_id]), "quantity": q} for line_id, q in sorted(by_line.items())
        ]
        order["fulfillments"] = copy.deepcopy(self.order_fulfillments(order["id"]))
        if self.knobs.value.fulfillment_webhooks:
            self.emit(ShopifyTopic.FULFILLMENTS_CREATE, record)
            fully = order["fulfillment_status"] == "fulfilled"
            self.emit(ShopifyTopic.ORDERS_FULFILLED if fully else ShopifyTopic.ORDERS_PARTIALLY_FULFILLED, order)
            self.emit(ShopifyTopic.ORDERS_UPDATED, order)
        return record

    def _fulfillment_lines(self, groups: list[Any]) -> dict[int, dict[int, int]]:
        """Validate `line_items_by_fulfillment_order` the way Shopify does -> {fo id: {item: qty}}."""
        taken: dict[int, dict[int, int]] = {}
        orders, locations = set(), set()
        for group in groups:
            fo_id = group.get("fulfillment_order_id") if isinstance(group, dict) else None
            fo = self.fulfillment_orders.get(fo_id) if isinstance(fo_id, int) else None
            if fo is None or not isinstance(fo_id, int):
                raise ShopifyApiError(422, [f"Fulfillment order {fo_id} does not exist."])
            if fo["status"] not in ("open", "in_progress"):
                raise ShopifyApiError(422, [f"Fulfillment order {fo_id} has an unfulfillable status= {fo['status']}."])
            orders.add(fo["order_id"])
            locations.add(fo["assigned_location_id"])
            items = {item["id"]: item for item in fo["line_items"]}
            wanted = group.get("fulfillment_order_line_items")
            if wanted is None:
                wanted = [{"id": i["id"], "quantity": i["fulfillable_quantity"]} for i in fo["line_items"]]
                wanted = [w for w in wanted if w["quantity"] > 0]
            if not isinstance(wanted, list) or not wanted:
                raise ShopifyApiError(422, [f"Fulfillment order {fo_id} has nothing to fulfill."])
            lines = taken.setdefault(fo_id, {})
            for entry in wanted:
                item = items.get(entry.get("id")) if isinstance(entry, dict) else None
                if item is None:
                    raise ShopifyApiError(
                        422, [f"Fulfillment order line item {entry} does not belong to fulfillment order {fo_id}."]
                    )
                quantity = entry.get("quantity")
                total = lines.get(item["id"], 0) + (quantity if isinstance(quantity, int) else 0)
                if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                    raise ShopifyApiError(422, ["Invalid fulfillment order line item quantity requested."])
                if total > item["fulfillable_quantity"]:
                    raise ShopifyApiError(422, ["Invalid fulfillment order line item quantity requested."])
                lines[item["id"]] = total
        if len(orders) > 1:
            raise ShopifyApiError(422, ["All fulfillment orders must belong to the same order."])
        if len(locations) > 1:
            raise ShopifyApiError(422, ["All fulfillment orders must be assigned to the same location."])
        return taken

    def _refresh_fulfillment_state(self, order: dict[str, Any]) -> None:
        """Fulfillment order statuses and the order's fulfillment fields from what remains."""
        remaining: dict[int, int] = {}
        fulfilled: dict[int, int] = {}
        for fo in self.order_fulfillment_orders(order["id"]):
            if fo["status"] == "cancelled":
                continue
            for item in fo["line_items"]:
                remaining[item["line_item_id"]] = remaining.get(item["line_item_id"], 0) + item["fulfillable_quantity"]
                done = item["quantity"] - item["fulfillable_quantity"]
                fulfilled[item["line_item_id"]] = fulfilled.get(item["line_item_id"], 0) + done
            if fo["status"] in ("open", "in_progress"):
                left = sum(i["fulfillable_quantity"] for i in fo["line_items"])
                done_any = any(i["quantity"] > i["fulfillable_quantity"] for i in fo["line_items"])
                fo["status"] = "closed" if left == 0 else ("in_progress" if done_any else "open")
        states = []
        for line in order["line_items"]:
            if line["gift_card"]:
                continue
            left = line["fulfillable_quantity"] = remaining.get(line["id"], 0)
            done = fulfilled.get(line["id"], 0)
            line["fulfillment_status"] = "fulfilled" if done and not left else ("partial" if done else None)
            if line["current_quantity"] > 0:
                states.append(line["fulfillment_status"])
        if states and all(s == "fulfilled" for s in states):
            order["fulfillment_status"] = "fulfilled"
        elif any(states):
            order["fulfillment_status"] = "partial"
        else:
            order["fulfillment_status"] = None

    # --- products, inventory (API) ---

    def add_location(self, name: str, location_id: int | None = None) -> dict[str, Any]:
        new_id = location_id or max(self.locations, default=self.location_id) + 1
        at = _iso(_now())
        location = {
            "id": new_id,
            "name": name,
            "address1": "1 Sandbox Way",
            "address2": None,
            "city": "Avenel",
            "zip": "07001",
            "province": "New Jersey",
            "province_code": "NJ",
            "country": "US",
            "country_code": "US",
            "country_name": "United States",
            "phone": None,
            "created_at": at,
            "updated_at": at,
            "legacy": False,
            "active": True,
            "admin_graphql_api_id": f"gid://shopify/Location/{new_id}",
        }
        self.locations[new_id] = location
        return location

    def variants_by_sku(self, sku: str) -> list[dict[str, Any]]:
        return [v for p in self.products.values() for v in p["variants"] if v["sku"] == sku]

    def add_product(self, spec: Any) -> dict[str, Any]:
        if not isinstance(spec, dict) or not isinstance(spec.get("sku"), str) or not spec["sku"].strip():
            raise SandboxError(422, 'a product is {"sku": ..., "title"?, "price"?, "available"?, "tracked"?}')
        sku = spec["sku"].strip()
        if self.variants_by_sku(sku):
            raise SandboxError(409, f"a variant with SKU {sku!r} exists")
        at = _iso(_now())
        product_id, variant_id = next(self.ids.products), next(self.ids.variants)
        item_id = next(self.ids.inventory_items)
        tracked = spec.get("tracked", True) is not False
        requires_shipping = spec.get("requires_shipping", True) is not False
        price = _decimal(spec.get("price", "10.00"), "price") or Decimal(0)
        title = str(spec.get("title") or sku)
        variant = {
            "id": variant_id,
            "product_id": product_id,
            "title": str(spec.get("variant_title") or "Default Title"),
            "price": _amount(price),
            "sku": sku,
            "position": 1,
            "inventory_policy": "deny",
            "compare_at_price": None,
            "fulfillment_service": "manual",
            "inventory_management": "shopify" if tracked else None,
            "option1": str(spec.get("variant_title") or "Default Title"),
            "created_at": at,
            "updated_at": at,
            "taxable": True,
            "barcode": None,
            "grams": 200,
            "weight": 0.2,
            "weight_unit": "kg",
            "inventory_item_id": item_id,
            "inventory_quantity": 0,
            "requires_shipping": requires_shipping,
            "admin_graphql_api_id": f"gid://shopify/ProductVariant/{variant_id}",
        }
        self.products[product_id] = {
            "id": product_id,
            "title": title,
            "body_html": None,
            "vendor": "Orderloop Sandbox",
            "product_type": "",
            "handle": re.sub(r"[^a-z0-9]+", "-", f"{title} {sku}".lower()).strip("-"),
            "status": "active",
            "created_at": at,
            "updated_at": at,
            "published_at": at,
            "tags": "",
            "variants": [variant],
            "options": [{"id": product_id, "product_id": product_id, "name": "Title", "position": 1}],
            "images": [],
            "admin_graphql_api_id": f"gid://shopify/Product/{product_id}",
        }
        self.inventory_items[item_id] = {
            "id": item_id,
            "sku": sku,
            "tracked": tracked,
            "requires_shipping": requires_shipping,
            "created_at": at,
            "updated_at": at,
            "admin_graphql_api_id": f"gid://shopify/InventoryItem/{item_id}",
        }
        available = spec.get("available", SEED_AVAILABLE if tracked else None)
        if tracked and available is not None:
            self._set_level(self.location_id, item_id, _positive_int(available, "available", 0))
        return self.products[product_id]

    def levels_json(self, filters: Mapping[str, str]) -> list[dict[str, Any]]:
        items = {int(i) for i in filters.get("inventory_item_ids", "").split(",") if i.strip().isdigit()}
        locations = {int(i) for i in filters.get("location_ids", "").split(",") if i.strip().isdigit()}
        if not items and not locations:
            raise ShopifyApiError(422, {"base": ["inventory_item_ids or location_ids is required"]})
        return [
            dict(level)
            for (item_id, location_id), level in sorted(self.levels.items())
            if (not items or item_id in items) and (not locations or location_id in locations)
        ]

    def set_inventory(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ShopifyApiError(400, {"inventory_level": "Required parameter missing or invalid"})
        problems = {
            name: ["expected Integer to be a Integer"]
            for name in ("location_id", "inventory_item_id", "available")
            if isinstance(body.get(name), bool) or not isinstance(body.get(name), int)
        }
        if problems:
            raise ShopifyApiError(422, problems)
        if body["location_id"] not in self.locations:
            raise ShopifyApiError(422, {"location_id": ["Location not found"]})
        item = self.inventory_items.get(body["inventory_item_id"])
        if item is None:
            raise _not_found()
        if not item["tracked"]:
            raise ShopifyApiError(422, {"base": ["Inventory item does not have inventory tracking enabled"]})
        return self._set_level(body["location_id"], item["id"], body["available"])

    def _set_level(self, location_id: int, item_id: int, available: int) -> dict[str, Any]:
        at = _iso(_now())
        level = {
            "inventory_item_id": item_id,
            "location_id": location_id,
            "available": available,
            "updated_at": at,
            "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}",
        }
        self.levels[(item_id, location_id)] = level
        sku = self.inventory_items[item_id]["sku"]
        for variant in self.variants_by_sku(sku):
            if variant["inventory_item_id"] == item_id:
                variant["inventory_quantity"] = sum(
                    lvl["available"] for (i, _), lvl in self.levels.items() if i == item_id
                )
        self.inventory_log.append({"sku": sku, "location_id": location_id, "available": available, "at": at})
        return dict(level)

    def inventory_by_sku(self) -> dict[str, dict[str, int]]:
        levels: dict[str, dict[str, int]] = {}
        for (item_id, location_id), level in sorted(self.levels.items()):
            sku = self.inventory_items[item_id]["sku"]
            levels.setdefault(sku, {})[str(location_id)] = level["available"]
        return levels

    async def aclose(self) -> None:
        await self.sender.aclose()

    # --- webhooks ---

    def emit(
        self, topic: str, payload: dict[str, Any], *, duplicate: bool = False, bad_signature: bool = False
    ) -> Webhook:
        """Sign now and send (or only log, with the knob `deliver_webhooks` off). A duplicate is
        a re-delivery: the same body under the same ids, as Shopify's retries are."""
        topic = str(topic)
        body = json.dumps(payload).encode()
        secret = "not-the-webhook-secret" if bad_signature else self.secret
        webhook_id, event_id = str(uuid.uuid4()), str(uuid.uuid4())
        headers = {
            "Content-Type": "application/json",
            TOPIC_HEADER: topic,
            HMAC_HEADER: base64_hmac_sha256(secret, body),
            SHOP_DOMAIN_HEADER: self.shop_domain,
            API_VERSION_HEADER: self.api_version,
            WEBHOOK_ID_HEADER: webhook_id,
            EVENT_ID_HEADER: event_id,
            TRIGGERED_AT_HEADER: datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        knobs = self.knobs.value
        return self.sender.emit(
            self.options.webhook_url,
            topic,
            body,
            headers,
            webhook_id=webhook_id,
            extra={"event_id": event_id},
            delay=knobs.webhook_delay,
            duplicate=duplicate,
            deliver=knobs.deliver_webhooks,
        )

    # --- controls: orders ---

    def place(self, body: Any, *, duplicate: bool = False, bad_signature: bool = False) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise SandboxError(422, f"the order must be a JSON object, not {json_type(body)}")
        specs = self._line_specs(_pick(body, "line_items", "lineItems"))
        created = _parse_time(body["created_at"], "created_at") if body.get("created_at") else _now()
        order_id, number = next(self.ids.orders), next(self.ids.numbers)
        given = body.get("customer")
        customer: dict[str, Any] = given if isinstance(given, dict) else {}
        email = _pick(body, "email", "contact_email") or _pick(customer, "email")
        address = self._address(_pick(body, "shipping_address", "shippingAddress"))
        billing = self._address(_pick(body, "billing_address", "billingAddress")) or copy.deepcopy(address)
        financial = str(body.get("financial_status") or body.get("financialStatus") or "paid")
        order: dict[str, Any] = {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "name": f"#{number}",
            "number": number - 1000,
            "order_number": number,
            "email": email,
            "contact_email": email,
            "phone": None,
            "created_at": _iso(created),
            "updated_at": _iso(created),
            "processed_at": _iso(created),
            "closed_at": None,
            "cancelled_at": None,
            "cancel_reason": None,
            "confirmed": True,
            "test": False,
            "currency": str(body.get("currency") or self.currency),
            "presentment_currency": str(body.get("currency") or self.currency),
            "financial_status": financial,
            "fulfillment_status": None,
            "tags": self._tags(body.get("tags")),
            "note": body.get("note"),
            "note_attributes": body.get("note_attributes") or [],
            "source_name": "web",
            "line_items": [],
            "shipping_lines": self._shipping_lines(body),
            "shipping_address": address,
            "billing_address": billing,
            "customer": self._customer(customer, email, address, created),
            "fulfillments": [],
            "refunds": [],
        }
        for spec in specs:
            order["line_items"].append(self._line_item(spec, order["currency"]))
        self._totals(order)
        self.orders[order_id] = order
        for spec, line in zip(specs, order["line_items"], strict=True):
            if not line["gift_card"]:
                self._add_to_fulfillment_order(order, line, spec.location_id or self.location_id, line["quantity"])
        self._refresh_fulfillment_state(order)
        self.emit(ShopifyTopic.ORDERS_CREATE, order, duplicate=duplicate, bad_signature=bad_signature)
        return order

    def edit(self, order_id: int, body: Any, *, duplicate: bool = False) -> dict[str, Any]:
        order = self.order(order_id)
        if not isinstance(body, dict):
            raise SandboxError(422, f"the edit must be a JSON object, not {json_type(body)}")
        if order["cancelled_at"]:
            raise SandboxError(409, f"order {order_id} is cancelled and cannot be edited")
        additions: list[dict[str, int]] = []
        removals: list[dict[str, int]] = []
        changes = body.get("line_items")
        if changes is not None:
            if not isinstance(changes, list):
                raise SandboxError(422, "line_items must be an array of {id | sku, quantity}")
            for i, change in enumerate(changes):
                self._edit_line(order, change, f"line_items[{i}]", additions, removals)
        if body.get("shipping_address") is not None or body.get("shippingAddress") is not None:
            order["shipping_address"] = self._address(_pick(body, "shipping_address", "shippingAddress"))
        if "tags" in body:
            order["tags"] = self._tags(body["tags"])
        for key in ("note", "email"):
            if key in body:
                order[key] = body[key]
        if "email" in body:
            order["contact_email"] = body["email"]
        at = _now()
        order["updated_at"] = _iso(at)
        self._totals(order)
        self._refresh_fulfillment_state(order)
        if additions or removals:
            self.emit(ShopifyTopic.ORDERS_EDITED, self._order_edit(order, at, additions, removals), duplicate=duplicate)
        self.emit(ShopifyTopic.ORDERS_UPDATED, order, duplicate=duplicate)
        return order

    def _edit_line(
        self,
        order: dict[str, Any],
        change: Any,
        where: str,
        additions: list[dict[str, int]],
        removals: list[dict[str, int]],
    ) -> None:
        if not isinstance(change, dict):
            raise SandboxError(422, f"{where} must be an object")
        quantity = _positive_int(change.get("quantity"), f"{where}.quantity", 0)
        line = None
        if change.get("id") is not None:
            line = next((li for li in order["line_items"] if li["id"] == change["id"]), None)
            if line is None:
                raise SandboxError(422, f"{where}: the order has no line item {change['id']}")
        elif isinstance(change.get("sku"), str):
            line = next(
                (li for li in order["line_items"] if li["sku"] == change["sku"] and li["fulfillable_quantity"] > 0),
                None,
            )
            if line is None:
                if quantity == 0:
                    return
                spec = LineSpec(sku=change["sku"], quantity=quantity, price=_decimal(change.get("price"), where))
                line = self._line_item(spec, order["currency"])
                order["line_items"].append(line)
                self._add_to_fulfillment_order(order, line, self.location_id, quantity)
                additions.append({"id": line["id"], "delta": quantity})
                return
        else:
            raise SandboxError(422, f"{where} needs an id or a sku")
        assert line is not None
        fulfilled = line["current_quantity"] - line["fulfillable_quantity"]
        if quantity < fulfilled:
            raise SandboxError(422, f"{where}: {fulfilled} unit(s) of line {line['id']} are fulfilled already")
        delta = quantity - line["current_quantity"]
        if delta == 0:
            return
        line["current_quantity"] = quantity
        if delta > 0:
            line["quantity"] += delta
            additions.append({"id": line["id"], "delta": delta})
            self._add_to_fulfillment_order(order, line, self.location_id, delta)
        else:
            removals.append({"id": line["id"], "delta": -delta})
            self._remove_from_fulfillment_orders(order, line, -delta)

    def _add_to_fulfillment_order(self, order: dict[str, Any], line: dict[str, Any], location: int, qty: int) -> None:
        if location not in self.locations:
            raise SandboxError(422, f"unknown location {location}", hint="add one with POST /_sandbox/locations")
        fos = self.order_fulfillment_orders(order["id"])
        for fo in fos:
            if fo["status"] in ("open", "in_progress") and fo["assigned_location_id"] == location:
                for item in fo["line_items"]:
                    if item["line_item_id"] == line["id"]:
                        item["quantity"] += qty
                        item["fulfillable_quantity"] += qty
                        return
                fo["line_items"].append(self._fo_line_item(fo["id"], line, qty))
                return
        fo_id = next(self.ids.fulfillment_orders)
        at = _iso(_now())
        loc = self.locations[location]
        self.fulfillment_orders[fo_id] = {
            "id": fo_id,
            "shop_id": SHOP_ID,
            "order_id": order["id"],
            "assigned_location_id": location,
            "request_status": "unsubmitted",
            "status": "open",
            "supported_actions": ["create_fulfillment", "hold", "move"],
            "destination": self._destination(order),
            "line_items": [self._fo_line_item(fo_id, line, qty)],
            "international_duties": None,
            "fulfill_at": None,
            "fulfill_by": None,
            "fulfillment_holds": [],
            "created_at": at,
            "updated_at": at,
            "delivery_method": {"id": fo_id, "method_type": "shipping"},
            "assigned_location": {
                "address1": loc["address1"],
                "address2": loc["address2"],
                "city": loc["city"],
                "country_code": loc["country_code"],
                "location_id": location,
                "name": loc["name"],
                "phone": loc["phone"],
                "province": loc["province"],
                "zip": loc["zip"],
            },
            "merchant_requests": [],
        }

    def _remove_from_fulfillment_orders(self, order: dict[str, Any], line: dict[str, Any], qty: int) -> None:
        for fo in self.order_fulfillment_orders(order["id"]):
            if fo["status"] not in ("open", "in_progress"):
                continue
            for item in list(fo["line_items"]):
                if item["line_item_id"] != line["id"] or qty == 0:
                    continue
                take = min(qty, item["fulfillable_quantity"])
                item["quantity"] -= take
                item["fulfillable_quantity"] -= take
                qty -= take
                if item["quantity"] == 0:
                    fo["line_items"].remove(item)
            if not fo["line_items"]:
                fo["status"] = "closed"

    def _fo_line_item(self, fo_id: int, line: dict[str, Any], quantity: int) -> dict[str, Any]:
        variants = self.variants_by_sku(line["sku"]) if line["variant_id"] else []
        return {
            "id": next(self.ids.fo_line_items),
            "shop_id": SHOP_ID,
            "fulfillment_order_id": fo_id,
            "quantity": quantity,
            "line_item_id": line["id"],
            "inventory_item_id": variants[0]["inventory_item_id"] if variants else None,
            "fulfillable_quantity": quantity,
            "variant_id": line["variant_id"],
        }

    def _order_edit(
        self, order: dict[str, Any], at: datetime, additions: list[dict[str, int]], removals: list[dict[str, int]]
    ) -> dict[str, Any]:
        return {
            "order_edit": {
                "id": next(self.ids.order_edits),
                "app_id": None,
                "created_at": _iso(at),
                "committed_at": _iso(at),
                "notify_customer": False,
                "order_id": order["id"],
                "staff_note": "",
                "user_id": None,
                "line_items": {"additions": additions, "removals": removals},
                "discounts": {"line_item": {"additions": [], "removals": []}},
                "shipping_lines": {"additions": [], "removals": []},
            }
        }

    def pay(self, order_id: int, *, duplicate: bool = False) -> dict[str, Any]:
        order = self.order(order_id)
        order["financial_status"] = "paid"
        order["total_outstanding"] = "0.00"
        order["updated_at"] = _iso(_now())
        self.emit(ShopifyTopic.ORDERS_PAID, order, duplicate=duplicate)
        self.emit(ShopifyTopic.ORDERS_UPDATED, order, duplicate=duplicate)
        return order

    def cancel(self, order_id: int, body: Any, *, duplicate: bool = False) -> dict[str, Any]:
        order = self.order(order_id)
        if order["cancelled_at"]:
            raise SandboxError(409, f"order {order_id} is cancelled already")
        reason = (body or {}).get("reason") if isinstance(body, dict) else None
        reason = reason or "customer"
        if reason not in CANCEL_REASONS:
            raise SandboxError(422, f"reason must be one of {', '.join(CANCEL_REASONS)}")
        at = _iso(_now())
        order.update(cancelled_at=at, cancel_reason=reason, updated_at=at)
        for fo in self.order_fulfillment_orders(order_id):
            if fo["status"] in ("open", "in_progress"):
                # What was fulfilled stays; the rest of each line leaves the fulfillment order.
                for item in fo["line_items"]:
                    item["quantity"] -= item["fulfillable_quantity"]
                    item["fulfillable_quantity"] = 0
                fulfilled_any = any(i["quantity"] > 0 for i in fo["line_items"])
                fo["status"] = "closed" if fulfilled_any else "cancelled"
                fo["updated_at"] = at
        for line in order["line_items"]:
            line["fulfillable_quantity"] = 0
        self.emit(ShopifyTopic.ORDERS_CANCELLED, order, duplicate=duplicate)
        self.emit(ShopifyTopic.ORDERS_UPDATED, order, duplicate=duplicate)
        return order

    # --- building order JSON ---

    def _line_specs(self, value: Any) -> list[LineSpec]:
        if not isinstance(value, list) or not value:
            raise SandboxError(422, 'line_items must be a non-empty array of {"sku", "quantity"}')
        specs = []
        for i, item in enumerate(value):
            where = f"line_items[{i}]"
            if not isinstance(item, dict) or not isinstance(item.get("sku"), str) or not item["sku"].strip():
                raise SandboxError(422, f"{where}.sku is missing")
            location = item.get("location_id")
            if location is not None and location not in self.locations:
                raise SandboxError(422, f"{where}.location_id: unknown location {location}")
            specs.append(
                LineSpec(
                    sku=item["sku"].strip(),
                    quantity=_positive_int(item.get("quantity"), f"{where}.quantity"),
                    price=_decimal(_pick(item, "price", "unitPrice"), f"{where}.price"),
                    title=_pick(item, "title", "name"),
                    requires_shipping=item.get("requires_shipping"),
                    gift_card=item.get("gift_card") is True,
                    location_id=location,
                )
            )
        return specs

    def _line_item(self, spec: LineSpec, currency: str) -> dict[str, Any]:
        variants = self.variants_by_sku(spec.sku)
        variant = variants[0] if variants else None
        product = self.products[variant["product_id"]] if variant else None
        price = spec.price if spec.price is not None else Decimal(variant["price"] if variant else "10.00")
        title = spec.title or (product["title"] if product else spec.sku)
        variant_title = variant["title"] if variant and variant["title"] != "Default Title" else None
        requires_shipping = (
            spec.requires_shipping
            if spec.requires_shipping is not None
            else (variant["requires_shipping"] if variant else not spec.gift_card)
        )
        line_id = next(self.ids.line_items)
        return {
            "id": line_id,
            "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
            "variant_id": variant["id"] if variant else None,
            "product_id": variant["product_id"] if variant else None,
            "title": title,
            "variant_title": variant_title,
            "name": f"{title} - {variant_title}" if variant_title else title,
            "sku": spec.sku,
            "vendor": "Orderloop Sandbox" if variant else None,
            "quantity": spec.quantity,
            "current_quantity": spec.quantity,
            "fulfillable_quantity": 0 if spec.gift_card else spec.quantity,
            "fulfillment_service": "manual",
            "fulfillment_status": None,
            "requires_shipping": bool(requires_shipping),
            "taxable": True,
            "gift_card": spec.gift_card,
            "grams": 200,
            "price": _amount(price),
            "price_set": _money_set(price, currency),
            "total_discount": "0.00",
            "total_discount_set": _money_set(Decimal(0), currency),
            "discount_allocations": [],
            "tax_lines": [],
            "duties": [],
            "properties": [],
            "product_exists": variant is not None,
            "variant_inventory_management": variant["inventory_management"] if variant else None,
        }

    def _totals(self, order: dict[str, Any]) -> None:
        currency = order["currency"]
        lines = order["line_items"]
        ordered = sum((Decimal(li["price"]) * li["quantity"] for li in lines), Decimal(0))
        current = sum((Decimal(li["price"]) * li["current_quantity"] for li in lines), Decimal(0))
        shipping = sum((Decimal(s["price"]) for s in order["shipping_lines"]), Decimal(0))
        total = current + shipping
        order.update(
            {
                "total_line_items_price": _amount(ordered),
                "total_line_items_price_set": _money_set(ordered, currency),
                "subtotal_price": _amount(current),
                "subtotal_price_set": _money_set(current, currency),
                "current_subtotal_price": _amount(current),
                "current_subtotal_price_set": _money_set(current, currency),
                "total_discounts": "0.00",
                "current_total_discounts": "0.00",
                "total_tax": "0.00",
                "current_total_tax": "0.00",
                "total_shipping_price_set": _money_set(shipping, currency),
                "total_price": _amount(total),
                "total_price_set": _money_set(total, currency),
                "current_total_price": _amount(total),
                "current_total_price_set": _money_set(total, currency),
                "total_outstanding": "0.00" if order["financial_status"] == "paid" else _amount(total),
                "total_weight": sum(li["grams"] * li["current_quantity"] for li in lines),
            }
        )

    def _address(self, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise SandboxError(422, f"the address must be a JSON object, not {json_type(value)}")
        country_code = _pick(value, "country_code", "countryCode")
        country = value.get("country")
        if country_code is None and isinstance(country, str) and len(country.strip()) == 2:
            country_code = country.strip().upper()
        province_code = _pick(value, "province_code", "stateOrProvince")
        first, last = _pick(value, "first_name", "firstName"), _pick(value, "last_name", "lastName")
        return {
            "first_name": first,
            "last_name": last,
            "name": " ".join(p for p in (first, last) if p) or None,
            "company": value.get("company"),
            "address1": value.get("address1"),
            "address2": value.get("address2"),
            "city": value.get("city"),
            "province": value.get("province") or province_code,
            "province_code": province_code,
            "zip": _pick(value, "zip", "zipCodeOrPostalCode"),
            "country": _COUNTRIES.get(str(country_code), country) if country_code else country,
            "country_code": country_code,
            "phone": value.get("phone"),
            "latitude": None,
            "longitude": None,
        }

    @staticmethod
    def _destination(order: dict[str, Any]) -> dict[str, Any] | None:
        address = order.get("shipping_address")
        if not address:
            return None
        keys = ("address1", "address2", "city", "company", "country", "first_name", "last_name", "phone", "province")
        return {"id": order["id"], **{k: address.get(k) for k in keys}, "zip": address.get("zip"), "email": None}

    def _customer(
        self, value: Any, email: str | None, address: dict[str, Any] | None, at: datetime
    ) -> dict[str, Any] | None:
        data = value if isinstance(value, dict) else {}
        if not data and not email:
            return None
        key = email or json.dumps(data, sort_keys=True)
        known = self.customers.get(key)
        if known is not None:
            return copy.deepcopy(known)
        customer_id = next(self.ids.customers)
        customer = {
            "id": customer_id,
            "email": email,
            "first_name": _pick(data, "first_name", "firstName") or (address or {}).get("first_name"),
            "last_name": _pick(data, "last_name", "lastName") or (address or {}).get("last_name"),
            "phone": data.get("phone"),
            "state": "enabled",
            "note": None,
            "verified_email": True,
            "tags": self._tags(data.get("tags")),
            "currency": self.currency,
            "created_at": _iso(at),
            "updated_at": _iso(at),
            "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
            "default_address": copy.deepcopy(address),
        }
        self.customers[key] = customer
        return copy.deepcopy(customer)

    @staticmethod
    def _tags(value: Any) -> str:
        if isinstance(value, list):
            return ", ".join(str(t).strip() for t in value if str(t).strip())
        return str(value or "")

    def _shipping_lines(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        line = body.get("shipping_line")
        if not isinstance(line, dict) and isinstance(body.get("shippingCode"), str):
            line = {"code": body["shippingCode"], "title": body["shippingCode"].replace("_", " ").title()}
        if not isinstance(line, dict):
            line = {"code": "Standard", "title": "Standard Shipping", "price": "0.00"}
        price = _decimal(line.get("price", "0.00"), "shipping_line.price") or Decimal(0)
        currency = str(body.get("currency") or self.currency)
        return [
            {
                "id": next(self.ids.line_items),
                "code": line.get("code"),
                "title": line.get("title") or line.get("code"),
                "source": line.get("source", "shopify"),
                "carrier_identifier": line.get("carrier_identifier"),
                "price": _amount(price),
                "price_set": _money_set(price, currency),
                "discounted_price": _amount(price),
                "discount_allocations": [],
                "tax_lines": [],
            }
        ]




def create_app(options: SandboxOptions) -> FastAPI:
    shop = ShopifySandbox(options)
    app = sandbox_app(f"Shopify sandbox ({options.channel.id})", shop)

    async def shopify_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ShopifyApiError)
        return JSONResponse(
            {"errors": exc.errors}, status_code=exc.status, headers={**shop.api_headers(request), **exc.headers}
        )

    app.add_exception_handler(ShopifyApiError, shopify_error)

    api = APIRouter(prefix="/admin/api/{version}", dependencies=[Depends(shop.faults.check), Depends(shop.gate)])

    @api.get("/orders.json")
    async def list_orders(request: Request) -> JSONResponse:
        return shop.page(request, "orders", shop.filter_orders)

    @api.get("/orders/{order_id:int}.json")
    async def get_order(request: Request, order_id: int) -> JSONResponse:
        return shop.reply(request, {"order": shop.order(order_id)})

    @api.get("/orders/{order_id:int}/fulfillment_orders.json")
    async def order_fulfillment_orders(request: Request, order_id: int) -> JSONResponse:
        return shop.reply(request, {"fulfillment_orders": shop.order_fulfillment_orders(order_id)})

    @api.get("/orders/{order_id:int}/fulfillments.json")
    async def order_fulfillments(request: Request, order_id: int) -> JSONResponse:
        return shop.page(request, "fulfillments", lambda _: shop.order_fulfillments(order_id))

    @api.get("/fulfillment_orders/{fo_id:int}.json")
    async def get_fulfillment_order(request: Request, fo_id: int) -> JSONResponse:
        fo = shop.fulfillment_orders.get(fo_id)
        if fo is None:
            raise _not_found()
        return shop.reply(request, {"fulfillment_order": fo})

    @api.post("/fulfillments.json")
    async def create_fulfillment(request: Request) -> JSONResponse:
        body = await read_json(request)
        return shop.reply(request, {"fulfillment": shop.create_fulfillment(body)}, 201)

    @api.get("/products.json")
    async def list_products(request: Request) -> JSONResponse:
        return shop.page(request, "products", lambda _: list(shop.products.values()))

    @api.get("/locations.json")
    async def list_locations(request: Request) -> JSONResponse:
        return shop.reply(request, {"locations": list(shop.locations.values())})

    @api.get("/inventory_levels.json")
    async def inventory_levels(request: Request) -> JSONResponse:
        return shop.reply(request, {"inventory_levels": shop.levels_json(dict(request.query_params))})

    @api.post("/inventory_levels/set.json")
    async def set_inventory_level(request: Request) -> JSONResponse:
        return shop.reply(request, {"inventory_level": shop.set_inventory(await read_json(request))})

    controls = APIRouter(prefix="/_sandbox")

    @controls.post("/orders", status_code=201)
    async def place_order(request: Request, duplicate: bool = False, bad_signature: bool = False) -> dict[str, Any]:
        body = await read_json(request)
        return _control(lambda: shop.place(body, duplicate=duplicate, bad_signature=bad_signature))

    @controls.get("/orders")
    async def sandbox_orders() -> list[dict[str, Any]]:
        return list(shop.orders.values())

    @controls.get("/orders/{order_id:int}")
    async def sandbox_order(order_id: int) -> dict[str, Any]:
        return _control(lambda: shop.order(order_id))

    @controls.post("/orders/{order_id:int}/edit")
    async def edit_order(request: Request, order_id: int, duplicate: bool = False) -> dict[str, Any]:
        body = await read_json(request)
        return _control(lambda: shop.edit(order_id, body, duplicate=duplicate))

    @controls.post("/orders/{order_id:int}/pay")
    async def pay_order(order_id: int, duplicate: bool = False) -> dict[str, Any]:
        return _control(lambda: shop.pay(order_id, duplicate=duplicate))

    @controls.post("/orders/{order_id:int}/cancel")
    async def cancel_order(request: Request, order_id: int, duplicate: bool = False) -> dict[str, Any]:
        body = await read_json(request)
        return _control(lambda: shop.cancel(order_id, body, duplicate=duplicate))

    @controls.get("/products")
    async def sandbox_products() -> list[dict[str, Any]]:
        return list(shop.products.values())

    @controls.post("/products", status_code=201)
    async def add_products(request: Request) -> list[dict[str, Any]]:
        body = await read_json(request)
        return [shop.add_product(spec) for spec in (body if isinstance(body, list) else [body])]

    @controls.post("/locations", status_code=201)
    async def add_location(request: Request) -> dict[str, Any]:
        body = await read_json(request)
        name = body.get("name") if isinstance(body, dict) else None
        return shop.add_location(str(name or f"Sandbox location {len(shop.locations) + 1}"))

    @controls.get("/inventory")
    async def sandbox_inventory() -> dict[str, Any]:
        return {"levels": shop.inventory_by_sku(), "history": list(shop.inventory_log)}

    @controls.get("/fulfillments")
    async def sandbox_fulfillments(order: int | None = None) -> list[dict[str, Any]]:
        return [f for f in shop.fulfillments.values() if order is None or f["order_id"] == order]

    app.include_router(api)
    app.include_router(controls)
    return app


def _control(action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Controls answer in the kit's error shape (`{"error": ...}`), not Shopify's."""
    try:
        return action()
    except ShopifyApiError as exc:
        raise SandboxError(exc.status, str(exc.errors)) from None
