"""HTTP client of Shopify's REST Admin API (`/admin/api/{version}/...json`): access-token auth,
the leaky-bucket call limit read from `X-Shopify-Shop-Api-Call-Limit`, `Link`-header pagination,
and the channel settings the connector reads.

Throttling: a 429 becomes `RateLimitedError` carrying Shopify's `Retry-After` (Temporal waits
that long before the retry). Loops that make many calls in one activity (inventory pushes,
pages of a list) call `pace()` between calls, which waits while the bucket, as Shopify last
reported it, is within `call_headroom` of full: without it a push of more SKUs than the bucket
holds would fail at the same SKU on every retry.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from connectors.base import PermanentError, RateLimitedError, RejectedError
from connectors.http import VendorClient
from connectors.shopify.graphql import Document
from connectors.shopify.mapping import DEFAULT_SHIPPABLE_STATUSES, FinancialStatus
from orderloop.config import ChannelConfig, ConfigError

# The newest stable version when this connector was written; `current_quantity` needs 2024-01+.
DEFAULT_API_VERSION = "2026-01"
OLDEST_API_VERSION = "2024-01"
MAX_PAGE_SIZE = 250

ACCESS_TOKEN_HEADER = "X-Shopify-Access-Token"
CALL_LIMIT_HEADER = "X-Shopify-Shop-Api-Call-Limit"
API_VERSION_HEADER = "X-Shopify-API-Version"

THROTTLED = "THROTTLED"

_VERSION = re.compile(r"^(\d{4}-(01|04|07|10)|unstable)$")


class ShopifySettings(BaseModel):
    """`settings:` of a Shopify channel in `orderloop.yaml` (every key optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_version: str = DEFAULT_API_VERSION
    # The Shopify location whose "available" Orderloop sets; default: the shop's only active one.
    location_id: int | None = Field(default=None, gt=0)
    # Refuse webhooks from another shop of the same app; default: the host of `base_url` when it
    # is a *.myshopify.com address.
    shop_domain: str | None = None
    # Shopify emails the customer the tracking when a fulfillment is created.
    notify_customer: bool = True
    shippable_financial_statuses: frozenset[FinancialStatus] = DEFAULT_SHIPPABLE_STATUSES
    # The plan's leak rate (requests per second: Standard 2, Advanced 4, Plus 20) and how many
    # slots `pace()` leaves free for other clients of the same app and shop.
    leak_rate: float = Field(default=2.0, gt=0)
    call_headroom: int = Field(default=2, ge=0)
    # Returns: sellable units are disposed RESTOCKED at `location_id` (Shopify adds them to the
    # location's available). Off (default): NOT_RESTOCKED, since Orderloop's ledger restocks
    # them and publishes availability itself; Shopify's restock would count them twice.
    restock_returns: bool = False
    # An unknown SKU re-reads the catalogue, at most this often for SKUs already found missing.
    catalog_refresh_seconds: float = Field(default=300.0, ge=0)

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError(f"{value!r} is not a Shopify API version such as {DEFAULT_API_VERSION!r}")
        if value != "unstable" and value < OLDEST_API_VERSION:
            raise ValueError(f"{value!r} predates {OLDEST_API_VERSION}, which added line_items[].current_quantity")
        return value

    @classmethod
    def of(cls, channel: ChannelConfig) -> ShopifySettings:
        try:
            return cls.model_validate(channel.settings)
        except ValidationError as exc:
            reasons = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"channel {channel.id!r}: settings: {reasons}") from None


@dataclass(frozen=True)
class CallLimit:
    """The bucket as of one answer: `used` of `size` calls, seen at `seen_at` (monotonic)."""

    used: int
    size: int
    seen_at: float

    @property
    def remaining(self) -> int:
        return max(0, self.size - self.used)

    @staticmethod
    def parse(value: str | None, now: float | None = None) -> CallLimit | None:
        used, sep, size = (value or "").partition("/")
        if not sep or not used.strip().isdigit() or not size.strip().isdigit():
            return None
        return CallLimit(int(used), int(size), time.monotonic() if now is None else now)


