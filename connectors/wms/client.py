"""HTTP client of the generic in-house WMS: bearer auth, `Idempotency-Key` on create, cursor
pagination of stock levels, and every failure mapped to the connector error tree (422 refused ->
`RejectedError`, 409 `already_shipped` -> `AlreadyShippedError`). No retry loop: Temporal
retries the activity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from connectors.base import (
    AlreadyShippedError,
    PermanentError,
    RateLimitedError,
    RejectedError,
    RetryableError,
)

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
ALREADY_SHIPPED = "already_shipped"


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


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _reason(body: Any, response: httpx.Response) -> str:
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("error", "reason", "message", "detail") if body.get(k)]
        if parts:
            return ": ".join(dict.fromkeys(parts))
    return str(body)[:300] or response.reason_phrase


def raise_for_status(response: httpx.Response, what: str) -> None:
    status = response.status_code
    if response.is_success:
        return
    body = _body(response)
    reason = f"{what}: HTTP {status}: {_reason(body, response)}"
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    if status == 429:
        raise RateLimitedError(reason, retry_after=retry_after)
    if status >= 500 or status == 408:
        raise RetryableError(reason, retry_after=retry_after)
    if status == 409 and isinstance(body, dict) and body.get("error") == ALREADY_SHIPPED:
        raise AlreadyShippedError(reason, status_code=status, body=body)
    if status == 422:
        raise RejectedError(reason, status_code=status, body=body)
    raise PermanentError(reason, status_code=status, body=body)


class WmsClient:
    """One per connector instance; `http` is injectable (tests bind it to the sandbox app)."""

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

    async def create_request(self, body: dict[str, Any], idempotency_key: str) -> tuple[dict[str, Any], bool]:
        """The WMS's request object, and whether it was created now (201) or already there (200)."""
        response = await self.request(
            "POST",
            "/shipping-requests",
            f"create shipping request {body.get('externalId')}",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )
        return dict(response.json()), response.status_code == 201

    async def cancel_request(self, request_ref: str) -> dict[str, Any]:
        response = await self.request(
            "POST", f"/shipping-requests/{quote(request_ref, safe='')}/cancel", f"cancel shipping request {request_ref}"
        )
        return dict(response.json())

    async def get_request(self, request_ref: str) -> dict[str, Any]:
        response = await self.request(
            "GET", f"/shipping-requests/{quote(request_ref, safe='')}", f"read shipping request {request_ref}"
        )
        return dict(response.json())

    async def shipments(self, request_ref: str) -> list[Any]:
        response = await self.request(
            "GET", f"/shipping-requests/{quote(request_ref, safe='')}/shipments", f"list shipments of {request_ref}"
        )
        return list(response.json().get("shipments") or [])

    async def stock_levels(self, page_size: int = 500) -> list[Any]:
        """Every stock level, following `next_cursor` to the last page."""
        items: list[Any] = []
        params: dict[str, Any] = {"limit": page_size}
        while True:
            page = (await self.request("GET", "/stock-levels", "read stock levels", params=params)).json()
            items.extend(page.get("items") or [])
            cursor = page.get("next_cursor")
            if not cursor:
                return items
            params = {**params, "cursor": cursor}

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()
