"""HTTP client of Logiwa's Integration API: RPC over `POST /en/api/IntegrationApi/{Method}` with
JSON bodies, a bearer token from the password grant (`POST {token host}/token`, form body),
held by the shared `connectors.tokens.TokenHolder` (renewed before it expires, and once when it
is refused: 401 `{"Message": ...}`), the `{"Success": false,
"Errors": [...]}` refusals Logiwa answers with HTTP 200, its throttling (HTTP 403 with "Please
retry after {t} milliseconds" in the body and no header) as `RateLimitedError` with that delay,
and `SelectedPageIndex` paging. No retry loop: Temporal retries the activity; the one repeat
is the holder's, a call made again with a fresh token after a 401, as OAuth clients do."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from connectors.base import ConnectorError, PermanentError, RateLimitedError, RejectedError, RetryableError
from connectors.http import VendorClient, body_of
from connectors.logiwa.mapping import ORDERS_PER_CALL
from connectors.tokens import Token, TokenHolder, token_from_answer

RPC_PATH = "/en/api/IntegrationApi/"
PAGE_SIZE = 200
# The body of Logiwa's 403: "Request has been throttled (blocked) because of the request limit
# per second. Please retry after {t} milliseconds later."
_RETRY_AFTER_MS = re.compile(r"retry after (\d+(?:\.\d+)?) millisecond", re.IGNORECASE)
# Errors[] is free text: these words mark a failure on Logiwa's side worth retrying.
_TRANSIENT = re.compile(r"timeout|timed out|deadlock|temporarily|try again|unavailable", re.IGNORECASE)


def throttle_delay(response: httpx.Response) -> float | None:
    """Seconds Logiwa's throttling answer asks to wait (its 403 body), else None."""
    if response.status_code != 403:
        return None
    match = _RETRY_AFTER_MS.search(str(body_of(response)))
    return float(match.group(1)) / 1000 if match else None


def logiwa_errors(body: Any) -> str:
    """Logiwa's own words: `Errors[]`, the auth `Message`, or the token's `error_description`."""
    if isinstance(body, dict):
        errors = body.get("Errors")
        if isinstance(errors, list) and errors:
            return "; ".join(str(e) for e in errors)
        for key in ("Message", "error_description", ".error_description", "error", ".error"):
            if body.get(key):
                return str(body[key])
    return str(body or "").strip()[:300] or "no reason given"


class LogiwaClient(VendorClient):
    """One per connector instance; credentials are read per token request so rotated ones apply."""

    def __init__(
        self,
        base_url: str,
        token_url: str | None,
        username: Callable[[], str],
        password: Callable[[], str],
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(base_url, http)
        self.token_url = token_url or f"{self.base_url}/token"
        self._username = username
        self._password = password
        self.tokens = TokenHolder(self.grant, clock=clock)

    def classify(self, response: httpx.Response, what: str) -> None:
        delay = throttle_delay(response)
        if delay is not None:
            raise RateLimitedError(f"{what}: HTTP 403: throttled by Logiwa: {logiwa_errors(body_of(response))}", delay)
        super().classify(response, what)

    def reason(self, body: Any, response: httpx.Response) -> str:
        return logiwa_errors(body)

    # --- the token ---

    async def grant(self, _refresh_token: str | None) -> Token:
        """The password grant. Logiwa answers a wrong user or password with HTTP 200 and
        `{"error": "invalid_grant", ...}` (or `.error`), so the body decides, not the status."""
        form = {"grant_type": "password", "username": self._username(), "password": self._password()}
        response = await self.request("POST", self.token_url, "get a Logiwa token", data=form)
        body = body_of(response)
        token = token_from_answer(body)
        if token is None:
            raise PermanentError(
                f"get a Logiwa token: {logiwa_errors(body)} (check the channel's username and password)",
                status_code=response.status_code,
                body=body,
            )
        return token

    # --- RPC ---

    async def call(self, method: str, body: Any, what: str, *, rejected: bool = False) -> dict[str, Any]:
        """`POST /en/api/IntegrationApi/{method}`; a `Success: false` answer raises: transient
        words retry, otherwise `RejectedError` where `rejected` (Logiwa refused our content) or
        `PermanentError`, each with HTTP status 200 and Logiwa's errors."""

        async def attempt(token: str) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}"}
            return await self.request(
                "POST", f"{RPC_PATH}{method}", what, json=body, headers=headers, ok=lambda r: r.status_code == 401
            )

        response = await self.tokens.send(attempt)
        if response.status_code == 401:
            self.classify(response, what)
        data = body_of(response)
        if not isinstance(data, dict):
            raise PermanentError(f"{what}: expected a JSON object, got {data!r:.200}", response.status_code, data)
        if data.get("Success") is False:
            raise self.refusal(data, response.status_code, what, rejected)
        return data

    def refusal(self, data: dict[str, Any], status: int, what: str, rejected: bool) -> ConnectorError:
        reason = f"{what}: Logiwa: {logiwa_errors(data)}"
        if _TRANSIENT.search(reason):
            return RetryableError(reason)
        kind = RejectedError if rejected else PermanentError
        return kind(reason, status_code=status, body=data)

    async def pages(self, method: str, body: dict[str, Any], what: str) -> AsyncIterator[list[Any]]:
        """The `Data` of each page (`SelectedPageIndex` from 1), until a page is short or the
        last of `PageCount`."""
        index = 1
        while True:
            page = await self.call(method, {**body, "PageSize": PAGE_SIZE, "SelectedPageIndex": index}, what)
            rows = page.get("Data") or []
            if not isinstance(rows, list):
                raise PermanentError(f"{what}: Data must be an array", body=page)
            yield rows
            count = page.get("PageCount")
            if len(rows) < PAGE_SIZE or (isinstance(count, int) and index >= count):
                return
            index += 1

    # --- operations ---

    async def insert_shipment_orders(self, orders: list[dict[str, Any]], what: str) -> dict[str, Any]:
        """One call of at most `ORDERS_PER_CALL` orders (Logiwa refuses a bigger batch whole)."""
        if not 1 <= len(orders) <= ORDERS_PER_CALL:
            raise ValueError(f"InsertShipmentOrder takes 1 to {ORDERS_PER_CALL} orders a call, not {len(orders)}")
        return await self.call("InsertShipmentOrder", orders, what, rejected=True)

    async def orders_by_code(self, code: str, depositor: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        query = {"Code": code, "DepositorCode": depositor, "IsGetOrderDetails": True}
        async for rows in self.pages("WarehouseOrderSearch", query, f"find Logiwa order {code}"):
            found.extend(r for r in rows if isinstance(r, dict) and r.get("Code") == code)
        return found

    async def cancel_order(self, order_id: int, code: str) -> dict[str, Any]:
        return await self.call("CancelShipmentOrder", {"ID": order_id, "Code": code}, f"cancel Logiwa order {code}")

    async def inventory(self, depositor: str) -> list[Any]:
        items: list[Any] = []
        async for rows in self.pages("InventoryItemSearch", {"DepositorCode": depositor}, "read Logiwa inventory"):
            items.extend(rows)
        return items
