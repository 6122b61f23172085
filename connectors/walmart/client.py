"""HTTP client of the Walmart Marketplace API (US, `{base}/v3/...`): the client-credentials token
(`POST /v3/token` with `Authorization: Basic base64(clientId:clientSecret)`, 900 s), sent as
`WM_SEC.ACCESS_TOKEN` with a fresh `WM_QOS.CORRELATION_ID` and `WM_SVC.NAME` on every call;
renewed before it runs out and once after a 401. Walmart's error bodies (`{"errors": [{code,
field, description, info, ...}]}`, also seen wrapped as `{"errors": {"error": [...]}}` and
`{"error": [...]}`) become the reasons; a 429 becomes `RateLimitedError` with the delay until
`X-Next-Replenishment-Time` (epoch milliseconds), counted from the answer's own `Date` so the two
hosts' clocks need not agree. Order lists follow `list.meta.nextCursor`, return order lists
(`GET /v3/returns`) `meta.nextCursor`: both a query string to append to the path. No retry loop:
Temporal retries the activity."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import PermanentError, RateLimitedError, channel_settings
from connectors.http import VendorClient, body_of, retry_after_seconds
from connectors.tokens import Token, TokenHolder, token_from_answer
from orderloop.config import ChannelConfig
from orderloop.returns_model import ReturnCondition

API = "/v3"
TOKEN_PATH = f"{API}/token"
# Renew this many seconds before `expires_in` runs out.
MAX_PAGE_SIZE = 200
# The longest wait `pace` sleeps inside an activity.
MAX_PACE_WAIT = 5.0

ACCESS_TOKEN_HEADER = "WM_SEC.ACCESS_TOKEN"
CORRELATION_HEADER = "WM_QOS.CORRELATION_ID"
SERVICE_NAME_HEADER = "WM_SVC.NAME"
CHANNEL_TYPE_HEADER = "WM_CONSUMER.CHANNEL.TYPE"
TOKEN_COUNT_HEADER = "X-Current-Token-Count"
REPLENISHMENT_HEADER = "X-Next-Replenishment-Time"


class WalmartSettings(BaseModel):
    """`settings:` of a Walmart channel in `orderloop.yaml` (every key optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service_name: str = "Walmart Marketplace"
    # `WM_CONSUMER.CHANNEL.TYPE`, for solution providers Walmart gave one.
    channel_type: str | None = None
    token_url: str | None = None
    # The ship node (fulfillment center id at Walmart) inventory is set at; None: the seller's default.
    ship_node: str | None = None
    # The carrier names Orderloop's 3PLs report -> Walmart's carrier name (case-insensitive keys);
    # a name Walmart lists is taken as it is without an entry.
    carriers: dict[str, str] = Field(default_factory=dict)
    # The Walmart ship methods (`shippingInfo.methodCode`) this seller serves, each with the
    # Walmart carriers its parcels may go with; an order of another method is `invalid_order`.
    ship_methods: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "Value": ["USPS", "UPS", "FedEx", "OnTrac", "LSO"],
            "Standard": ["USPS", "UPS", "FedEx", "OnTrac", "LSO"],
            "Express": ["UPS", "FedEx", "USPS"],
            "OneDay": ["UPS", "FedEx"],
            "Freight": ["ABF Freight System", "Estes", "SAIA", "XPO Logistics"],
        }
    )
    # A carrier Walmart does not list goes as `otherCarrier` (it then wants the tracking URL).
    allow_other_carrier: bool = True
    # The header Walmart signs ORDER_UPDATES notifications in (the subscription's `authHeaderName`).
    webhook_auth_header: str = "Authorization"
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    # The received units' conditions a return's refund covers (`push_return_received`); wrong
    # items and missing units are left for the seller to dispute in Seller Center.
    refund_conditions: tuple[ReturnCondition, ...] = (ReturnCondition.SELLABLE, ReturnCondition.DAMAGED)

    @classmethod
    def of(cls, channel: ChannelConfig) -> WalmartSettings:
        return channel_settings(channel, cls)


