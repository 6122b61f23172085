"""HTTP client of the generic storefront API: bearer auth, fulfillments with an
`Idempotency-Key`, inventory, and orders listed by cursor (see `connectors/http.py`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from connectors.http import VendorClient


class StorefrontClient(VendorClient):
    """One per connector instance; the token is read per call so a rotated secret takes effect."""

    def __init__(self, base_url: str, token: Callable[[], str], http: httpx.AsyncClient | None = None) -> None:
        super().__init__(base_url, http)
        self._token = token

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token()}"}

    async def create_fulfillment(self, external_id: str, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        response = await self.request(
            "POST",
            f"/orders/{quote(external_id, safe='')}/fulfillments",
            f"push fulfillment for order {external_id}",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )
        return dict(response.json())

    async def return_received(
        self, external_return_id: str, body: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        """Tell the storefront a return was received (so it refunds); once per Idempotency-Key."""
        response = await self.request(
            "POST",
            f"/returns/{quote(external_return_id, safe='')}/received",
            f"report return {external_return_id} received",
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
        async for page in self.cursor_pages("/orders", "list orders", params, items_key="orders"):
            orders.extend(page)
        return orders
