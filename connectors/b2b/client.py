"""HTTP client of the B2B portal's API (v1, JSON, bearer token = the channel's `api_token`).

- `POST /v1/orders/{id}/fulfillments` (onX fulfillment; `Idempotency-Key`: the shipment id)
- `POST /v1/orders/{id}/acknowledgement` (the line decisions; `Idempotency-Key`: the order id,
  so a retried acknowledgement is the same one) and `GET /v1/orders/{id}` (its status)
- `POST /v1/orders/{id}/cancellation` (Orderloop cancelled the order)
- `POST /v1/orders/{id}/documents` (a PDF the buyer downloads, base64 with its kind: the invoice)
- `PUT /v1/accounts/{account}/inventory` (`{"items": [{"sku", "available"}]}`: what that buyer
  may order)
- `GET /v1/orders?updatedSince=&limit=&cursor=` (`{"orders", "nextCursor"}`)

Rate limit: 429 with `Retry-After` (and `X-RateLimit-Limit/-Remaining/-Reset` on every answer).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from connectors.http import VendorClient


def _order_path(external_id: str, tail: str = "") -> str:
    return f"/v1/orders/{quote(external_id, safe='')}{tail}"


class B2BPortalClient(VendorClient):
    """One per connector instance; the token is read per call so a rotated secret takes effect."""

    def __init__(self, base_url: str, token: Callable[[], str], http: httpx.AsyncClient | None = None) -> None:
        super().__init__(base_url, http)
        self._token = token

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token()}"}

    async def create_fulfillment(self, external_id: str, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        response = await self.request(
            "POST",
            _order_path(external_id, "/fulfillments"),
            f"push fulfillment for order {external_id}",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )
        return dict(response.json())

    async def acknowledge(self, external_id: str, body: dict[str, Any], idempotency_key: str) -> httpx.Response:
        return await self.request(
            "POST",
            _order_path(external_id, "/acknowledgement"),
            f"acknowledge order {external_id}",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )

    async def cancel(self, external_id: str, reason: str, idempotency_key: str) -> dict[str, Any]:
        response = await self.request(
            "POST",
            _order_path(external_id, "/cancellation"),
            f"cancel order {external_id}",
            json={"reason": reason},
            headers={"Idempotency-Key": idempotency_key},
        )
        return dict(response.json())

    async def upload_document(
        self, external_id: str, kind: str, filename: str, pdf: bytes, idempotency_key: str
    ) -> dict[str, Any]:
        body = {
            "kind": kind,
            "filename": filename,
            "contentType": "application/pdf",
            "content": base64.b64encode(pdf).decode(),
        }
        response = await self.request(
            "POST",
            _order_path(external_id, "/documents"),
            f"upload {kind} for order {external_id}",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )
        return dict(response.json())

    async def get_order(self, external_id: str) -> dict[str, Any]:
        response = await self.request("GET", _order_path(external_id), f"read order {external_id}")
        return dict(response.json())

    async def set_account_inventory(self, account: str, body: dict[str, Any]) -> None:
        await self.request(
            "PUT",
            f"/v1/accounts/{quote(account, safe='')}/inventory",
            f"push inventory for account {account} ({len(body['items'])} SKUs)",
            json=body,
        )

    async def orders_since(self, since: datetime, page_size: int = 100) -> list[dict[str, Any]]:
        """Every order updated since `since`, following `nextCursor` to the last page."""
        orders: list[dict[str, Any]] = []
        params: dict[str, Any] = {"updatedSince": since.isoformat(), "limit": page_size}
        async for page in self.cursor_pages(
            "/v1/orders", "list orders", params, items_key="orders", cursor_key="nextCursor"
        ):
            orders.extend(page)
        return orders
