"""The shop's state and its API gate: the knobs, the resource stores, Shopify's error answers,
the gate every Admin API call passes (API version, access token, the leaky-bucket call limit and
its headers), `Link` pagination by `page_info`, and webhooks signed and sent with Shopify's
headers."""

from __future__ import annotations

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
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import SandboxOptions
from connectors.sandbox_kit import (
    LeakyBucket,
    ResourceStore,
    SandboxState,
    VendorError,
    Webhook,
    cursor_state,
    cursor_token,
    keyset_page,
)
from connectors.shopify.client import ACCESS_TOKEN_HEADER, API_VERSION_HEADER, CALL_LIMIT_HEADER, DEFAULT_API_VERSION
from connectors.shopify.webhooks import (
    EVENT_ID_HEADER,
    HMAC_HEADER,
    SHOP_DOMAIN_HEADER,
    TOPIC_HEADER,
    TRIGGERED_AT_HEADER,
    WEBHOOK_ID_HEADER,
)
from connectors.signing import base64_hmac_sha256

DEFAULT_SHOP_DOMAIN = "orderloop-sandbox.myshopify.com"
DEFAULT_LOCATION_ID = 655441491
_VERSION = re.compile(r"^(\d{4}-\d{2}|unstable)$")
_PAGE_PARAMS = frozenset({"limit", "page_info", "fields"})

Row = dict[str, Any]


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
    # The GraphQL Admin API's calculated-cost bucket (points) and its restore rate (points per
    # second; Standard plans 100). A query costs 5 points, a mutation 10.
    graphql_bucket_size: int = Field(default=1000, ge=1)
    graphql_restore_rate: float = Field(default=100.0, gt=0)


class ShopifyApiError(VendorError):
    """An error answer in Shopify's shape: `{"errors": ...}` with `status`."""

    def __init__(self, status: int, errors: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status, {"errors": errors}, headers)
        self.errors = errors


def shopify_error_body(status: int, message: str) -> dict[str, Any]:
    """Shopify's error shape, also for every route the sandbox does not serve."""
    return {"errors": message}


def not_found(_: Any = None) -> ShopifyApiError:
    return ShopifyApiError(404, "Not Found")


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


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(at: datetime) -> str:
    return at.isoformat()


def parse_time(value: Any, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ShopifyApiError(400, {name: ["is not a valid ISO 8601 time"]}) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _page_info_invalid() -> ShopifyApiError:
    return ShopifyApiError(400, {"page_info": ["Invalid value."]})


class ShopState(SandboxState[ShopifyKnobs]):
    """The shop's state and the API gate; the catalog and the orders build on it."""

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        settings = options.channel.settings
        # The shop's plan, as the channel declares it (`settings.leak_rate`: Standard 2/s,
        # Advanced 4/s, Plus 20/s); Shopify's bucket holds 20 seconds of leak.
        plan: dict[str, Any] = {}
        if settings.get("leak_rate"):
            plan = {"leak_rate": float(settings["leak_rate"]), "bucket_size": int(20 * float(settings["leak_rate"]))}
        super().__init__(options, ShopifyKnobs, plan | dict(options.knobs))
        self.secret = options.channel.credential("webhook_secret")
        self.access_token = options.channel.credential("access_token")
        self.shop_domain = str(settings.get("shop_domain") or DEFAULT_SHOP_DOMAIN)
        self.api_version = str(settings.get("api_version") or DEFAULT_API_VERSION)
        self.bucket = LeakyBucket(self.knobs.value.bucket_size, self.knobs.value.leak_rate)
        self.ids = Ids()
        self.orders: ResourceStore[Row] = ResourceStore(self.ids.orders, missing=not_found)
        self.fulfillment_orders: ResourceStore[Row] = ResourceStore(self.ids.fulfillment_orders, missing=not_found)
        self.fulfillments: ResourceStore[Row] = ResourceStore(self.ids.fulfillments, missing=not_found)
        self.products: ResourceStore[Row] = ResourceStore(self.ids.products, missing=not_found)
        self.variants: ResourceStore[Row] = ResourceStore(self.ids.variants, missing=not_found)
        self.inventory_items: ResourceStore[Row] = ResourceStore(self.ids.inventory_items, missing=not_found)
        self.locations: ResourceStore[Row] = ResourceStore(missing=not_found)
        self.levels: dict[tuple[int, int], Row] = {}
        self.inventory_log: deque[Row] = deque(maxlen=10_000)
        self.customers: dict[str, Row] = {}
        self.location_id = int(settings.get("location_id") or DEFAULT_LOCATION_ID)

    def knobs_changed(self, changes: dict[str, Any]) -> None:
        if "bucket_size" in changes or "leak_rate" in changes:
            self.bucket = LeakyBucket(self.knobs.value.bucket_size, self.knobs.value.leak_rate)

    @property
    def currency(self) -> str:
        return self.knobs.value.currency

    # --- the API gate: auth, then the leaky bucket ---

    async def authorize(self, request: Request) -> None:
        """The API version and the access token (GraphQL's gate: its cost bucket is its own)."""
        version = request.path_params.get("version", "")
        if not _VERSION.match(version):
            raise not_found()
        request.state.api_version = version
        token = request.headers.get(ACCESS_TOKEN_HEADER.lower(), "")
        if not hmac.compare_digest(token, self.access_token):
            raise ShopifyApiError(401, "[API] Invalid API key or access token (unrecognized login or wrong password)")

    async def gate(self, request: Request) -> None:
        await self.authorize(request)
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
            cursor = cursor_state(token, _page_info_invalid)
            if not isinstance(cursor.get("f"), dict):
                raise _page_info_invalid()
            filters = {str(k): str(v) for k, v in cursor["f"].items()}
        rows = sorted(rows_for(filters), key=lambda row: row["id"])
        rows_page, earlier, later = keyset_page(rows, limit, after=cursor.get("after"), before=cursor.get("before"))
        links = []
        if earlier and cursor:
            links.append((cursor_token({"f": filters, "before": rows_page[0]["id"]}), "previous"))
        if later:
            links.append((cursor_token({"f": filters, "after": rows_page[-1]["id"]}), "next"))
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
