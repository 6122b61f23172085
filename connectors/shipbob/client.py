"""HTTP client of ShipBob's dated REST API (`https://api.shipbob.com/{version}/...`): Bearer
personal access token, the `shipbob_channel_id` header, ShipBob's rate-limit signal (429 with
`x-retry-after` seconds, `x-remaining-calls` on every answer), its validation errors
(`{"field": ["message", ...]}`) as reasons, and the `next`-URL pagination of inventory levels.
No retry loop: Temporal retries the activity."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote

import httpx

from connectors.base import PermanentError, RejectedError
from connectors.http import VendorClient, body_of, retry_after_seconds

PRODUCTION_URL = "https://api.shipbob.com"
SANDBOX_URL = "https://sandbox-api.shipbob.com"
CHANNEL_HEADER = "shipbob_channel_id"
RETRY_AFTER_HEADER = "x-retry-after"
REMAINING_CALLS_HEADER = "x-remaining-calls"
# ShipBob's 429 body: {"statusCode": 429, "message": "Rate limit is exceeded. Try again in 25 seconds."}
_TRY_AGAIN = re.compile(r"try again in (\d+(?:\.\d+)?) second", re.IGNORECASE)


def shipbob_reason(body: Any) -> str:
    """ShipBob's own words: validation errors are `{"field": ["message", ...]}` (ASP.NET model
    state), other errors `{"message": ...}` or problem details (`title`, `detail`)."""
    if isinstance(body, dict):
        for key in ("message", "detail", "title", "error"):
            if isinstance(body.get(key), str) and body[key].strip():
                return body[key].strip()
        parts = []
        for field, messages in body.items():
            texts = [str(m) for m in messages] if isinstance(messages, list) else [str(messages)]
            joined = "; ".join(t for t in texts if t)
            if joined:
                parts.append(f"{field}: {joined}" if field else joined)
        if parts:
            return " | ".join(parts)
    if isinstance(body, list) and body:
        return "; ".join(str(item) for item in body)
    return str(body or "").strip()[:300] or "no reason given"


class ShipBobClient(VendorClient):
    """One per connector instance; the token is read per call so a rotated secret takes effect."""

    # ShipBob answers 400 for content it refuses (validation, an unknown product): a rejection,
    # like 422 (duplicate reference). 401, 403 and 404 stay permanent.
    status_errors = VendorClient.status_errors | {400: RejectedError}

    def __init__(
        self,
        base_url: str,
        token: Callable[[], str],
        channel_id: int,
        api_version: str,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(base_url, http)
        self._token = token
        self.channel_id = channel_id
        self.api_version = api_version
        # The last `x-remaining-calls` ShipBob reported (None until an answer carried it).
        self.remaining_calls: int | None = None

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token()}", CHANNEL_HEADER: str(self.channel_id)}

    def path(self, resource: str) -> str:
        return f"/{self.api_version}/{resource.lstrip('/')}"

    def observe(self, response: httpx.Response) -> None:
        remaining = response.headers.get(REMAINING_CALLS_HEADER)
        if remaining is not None and remaining.strip().isdigit():
            self.remaining_calls = int(remaining)

    def retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get(RETRY_AFTER_HEADER)
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                pass
        body = body_of(response)
        message = body.get("message") if isinstance(body, dict) else body
        match = _TRY_AGAIN.search(str(message or ""))
        if match:
            return float(match.group(1))
        return retry_after_seconds(response.headers.get("Retry-After"))

    def reason(self, body: Any, response: httpx.Response) -> str:
        return shipbob_reason(body)

    # --- orders ---

    async def create_order(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.request(
            "POST", self.path("order"), f"create ShipBob order {body.get('reference_id')}", json=body
        )
        return dict(response.json())

    async def orders_by_reference(self, reference_id: str) -> list[dict[str, Any]]:
        """Orders of our channel whose `reference_id` is this one (ShipBob keeps it unique)."""
        return await self._by_reference("order", reference_id)

    async def _by_reference(self, resource: str, reference_id: str) -> list[dict[str, Any]]:
        """The `resource` list (orders, returns) filtered by `ReferenceIds`, exact matches only."""
        response = await self.request(
            "GET",
            self.path(resource),
            f"find ShipBob {resource} {reference_id}",
            params={"ReferenceIds": reference_id, "Limit": 50, "Page": 1},
        )
        found = response.json()
        return [o for o in found if isinstance(o, dict) and o.get("reference_id") == reference_id]

    async def get_order(self, order_id: str) -> dict[str, Any]:
        response = await self.request("GET", self.path(f"order/{_segment(order_id)}"), f"read ShipBob order {order_id}")
        return dict(response.json())

    async def order_shipments(self, order_id: str) -> list[Any]:
        response = await self.request(
            "GET", self.path(f"order/{_segment(order_id)}/shipment"), f"list shipments of ShipBob order {order_id}"
        )
        return list(response.json() or [])

    async def cancel_order(self, order_id: str) -> httpx.Response:
        """`POST /order/{id}:cancel`; a 422 (ShipBob refused to cancel) is returned, not raised,
        for the caller to find out why from the order itself."""
        return await self.request(
            "POST",
            self.path(f"order/{_segment(order_id)}:cancel"),
            f"cancel ShipBob order {order_id}",
            ok=lambda r: r.status_code == 422,
        )

    # --- returns ---

    async def create_return(self, body: dict[str, Any]) -> dict[str, Any]:
        what = f"create ShipBob return {body.get('reference_id')}"
        return dict((await self.request("POST", self.path("return"), what, json=body)).json())

    async def returns_by_reference(self, reference_id: str) -> list[dict[str, Any]]:
        """Return orders whose `reference_id` is this one (ShipBob keeps it unique)."""
        return await self._by_reference("return", reference_id)

    async def get_return(self, return_id: str) -> dict[str, Any]:
        what = f"read ShipBob return {return_id}"
        return dict((await self.request("GET", self.path(f"return/{_segment(return_id)}"), what)).json())

    # --- inventory ---

    async def inventory_by_fulfillment_center(self, page_size: int = 250) -> list[Any]:
        items: list[Any] = []
        params = {"PageSize": page_size, "IsActive": "true"}
        async for page in self.next_url_pages(
            self.path("inventory-level/locations"), "read ShipBob inventory levels", params
        ):
            items.extend(page.get("items") or [])
        return items

    async def next_url_pages(self, path: str, what: str, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Bodies of a list paged by its `next` URL (null on the last page). The URL carries its own
        query, so the first page's parameters are not repeated."""
        url: str | None = path
        query: dict[str, Any] | None = params
        seen: set[str] = set()
        while url:
            page = (await self.request("GET", url, what, params=query)).json()
            if not isinstance(page, dict):
                raise PermanentError(f"{what}: expected a paged object, got {type(page).__name__}", body=page)
            yield page
            following = page.get("next")
            url, query = (following if isinstance(following, str) and following else None), None
            if url in seen:
                raise PermanentError(f"{what}: the next page repeats {url}", body=page)
            if url:
                seen.add(url)


def _segment(value: str) -> str:
    return quote(str(value), safe="")