def walmart_reason(body: Any) -> str:
    """Walmart's words: each error's code, description and info."""
    errors: Any = None
    if isinstance(body, dict):
        errors = body.get("errors", body.get("error"))
        if isinstance(errors, dict):
            errors = errors.get("error")
        if errors is None and isinstance(body.get("error_description"), str):
            return str(body["error_description"])
    if isinstance(errors, dict):
        errors = [errors]
    if isinstance(errors, list) and errors:
        parts = []
        for error in errors:
            if not isinstance(error, dict):
                parts.append(str(error))
                continue
            words = [str(error[k]) for k in ("description", "info") if error.get(k)]
            parts.append(f"{error.get('code') or 'ERROR'}: {' - '.join(dict.fromkeys(words)) or 'no description'}")
        return "; ".join(parts)
    return str(body or "").strip()[:300] or "no reason given"


def replenishment_delay(response: httpx.Response) -> float | None:
    """Seconds until `X-Next-Replenishment-Time` (epoch ms), from the answer's `Date` if it has one."""
    value = response.headers.get(REPLENISHMENT_HEADER, "").strip()
    if not value.isdigit():
        return None
    at = int(value) / 1000.0
    try:
        now = parsedate_to_datetime(response.headers["Date"]).timestamp()
    except (KeyError, TypeError, ValueError):
        now = time.time()
    return max(0.0, at - now)