def shopify_time(at: datetime) -> str:
    """ISO 8601 with offset and whole seconds, as Shopify's filters take it."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(microsecond=0).isoformat()


class ShopifyClient(VendorClient):
    """One per connector instance; the token is read per call so a rotated secret takes effect."""

    def __init__(
        self,
        base_url: str,
        token: Callable[[], str],
        settings: ShopifySettings,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(base_url, http)
        self._token = token
        self.settings = settings
        # The leaky bucket as Shopify last reported it (None before the first answer).
        self.call_limit: CallLimit | None = None

    def auth_headers(self) -> dict[str, str]:
        return {ACCESS_TOKEN_HEADER: self._token()}

    def api(self, resource: str) -> str:
        return f"/admin/api/{self.settings.api_version}/{resource}.json"

    def observe(self, response: httpx.Response) -> None:
        limit = CallLimit.parse(response.headers.get(CALL_LIMIT_HEADER))
        if limit is not None:
            self.call_limit = limit

    async def pace(self) -> None:
        """Wait until the bucket has room for this call and `call_headroom` more (see module)."""
        limit = self.call_limit
        if limit is None:
            return
        rate = self.settings.leak_rate
        used_now = max(0.0, limit.used - (time.monotonic() - limit.seen_at) * rate)
        short = used_now + 1 + self.settings.call_headroom - limit.size
        if short > 0:
            await asyncio.sleep(short / rate)

    # --- orders ---

    async def order(self, order_id: str) -> dict[str, Any]:
        response = await self.request("GET", self.api(f"orders/{order_id}"), f"read order {order_id}")
        return _member(response, "order", f"read order {order_id}")

    async def orders_since(self, since: datetime) -> list[dict[str, Any]]:
        """Every order (open, closed or cancelled) updated at or after `since`, all pages."""
        params = {"updated_at_min": shopify_time(since), "status": "any", "limit": MAX_PAGE_SIZE}
        orders: list[dict[str, Any]] = []
        async for page in self._pages("orders", "list orders", params, "orders"):
            orders.extend(page)
        return orders

    # --- fulfillment ---

    async def fulfillment_orders(self, order_id: str) -> list[dict[str, Any]]:
        what = f"read fulfillment orders of order {order_id}"
        response = await self.request("GET", self.api(f"orders/{order_id}/fulfillment_orders"), what)
        return _members(response, "fulfillment_orders", what)

    async def fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        params = {"limit": MAX_PAGE_SIZE}
        what = f"read fulfillments of order {order_id}"
        async for page in self._pages(f"orders/{order_id}/fulfillments", what, params, "fulfillments"):
            found.extend(page)
        return found

    async def create_fulfillment(self, body: dict[str, Any], what: str) -> dict[str, Any]:
        await self.pace()
        response = await self.request("POST", self.api("fulfillments"), what, json=body)
        return _member(response, "fulfillment", what)

    # --- inventory ---

    async def locations(self) -> list[dict[str, Any]]:
        response = await self.request("GET", self.api("locations"), "read locations")
        return _members(response, "locations", "read locations")

    async def variants(self) -> list[dict[str, Any]]:
        """Every product variant (id, sku, inventory_item_id), read through `products.json`."""
        variants: list[dict[str, Any]] = []
        params = {"limit": MAX_PAGE_SIZE, "fields": "id,variants"}
        async for page in self._pages("products", "read product variants", params, "products"):
            for product in page:
                variants.extend(v for v in product.get("variants") or [] if isinstance(v, dict))
        return variants

    async def set_inventory_level(self, body: dict[str, Any], what: str) -> dict[str, Any]:
        await self.pace()
        response = await self.request("POST", self.api("inventory_levels/set"), what, json=body)
        return _member(response, "inventory_level", what)

    # --- GraphQL (returns) ---

    async def graphql(self, doc: Document, variables: dict[str, Any], what: str) -> dict[str, Any] | None:
        """The root field's result of one GraphQL Admin API operation (None: Shopify found
        nothing, e.g. `return(id:)` of an unknown id). `THROTTLED` is `RateLimitedError` after
        the time the cost bucket needs to hold the request again; other `errors[]` are
        permanent; `userErrors` are `RejectedError` with Shopify's messages."""
        await self.pace()
        body = {"query": doc.text, "variables": variables, "operationName": doc.name}
        answer = (await self.request("POST", self.api("graphql"), what, json=body)).json()
        if not isinstance(answer, dict):
            raise PermanentError(f"{what}: expected a GraphQL answer object", body=answer)
        errors = answer.get("errors")
        if errors:
            listed = errors if isinstance(errors, list) else [errors]
            said = "; ".join(str(e.get("message") if isinstance(e, dict) else e) for e in listed)
            codes = {(e.get("extensions") or {}).get("code") for e in listed if isinstance(e, dict)}
            if THROTTLED in codes:
                raise RateLimitedError(f"{what}: {said}", retry_after=graphql_throttle_delay(answer))
            raise PermanentError(f"{what}: {said}", body=answer)
        result = (answer.get("data") or {}).get(doc.root_field)
        if result is not None and not isinstance(result, dict):
            raise PermanentError(f"{what}: the answer's {doc.root_field} is not an object", body=answer)
        refused = (result or {}).get("userErrors") or []
        if refused:
            said = "; ".join(f"{'.'.join(e.get('field') or []) or '-'}: {e.get('message')}" for e in refused)
            raise RejectedError(f"{what}: {said}", status_code=200, body=answer)
        return result

    async def _pages(
        self, resource: str, what: str, params: dict[str, Any], key: str
    ) -> AsyncIterator[list[dict[str, Any]]]:
        async for body in self.link_pages(self.api(resource), what, params):
            if not isinstance(body, dict) or not isinstance(body.get(key), list):
                raise PermanentError(f"{what}: the answer has no {key!r} list")
            yield [item for item in body[key] if isinstance(item, dict)]
            # Runs before `link_pages` fetches the next page.
            await self.pace()


def graphql_throttle_delay(answer: dict[str, Any]) -> float:
    """Seconds until the cost bucket holds the throttled request: (requested - available) /
    restore rate, from `extensions.cost`; 1 second when Shopify did not say."""
    cost = (answer.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    requested, available, rate = (
        cost.get("requestedQueryCost"),
        status.get("currentlyAvailable"),
        status.get("restoreRate"),
    )
    numbers = [float(v) for v in (requested, available, rate) if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) == 3 and numbers[2] > 0:
        return max(0.0, (numbers[0] - numbers[1]) / numbers[2])
    return 1.0


def _member(response: httpx.Response, key: str, what: str) -> dict[str, Any]:
    body = response.json()
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise PermanentError(f"{what}: the answer has no {key!r} object", status_code=response.status_code, body=body)
    return dict(body[key])


def _members(response: httpx.Response, key: str, what: str) -> list[dict[str, Any]]:
    body = response.json()
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise PermanentError(f"{what}: the answer has no {key!r} list", status_code=response.status_code, body=body)
    return [item for item in body[key] if isinstance(item, dict)]
