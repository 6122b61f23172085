"""HTTP client of BigCommerce's REST Management API (`/stores/{store_hash}/v2|v3/...`):
`X-Auth-Token` auth, v2's page-numbered lists (`page`, `limit`; 204 No Content for a page with
nothing on it), the store's 30-second request quota read from its `X-Rate-Limit-*` headers, both
error shapes (v2's `[{"status", "message"}]`, v3's `{"status", "title", "type", "errors"}`), and
the channel settings the connector reads.

Throttling: a 429 with `X-Rate-Limit-Time-Reset-Ms` becomes `RateLimitedError` waiting that long
(Temporal retries the activity then); a 429 without the headers is the platform's overload
(BigCommerce: "retry at another time"), a `RateLimitedError` without a delay, so Temporal's backoff
applies. Loops of many calls in one activity (the pages of a poll, the inventory batches) call
`pace()` between calls, which waits for the window's reset once the quota is nearly spent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import PermanentError, channel_settings
from connectors.bigcommerce.mapping import DEFAULT_SHIPPABLE_STATUSES, OrderStatusId
from connectors.http import VendorClient, error_message
from orderloop.config import ChannelConfig

AUTH_HEADER = "X-Auth-Token"
WINDOW_HEADER = "X-Rate-Limit-Time-Window-Ms"
RESET_HEADER = "X-Rate-Limit-Time-Reset-Ms"
QUOTA_HEADER = "X-Rate-Limit-Requests-Quota"
LEFT_HEADER = "X-Rate-Limit-Requests-Left"

# v2 lists: `limit` defaults to 50 and is capped at 250.
MAX_PAGE_SIZE = 250
# `PUT /v3/inventory/adjustments/absolute` takes at most 2,000 items per request.
MAX_INVENTORY_ITEMS = 2000
DEFAULT_LOCATION_ID = 1


class BigCommerceSettings(BaseModel):
    """`settings:` of a BigCommerce channel in `orderloop.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The store's hash, as in `https://api.bigcommerce.com/stores/{store_hash}/v3/...`.
    store_hash: str = Field(min_length=1, pattern=r"^[A-Za-z0-9]+$")
    # Orders in these statuses are routed; others wait for a status that is (see mapping).
    shippable_statuses: frozenset[OrderStatusId] = DEFAULT_SHIPPABLE_STATUSES
    # The BigCommerce inventory location whose stock Orderloop sets (1: the store's default).
    location_id: int = Field(default=DEFAULT_LOCATION_ID, gt=0)
    inventory_reason: str = "Orderloop available-to-sell"
    inventory_batch: int = Field(default=MAX_INVENTORY_ITEMS, ge=1, le=MAX_INVENTORY_ITEMS)
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    # `pace()` waits for the window's reset once no more than this many requests are left, so
    # the other apps on the store (they share its quota) keep some.
    quota_headroom: int = Field(default=5, ge=0)
    # Our carrier name (lower case) -> BigCommerce `shipping_provider`; others go as
    # `tracking_carrier` (AfterShip slugs), see `mapping.carrier_fields`.
    shipping_providers: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def of(cls, channel: ChannelConfig) -> BigCommerceSettings:
        return channel_settings(channel, cls)


@dataclass(frozen=True)
class Quota:
    """The store's request quota as of one answer (`seen_at`: monotonic seconds)."""

    left: int
    quota: int
    reset_seconds: float
    seen_at: float

    @staticmethod
    def parse(headers: httpx.Headers, now: float | None = None) -> Quota | None:
        left, quota, reset = headers.get(LEFT_HEADER), headers.get(QUOTA_HEADER), headers.get(RESET_HEADER)
        if left is None or quota is None or reset is None:
            return None
        try:
            return Quota(int(left), int(quota), int(reset) / 1000, time.monotonic() if now is None else now)
        except ValueError:
            return None


