"""HTTP client of the RyderShip (Whiplash) V2 API (`{base}/api/v2/...`): an OAuth2 bearer token
(2 h, `expires_in: 7200`) renewed with the refresh token (`POST /oauth/token`,
`grant_type=refresh_token`; Whiplash issues a new refresh token each time and revokes the one
spent), held by the shared `connectors.tokens.TokenHolder` (renewal before expiry, one repeat
with a fresh token after a 401; the rotated refresh token in the shared token store when the
worker gives one), Whiplash's `{"error": ...}` /
`{"errors": [...]}` bodies as reasons, its rate limit (10 requests a second per account; 429 with
`X-RateLimit-Reset` and `Retry-After`) as `RateLimitedError` with that delay, and `page` /
`per_page` paging. No retry loop: Temporal retries the activity."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from connectors.base import PermanentError, RejectedError
from connectors.http import VendorClient, body_of, retry_after_seconds
from connectors.tokens import Token, TokenHolder, token_from_answer

API = "/api/v2"
PER_PAGE = 100
RESET_HEADER = "X-RateLimit-Reset"
REMAINING_HEADER = "X-RateLimit-Remaining"


def whiplash_reason(body: Any) -> str:
    """Whiplash's words: `{"error": text}`, `{"errors": [text] | {field: [text]}}`, or OAuth's
    `error_description`."""
    if isinstance(body, dict):
        for key in ("error_description", "error", "message"):
            if isinstance(body.get(key), str) and body[key].strip():
                return str(body[key]).strip()
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(str(e) for e in errors)
        if isinstance(errors, dict) and errors:
            return "; ".join(f"{k} {'; '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in errors.items())
    return str(body or "").strip()[:300] or "no reason given"


class RyderShipClient(VendorClient):
    """One per connector instance; the client secret is read per token request."""

    # Whiplash answers 422 for an order it refuses (validation, a known order_orig, a late cancel).
    status_errors = VendorClient.status_errors | {422: RejectedError}

    def __init__(
        self,
        base_url: str,
        token_url: str | None,
        client_id: Callable[[], str],
        client_secret: Callable[[], str],
        refresh_token: Callable[[], str],
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(base_url, http)
        self.token_url = token_url or f"{self.base_url}/oauth/token"
        self._client_id = client_id
        self._client_secret = client_secret
        self.tokens = TokenHolder(self.grant, refresh_token=refresh_token, clock=clock)
        self.remaining: int | None = None

    def observe(self, response: httpx.Response) -> None:
        remaining = response.headers.get(REMAINING_HEADER)
        if remaining is not None and remaining.strip().isdigit():
            self.remaining = int(remaining)

    def retry_after(self, response: httpx.Response) -> float | None:
        delay = retry_after_seconds(response.headers.get("Retry-After"))
        if delay is not None:
            return delay
        reset = response.headers.get(RESET_HEADER)
        try:
            return max(0.0, float(reset) - time.time()) if reset else None
        except ValueError:
            return None

    def reason(self, body: Any, response: httpx.Response) -> str:
        return whiplash_reason(body)

    # --- the token ---

    async def grant(self, refresh_token: str | None) -> Token:
        """The refresh grant; the answer carries the new refresh token (the one sent is spent)."""
        assert refresh_token is not None
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self._client_id(),
            "client_secret": self._client_secret(),
        }
        response = await self.request(
            "POST", self.token_url, "get a RyderShip token", data=form, ok=lambda r: r.status_code in (400, 401)
        )
        body = body_of(response)
        token = token_from_answer(body) if response.is_success else None
        if token is None:
            raise PermanentError(
                f"get a RyderShip token: HTTP {response.status_code}: {whiplash_reason(body)} "
                "(check the channel's client_id, client_secret and refresh_token)",
                status_code=response.status_code,
                body=body,
            )
        return token

    async def call(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        """One API call with a valid token; a 401 (revoked or expired early) renews it once."""
        ok = kwargs.pop("ok", None)

        async def attempt(token: str) -> httpx.Response:
            accept = lambda r: r.status_code == 401 or bool(ok and ok(r))  # noqa: E731
            headers = {"Authorization": f"Bearer {token}"}
            return await self.request(method, f"{API}{path}", what, ok=accept, headers=headers, **kwargs)

        response = await self.tokens.send(attempt)
        if response.status_code == 401:
            self.classify(response, what)
        return response

    # --- orders ---

    async def create_order(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.call("POST", "/orders", f"create RyderShip order {body.get('order_orig')}", json=body)
        return dict(response.json())

    async def orders_by_request(self, request_id: str) -> list[dict[str, Any]]:
        """Orders whose `order_orig` is our request id (Ransack search, as Whiplash lists)."""
        search = json.dumps({"order_orig_eq": request_id})
        found: list[dict[str, Any]] = []
        async for page in self.pages("/orders", f"find RyderShip order {request_id}", {"search": search}):
            found.extend(o for o in page if isinstance(o, dict) and o.get("order_orig") == request_id)
        return found

    async def get_order(self, order_id: str) -> dict[str, Any]:
        response = await self.call("GET", f"/orders/{int(order_id)}", f"read RyderShip order {order_id}")
        return dict(response.json())

    async def cancel_order(self, order_id: str) -> httpx.Response:
        """`PUT /orders/{id}/call/cancel`; a 422 (Whiplash refused: too late, or cancelled
        already) is returned for the caller to find out why from the order."""
        return await self.call(
            "PUT",
            f"/orders/{int(order_id)}/call/cancel",
            f"cancel RyderShip order {order_id}",
            ok=lambda r: r.status_code == 422,
        )

    # --- items ---

    async def items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        async for page in self.pages("/items", "read RyderShip items", {}):
            items.extend(i for i in page if isinstance(i, dict))
        return items

    async def warehouse_quantities(self, item_id: int) -> list[Any]:
        response = await self.call(
            "GET", f"/items/{item_id}/warehouse_quantities", f"read RyderShip quantities of item {item_id}"
        )
        return list(response.json() or [])

    async def pages(self, path: str, what: str, params: dict[str, Any]) -> AsyncIterator[list[Any]]:
        """Each page (`page` from 1, `per_page`) until a short one."""
        page = 1
        while True:
            rows = (await self.call("GET", path, what, params={**params, "page": page, "per_page": PER_PAGE})).json()
            if not isinstance(rows, list):
                raise PermanentError(f"{what}: expected an array, got {type(rows).__name__}", body=rows)
            yield rows
            if len(rows) < PER_PAGE:
                return
            page += 1
