"""HTTP client of the generic in-house WMS: bearer auth, `Idempotency-Key` on create, cursor
pagination of stock levels, and every failure mapped to the connector error tree (422 refused ->
`RejectedError`, 409 `already_shipped` -> `AlreadyShippedError`). No retry loop: Temporal
retries the activity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from connectors.base import AlreadyShippedError
from connectors.http import VendorClient, body_of, error_message

ALREADY_SHIPPED = "already_shipped"


class WmsClient(VendorClient):
    """One per connector instance; the token is read per call so a rotated secret takes effect."""

    def __init__(self, base_url: str, token: Callable[[], str], http: httpx.AsyncClient | None = None) -> None:
        super().__init__(base_url, http)
        self._token = token

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token()}"}

    def classify(self, response: httpx.Response, what: str) -> None:
        body = body_of(response)
        if response.status_code == 409 and isinstance(body, dict) and body.get("error") == ALREADY_SHIPPED:
            reason = f"{what}: HTTP 409: {error_message(body, response)}"
            raise AlreadyShippedError(reason, status_code=409, body=body)
        super().classify(response, what)

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

    async def create_return(self, body: dict[str, Any], idempotency_key: str) -> tuple[dict[str, Any], bool]:
        """The WMS's RMA for an expected return, and whether it was created now (201)."""
        response = await self.request(
            "POST",
            "/returns",
            f"create expected return {body.get('externalId')}",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )
        return dict(response.json()), response.status_code == 201

    async def get_return(self, return_ref: str) -> dict[str, Any]:
        response = await self.request("GET", f"/returns/{quote(return_ref, safe='')}", f"read return {return_ref}")
        return dict(response.json())

    async def stock_levels(self, page_size: int = 500) -> list[Any]:
        """Every stock level, following `next_cursor` to the last page."""
        items: list[Any] = []
        params = {"limit": page_size}
        async for page in self.cursor_pages("/stock-levels", "read stock levels", params, items_key="items"):
            items.extend(page)
        return items