def bigcommerce_time(at: datetime) -> str:
    """ISO 8601 with its offset, as `min_date_modified` takes it."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(microsecond=0).isoformat()


class BigCommerceClient(VendorClient):
    """One per connector instance; the token is read per call so a rotated one takes effect."""

    def __init__(
        self,
        base_url: str,
        token: Callable[[], str],
        settings: BigCommerceSettings,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(base_url, http)
        self._token = token
        self.settings = settings
        self.quota: Quota | None = None

    def auth_headers(self) -> dict[str, str]:
        return {AUTH_HEADER: self._token(), "Accept": "application/json"}

    def v2(self, resource: str) -> str:
        return f"/stores/{self.settings.store_hash}/v2/{resource}"

    def v3(self, resource: str) -> str:
        return f"/stores/{self.settings.store_hash}/v3/{resource}"

    def observe(self, response: httpx.Response) -> None:
        quota = Quota.parse(response.headers)
        if quota is not None:
            self.quota = quota

    def retry_after(self, response: httpx.Response) -> float | None:
        """The window's reset (`X-Rate-Limit-Time-Reset-Ms`); None on a 429 without it (the
        platform's overload: Temporal's backoff decides)."""
        reset = response.headers.get(RESET_HEADER)
        if reset is None or not reset.strip().isdigit():
            return None
        return int(reset) / 1000

    def reason(self, body: Any, response: httpx.Response) -> str:
        """v2 answers errors as a list of `{status, message}`, v3 as one `{title, errors}`."""
        if isinstance(body, list):
            messages = [str(item.get("message")) for item in body if isinstance(item, dict) and item.get("message")]
            if messages:
                return "; ".join(messages)
        if isinstance(body, dict) and body.get("title"):
            errors = body.get("errors")
            detail = "; ".join(f"{k}: {v}" for k, v in errors.items()) if isinstance(errors, dict) else ""
            return f"{body['title']}{f' ({detail})' if detail else ''}"
        return error_message(body, response)

    async def pace(self) -> None:
        """Wait for the window's reset when the quota, as last seen, is down to the headroom."""
        quota = self.quota
        if quota is None or quota.left > self.settings.quota_headroom:
            return
        wait = quota.reset_seconds - (time.monotonic() - quota.seen_at)
        if wait > 0:
            await asyncio.sleep(wait)

    # --- orders ---

    async def order(self, order_id: str) -> dict[str, Any]:
        what = f"read order {order_id}"
        return _object(await self.request("GET", self.v2(f"orders/{order_id}"), what), what)

    async def order_products(self, order_id: str) -> list[dict[str, Any]]:
        return await self._all(self.v2(f"orders/{order_id}/products"), f"read products of order {order_id}", {})

    async def shipping_addresses(self, order_id: str) -> list[dict[str, Any]]:
        what = f"read shipping addresses of order {order_id}"
        return await self._all(self.v2(f"orders/{order_id}/shipping_addresses"), what, {})

    async def shipments(self, order_id: str) -> list[dict[str, Any]]:
        return await self._all(self.v2(f"orders/{order_id}/shipments"), f"read shipments of order {order_id}", {})

    async def create_shipment(self, order_id: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        return _object(await self.request("POST", self.v2(f"orders/{order_id}/shipments"), what, json=body), what)

    async def orders_modified_since(self, since: datetime) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of every order modified at or after `since`, by id ascending."""
        params = {"min_date_modified": bigcommerce_time(since), "sort": "id:asc"}
        async for page in self._pages(self.v2("orders"), "list orders", params):
            yield page

    # --- inventory ---

    async def set_inventory(self, items: list[dict[str, Any]], what: str) -> dict[str, Any]:
        body = {"reason": self.settings.inventory_reason, "items": items}
        return _object(await self.request("PUT", self.v3("inventory/adjustments/absolute"), what, json=body), what)

    # --- pages ---

    async def _pages(self, path: str, what: str, params: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        """v2's numbered pages: `page=1, 2, ...` until one is short or answers 204."""
        limit = self.settings.page_size
        page = 1
        while True:
            if page > 1:
                await self.pace()
            response = await self.request("GET", path, what, params={**params, "page": page, "limit": limit})
            rows = _rows(response, what)
            if rows:
                yield rows
            if len(rows) < limit:
                return
            page += 1

    async def _all(self, path: str, what: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        async for page in self._pages(path, what, params):
            found.extend(page)
        return found


def _rows(response: httpx.Response, what: str) -> list[dict[str, Any]]:
    if response.status_code == 204 or not response.content:
        return []
    body = response.json()
    if not isinstance(body, list):
        raise PermanentError(f"{what}: the answer is not a list", status_code=response.status_code, body=body)
    return [row for row in body if isinstance(row, dict)]


def _object(response: httpx.Response, what: str) -> dict[str, Any]:
    body = response.json()
    if not isinstance(body, dict):
        raise PermanentError(f"{what}: the answer is not an object", status_code=response.status_code, body=body)
    return body
