"""HTTP client of the generic storefront API: bearer auth, cursor pagination, and every failure
mapped to the connector error tree. No retry loop: Temporal retries the activity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from connectors.base import PermanentError, RateLimitedError, RejectedError, RetryableError

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (at - (now or datetime.now(UTC))).total_seconds())


def error_message(response: httpx.Response) -> str:
    """The vendor's own reason (`error`, `message` or `detail`), else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict):
        for key in ("error", "message", "detail", "reason"):
            if body.get(key):
                return str(body[key])
    return str(body)[:300]


def body_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def raise_for_status(response: httpx.Response, what: str) -> None:
    """Map a non-2xx answer: 429 -> RateLimitedError (Retry-After), 5xx/408 -> RetryableError,
    422 -> RejectedError (the vendor refused this content), other 4xx -> PermanentError."""
    status = response.status_code
    if response.is_success:
        return
    reason = f"{what}: HTTP {status}: {error_message(response)}"
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    if status == 429:
        raise RateLimitedError(reason, retry_after=retry_after)
    if status >= 500 or status == 408:
        raise RetryableError(reason, retry_after=retry_after)
    if status == 422:
        raise RejectedError(reason, status_code=status, body=body_of(response))
    raise PermanentError(reason, status_code=status, body=body_of(response))


class StorefrontClient:
    """One per connector instance. `http` is injectable (tests pass an `ASGITransport` client
    bound to the sandbox); the token is read per call so a rotated secret takes effect."""

    def __init__(self, base_url: str, token: Callable[[], str], http: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)

    async def request(
        self, method: str, path: str, what: str, *, json: Any = None, params: Any = None, headers: Any = None
    ) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {self._token()}", "Accept": "application/json", **(headers or {})}
        try:
            response = await self.http.request(
                method, f"{self.base_url}{path}", json=json, params=params, headers=all_headers
            )
        except httpx.TimeoutException as exc:
            raise RetryableError(f"{what}: timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise RetryableError(f"{what}: {type(exc).__name__}: {exc}") from exc
        raise_for_status(response, what)
        return response

    async def create_fulfillment(self, external_id: str, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        response = await self.request(
            "POST",
            f"/orders/{quote(external_id, safe='')}/fulfillments",
            f"push fulfillment for order {external_id}",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )
        return dict(response.json())

    async def set_inventory(self, body: dict[str, Any]) -> None:
        await self.request("POST", "/inventory", f"push inventory ({len(body['items'])} SKUs)", json=body)

    async def get_order(self, external_id: str) -> dict[str, Any]:
        response = await self.request("GET", f"/orders/{quote(external_id, safe='')}", f"read order {external_id}")
        return dict(response.json())

    async def orders_since(self, since: datetime, page_size: int = 100) -> list[dict[str, Any]]:
        """Every order updated since `since`, following `next_cursor` to the last page."""
        orders: list[dict[str, Any]] = []
        params: dict[str, Any] = {"updated_since": since.isoformat(), "limit": page_size}
        while True:
            page = (await self.request("GET", "/orders", "list orders", params=params)).json()
            orders.extend(page.get("orders") or [])
            cursor = page.get("next_cursor")
            if not cursor:
                return orders
            params = {**params, "cursor": cursor}

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()