def walmart_time(at: datetime) -> str:
    """ISO 8601 in UTC (a naive time is read as UTC), as the Orders API's date filters take it."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class WalmartClient(VendorClient):
    """One per connector instance; the client id and secret are read per token request."""

    def __init__(
        self,
        base_url: str,
        client_id: Callable[[], str],
        client_secret: Callable[[], str],
        settings: WalmartSettings,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(base_url, http)
        self.settings = settings
        self.token_url = settings.token_url or f"{self.base_url}{TOKEN_PATH}"
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self.tokens = TokenHolder(self._grant, clock=clock)
        # Calls left in the bucket of the operation last called (its method and path), as Walmart
        # reported it, and when (monotonic) its next call is replenished.
        self.token_count: int | None = None
        self._counted: tuple[str, str] | None = None
        self._replenished_at = 0.0
        self.paced = 0

    def auth_headers(self) -> dict[str, str]:
        headers = {CORRELATION_HEADER: str(uuid.uuid4()), SERVICE_NAME_HEADER: self.settings.service_name}
        if self.settings.channel_type:
            headers[CHANNEL_TYPE_HEADER] = self.settings.channel_type
        return headers

    def observe(self, response: httpx.Response) -> None:
        count = response.headers.get(TOKEN_COUNT_HEADER, "").strip()
        if count.isdigit():
            self.token_count = int(count)
            self._counted = (response.request.method, response.request.url.path)
            delay = replenishment_delay(response)
            self._replenished_at = self._clock() + (delay or 0.0)

    async def pace(self, method: str, path: str, what: str) -> None:
        """Before another call of the operation last called (inventory, SKU after SKU in one
        activity): with its bucket empty, wait for the replenishment when it is near, else stop
        with `RateLimitedError` so Temporal retries then (no call is made to be refused)."""
        wait = self._replenished_at - self._clock()
        if self._counted != (method, urlsplit(self.url(path)).path) or self.token_count != 0 or wait <= 0:
            return
        if wait > MAX_PACE_WAIT:
            raise RateLimitedError(f"{what}: paced: Walmart's bucket refills in {wait:.1f} s", retry_after=wait)
        self.paced += 1
        await asyncio.sleep(wait)

    def retry_after(self, response: httpx.Response) -> float | None:
        delay = replenishment_delay(response)
        return delay if delay is not None else retry_after_seconds(response.headers.get("Retry-After"))

    def reason(self, body: Any, response: httpx.Response) -> str:
        return walmart_reason(body)

    # --- the token ---

    @property
    def tokens_fetched(self) -> int:
        return self.tokens.grants

    async def _grant(self, _refresh_token: str | None) -> Token:
        """The client-credentials grant (no refresh token: a new grant each time)."""
        basic = base64.b64encode(f"{self._client_id()}:{self._client_secret()}".encode()).decode()
        response = await self.request(
            "POST",
            self.token_url,
            "get a Walmart access token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
            ok=lambda r: r.status_code in (400, 401),
        )
        body = body_of(response)
        token = token_from_answer(body)
        if not response.is_success or token is None:
            raise PermanentError(
                f"get a Walmart access token: HTTP {response.status_code}: {walmart_reason(body)} "
                "(check the channel's client_id and client_secret)",
                status_code=response.status_code,
                body=body,
            )
        return token

    async def call(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        """One API call with a valid token (`WM_SEC.ACCESS_TOKEN`); a 401 (expired early,
        revoked) renews it once and repeats the call."""
        ok = kwargs.pop("ok", None)
        accept = lambda r: r.status_code == 401 or bool(ok and ok(r))  # noqa: E731
        extra = kwargs.pop("headers", None) or {}

        async def attempt(token: str) -> httpx.Response:
            headers = {**extra, ACCESS_TOKEN_HEADER: token}
            return await self.request(method, path, what, ok=accept, headers=headers, **kwargs)

        response = await self.tokens.send(attempt)
        if response.status_code == 401:
            self.classify(response, what)
        return response

    # --- orders ---

    async def released_orders(self, since: datetime) -> list[dict[str, Any]]:
        """Every released purchase order (lines in Created) created since `since`, all pages."""
        return await self._orders("/released", "list released Walmart orders", createdStartDate=since)

    async def modified_orders(self, since: datetime) -> list[dict[str, Any]]:
        """Every purchase order (any status) modified since `since`, all pages: the cancels."""
        return await self._orders("", "list Walmart orders", lastModifiedStartDate=since)

    async def _orders(self, which: str, what: str, **since: datetime) -> list[dict[str, Any]]:
        params: dict[str, Any] = {name: walmart_time(at) for name, at in since.items()}
        params |= {"limit": self.settings.page_size, "shipNodeType": "SellerFulfilled"}
        orders: list[dict[str, Any]] = []
        async for page in self._order_pages(f"{API}/orders{which}", what, params):
            orders.extend(page)
        return orders

    async def order(self, purchase_order_id: str) -> dict[str, Any]:
        what = f"read Walmart purchase order {purchase_order_id}"
        return _order_of(await self.call("GET", f"{API}/orders/{purchase_order_id}", what), what)

    async def acknowledge(self, purchase_order_id: str) -> dict[str, Any]:
        what = f"acknowledge Walmart purchase order {purchase_order_id}"
        return _order_of(await self.call("POST", f"{API}/orders/{purchase_order_id}/acknowledge", what), what)

    async def ship_lines(self, purchase_order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        what = f"ship lines of Walmart purchase order {purchase_order_id}"
        return _order_of(await self.call("POST", f"{API}/orders/{purchase_order_id}/shipping", what, json=body), what)

    async def cancel_lines(self, purchase_order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        what = f"cancel lines of Walmart purchase order {purchase_order_id}"
        return _order_of(await self.call("POST", f"{API}/orders/{purchase_order_id}/cancel", what, json=body), what)

    # --- inventory ---

    async def set_inventory(self, sku: str, body: dict[str, Any]) -> httpx.Response:
        """`PUT /v3/inventory?sku=[&shipNode=]`; a 400/404 (a SKU Walmart does not carry) is
        returned for the caller to skip."""
        await self.pace("PUT", f"{API}/inventory", f"set Walmart inventory of {sku}")
        params = {"sku": sku}
        if self.settings.ship_node:
            params["shipNode"] = self.settings.ship_node
        return await self.call(
            "PUT",
            f"{API}/inventory",
            f"set Walmart inventory of {sku}",
            params=params,
            json=body,
            ok=lambda r: r.status_code in (400, 404),
        )

    async def _order_pages(self, path: str, what: str, params: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of an order list: `list.elements.order[]`, the cursor at `list.meta.nextCursor`."""

        def read(body: Any, response: httpx.Response) -> tuple[list[Any], Any]:
            listing = body.get("list") if isinstance(body, dict) else None
            if not isinstance(listing, dict):
                raise PermanentError(
                    f"{what}: the answer has no 'list' object", status_code=response.status_code, body=body
                )
            elements = listing.get("elements") or {}
            orders = elements.get("order") if isinstance(elements, dict) else None
            return orders or [], (listing.get("meta") or {}).get("nextCursor")

        async for page in self._cursor_pages(path, what, params, read):
            yield page

    async def _cursor_pages(
        self,
        path: str,
        what: str,
        params: dict[str, Any],
        read: Callable[[Any, httpx.Response], tuple[list[Any], Any]],
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of a Walmart list (`read` takes a page's items and its `nextCursor` from the
        answer); the next page is the path with the cursor (a query string of Walmart's own) in
        place of the first page's parameters."""
        url: str = path
        query: dict[str, Any] | None = params
        while True:
            response = await self.call("GET", url, what, params=query)
            items, cursor = read(response.json(), response)
            yield [item for item in items if isinstance(item, dict)]
            if not isinstance(cursor, str) or not cursor.strip():
                return
            url, query = f"{path}{cursor if cursor.startswith('?') else '?' + cursor}", None

    # --- returns ---

    async def returns(self, **params: Any) -> list[dict[str, Any]]:
        """Every return order matching the filters (`GET /v3/returns`: `returnCreationStartDate`,
        `returnOrderId`, `status`, ...; a datetime is sent as Walmart's ISO 8601 UTC), all pages
        (`meta.nextCursor`)."""
        query: dict[str, Any] = {k: walmart_time(v) if isinstance(v, datetime) else v for k, v in params.items()}
        query["limit"] = self.settings.page_size
        what = "list Walmart return orders"

        def read(body: Any, response: httpx.Response) -> tuple[list[Any], Any]:
            if not isinstance(body, dict) or not isinstance(body.get("returnOrders", []), list):
                raise PermanentError(
                    f"{what}: the answer has no 'returnOrders' list", status_code=response.status_code, body=body
                )
            return body.get("returnOrders") or [], (body.get("meta") or {}).get("nextCursor")

        found: list[dict[str, Any]] = []
        async for page in self._cursor_pages(f"{API}/returns", what, query, read):
            found.extend(page)
        return found

    async def return_order(self, return_order_id: str) -> dict[str, Any] | None:
        """One return order by its id (the RMA number), None when Walmart has none."""
        found = [
            r for r in await self.returns(returnOrderId=return_order_id) if r.get("returnOrderId") == return_order_id
        ]
        return found[0] if found else None

    async def refund_return(self, return_order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v3/returns/{returnOrderId}/refund` (the lines in `refundLines`)."""
        what = f"refund Walmart return order {return_order_id}"
        response = await self.call("POST", f"{API}/returns/{return_order_id}/refund", what, json=body)
        answer = response.json()
        if not isinstance(answer, dict):
            raise PermanentError(f"{what}: the answer is not an object", status_code=response.status_code, body=answer)
        return answer


def _order_of(response: httpx.Response, what: str) -> dict[str, Any]:
    body = response.json()
    order = body.get("order") if isinstance(body, dict) else None
    if not isinstance(order, dict):
        raise PermanentError(f"{what}: the answer has no 'order' object", status_code=response.status_code, body=body)
    return dict(order)
