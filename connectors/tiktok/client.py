"""HTTP client of the TikTok Shop Partner API (version 202309 paths, `/{category}/202309/...`):
every call signed the way TikTok Shop signs them (`sign_request`), with `app_key`, `timestamp`,
`shop_cipher` where the path takes one and the `x-tts-access-token` header; the access token
renewed with the refresh token on the auth host (`GET /api/v2/token/refresh`), its expiry read
from the answer (`access_token_expire_in`, a Unix time); the `{code, message, request_id, data}`
envelope, where success is `code == 0` whatever the HTTP status, and TikTok's codes mapped to the
connector error tree (`classify_code`); page tokens (`next_page_token`). No retry loop: Temporal
retries the activity."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from enum import IntEnum
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import (
    ConnectorError,
    PermanentError,
    RateLimitedError,
    RejectedError,
    RetryableError,
    channel_settings,
)
from connectors.http import VendorClient, body_of
from connectors.tokens import Token, TokenHolder
from orderloop.config import ChannelConfig

API_VERSION = "202309"
PRODUCTION_API_HOST = "open-api.tiktokglobalshop.com"
PRODUCTION_AUTH_URL = "https://auth.tiktok-shops.com"
TOKEN_REFRESH_PATH = "/api/v2/token/refresh"
ACCESS_TOKEN_HEADER = "x-tts-access-token"
MAX_PAGE_SIZE = 50
# The returns search takes 10-50 rows a page (search-returns-202309), not the orders' 1-100.
RETURNS_PAGE_SIZES = (10, 50)
# Renew this many seconds before `access_token_expire_in` (TikTok's tokens last about 7 days).
TOKEN_MARGIN = 300.0
# TikTok documents a per-second QPS per app and path but no retry header: a throttled call is
# retried after the window (one second).
THROTTLE_DELAY = 1.0
# Paths that refuse `shop_cipher` (API_FACTS 4.1): shop-independent calls.
NO_SHOP_CIPHER_PREFIXES = ("/authorization/", "/seller/")


class TikTokCode(IntEnum):
    """`code` values of the envelope the connector acts on. 0 and the 105xxx token family come
    from EcomPHP/tiktokshop-php; the others are assumptions of this connector [?] (TikTok's error
    code page is behind the partner login) and the sandbox answers with them."""

    SUCCESS = 0
    INVALID_ACCESS_TOKEN = 105001
    EXPIRED_ACCESS_TOKEN = 105002
    INVALID_SIGN = 106001
    EXPIRED_TIMESTAMP = 106002
    INVALID_PARAMS = 36009001
    TOO_MANY_REQUESTS = 36009004
    INTERNAL_ERROR = 36009003
    NOT_FOUND = 36009005
    # Business refusals of the fulfillment, product and cancellation APIs.
    ORDER_STATUS_NOT_SHIPPABLE = 21011001
    LINE_ITEMS_NOT_SHIPPABLE = 21011002
    INVALID_SHIPPING_PROVIDER = 21011003
    SKU_NOT_LIVE = 12052001
    INVENTORY_OUT_OF_RANGE = 12052002
    CANCELLATION_NOT_PENDING = 25001001
    # A return decision its status does not allow (approve-return-202309, reject-return-202309).
    RETURN_STATUS_NOT_ALLOWED = 25002001


def is_token_error(code: int) -> bool:
    """The token family: 105xxx (EcomPHP treats 105 and 360 prefixes as token errors)."""
    return str(code).startswith("105")


def classify_code(code: int, message: str, status: int, body: Any, what: str) -> ConnectorError:
    """The connector error of a failed envelope: throttled, retryable (5xx, TikTok's internal
    error), a refusal of this content (business codes), else permanent."""
    reason = f"{what}: TikTok code {code}: {message or 'no message'}"
    if code == TikTokCode.TOO_MANY_REQUESTS or status == 429:
        return RateLimitedError(reason, retry_after=THROTTLE_DELAY)
    if code == TikTokCode.INTERNAL_ERROR or status >= 500:
        return RetryableError(reason)
    if str(code).startswith(("21", "12", "25")):
        return RejectedError(reason, status_code=status, body=body)
    return PermanentError(reason, status_code=status, body=body)


def sign_request(app_secret: str, path: str, params: Mapping[str, Any], body: bytes = b"") -> str:
    """TikTok Shop's request signature: the query parameters except `sign` and `access_token`,
    sorted by name, concatenated as `{name}{value}` after the path, the raw body appended (not for
    multipart bodies: pass none), the whole wrapped in the app secret on both sides, and the hex
    HMAC-SHA256 of that keyed by the app secret."""
    pairs = "".join(f"{k}{params[k]}" for k in sorted(params) if k not in ("sign", "access_token"))
    wrapped = f"{app_secret}{path}{pairs}".encode() + body + app_secret.encode()
    return hmac.new(app_secret.encode(), wrapped, hashlib.sha256).hexdigest()


class TikTokSettings(BaseModel):
    """`settings:` of a TikTok Shop channel in `orderloop.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The shop's cipher (from `GET /authorization/202309/shops`); required by every shop call.
    shop_cipher: str = Field(min_length=1)
    # The shop's id: a notification for another shop of the same app is refused.
    shop_id: str | None = None
    # The auth host; default: TikTok's own for the production API host, else `base_url` (the
    # sandbox serves both).
    auth_url: str | None = None
    # The TikTok warehouse whose stock Orderloop sets; default: the shop's default sales warehouse.
    warehouse_id: str | None = None
    # Our carrier names -> TikTok shipping provider ids; a carrier not listed is looked up by name
    # in the providers of the order's delivery option.
    shipping_providers: dict[str, str] = Field(default_factory=dict)
    # The reason a buyer's cancellation request is rejected with when the order goes on
    # (hsib19/tiktok-shop-sdk's rejectCancellation example).
    cancel_reject_reason: str = "seller_reject_apply_product_has_been_packed"
    # Rows per page of a search (TikTok allows 1-100).
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=100)

    @classmethod
    def of(cls, channel: ChannelConfig) -> TikTokSettings:
        return channel_settings(channel, cls)


def auth_url_for(base_url: str, configured: str | None) -> str:
    if configured:
        return configured.rstrip("/")
    host = (urlsplit(base_url).hostname or "").lower()
    return PRODUCTION_AUTH_URL if host == PRODUCTION_API_HOST else base_url.rstrip("/")


class TikTokClient(VendorClient):
    """One per connector instance; the app secret and refresh token are read per use."""

    def __init__(
        self,
        base_url: str,
        settings: TikTokSettings,
        app_key: Callable[[], str],
        app_secret: Callable[[], str],
        refresh_token: Callable[[], str],
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(base_url, http)
        self.settings = settings
        self.auth_url = auth_url_for(base_url, settings.auth_url)
        self._app_key = app_key
        self._app_secret = app_secret
        self._configured_refresh = refresh_token
        self._clock = clock
        self.tokens = TokenHolder(self._grant, refresh_token=refresh_token, margin=TOKEN_MARGIN, clock=clock)

    def auth_headers(self) -> dict[str, str]:
        token = self.tokens.access_token
        return {ACCESS_TOKEN_HEADER: token} if token else {}

    # --- the token ---

    @property
    def tokens_fetched(self) -> int:
        return self.tokens.grants

    async def _grant(self, refresh_token: str | None) -> Token:
        """The refresh grant on the auth host with the refresh token in hand (the answer's refresh
        token replaces it); the access token is used until its `access_token_expire_in` (a Unix
        time, turned into a lifetime for the holder)."""
        params = {
            "app_key": self._app_key(),
            "app_secret": self._app_secret(),
            "refresh_token": refresh_token or self._configured_refresh(),
            "grant_type": "refresh_token",
        }
        what = "renew the TikTok Shop access token"
        response = await self.request(
            "GET", f"{self.auth_url}{TOKEN_REFRESH_PATH}", what, params=params, ok=lambda r: r.status_code < 500
        )
        body = body_of(response)
        data = body.get("data") if isinstance(body, dict) else None
        code = body.get("code") if isinstance(body, dict) else None
        token = data.get("access_token") if isinstance(data, dict) else None
        if code != 0 or not isinstance(data, dict) or not isinstance(token, str) or not token:
            message = body.get("message") if isinstance(body, dict) else str(body)[:200]
            raise PermanentError(
                f"{what}: HTTP {response.status_code}, code {code}: {message} "
                "(check the channel's app_key, app_secret and refresh_token)",
                status_code=response.status_code,
                body=body,
            )
        expires = data.get("access_token_expire_in")
        expires_at = float(expires) if isinstance(expires, int | float) and not isinstance(expires, bool) else 0.0
        refresh = data.get("refresh_token")
        return Token(
            token, max(0.0, expires_at - self._clock()), refresh if isinstance(refresh, str) and refresh else None
        )

    # --- signed calls ---

    async def call(
        self, method: str, path: str, what: str, *, params: Mapping[str, Any] | None = None, body: Any = None
    ) -> Any:
        """One signed API call; its `data` when `code == 0`, else the error `classify_code` gives.
        A token error renews the token once and signs the call again."""
        used = await self.tokens.token()
        response = await self._signed(method, path, what, params, body)
        envelope = _envelope(response, what)
        if is_token_error(envelope["code"]):
            await self.tokens.renew(used)
            response = await self._signed(method, path, what, params, body)
            envelope = _envelope(response, what)
        if envelope["code"] != TikTokCode.SUCCESS:
            raise classify_code(
                envelope["code"], str(envelope.get("message") or ""), response.status_code, envelope, what
            )
        return envelope.get("data")

    async def _signed(
        self, method: str, path: str, what: str, params: Mapping[str, Any] | None, body: Any
    ) -> httpx.Response:
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        query["app_key"] = self._app_key()
        query["timestamp"] = str(int(self._clock()))
        if not path.startswith(NO_SHOP_CIPHER_PREFIXES):
            query["shop_cipher"] = self.settings.shop_cipher
        raw = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        query["sign"] = sign_request(self._app_secret(), path, query, raw)
        headers = {"Content-Type": "application/json"} if body is not None else None
        # Any status: the envelope's code decides (a 5xx without one is raised by `_envelope`).
        return await self.request(
            method, path, what, params=query, content=raw or None, headers=headers, ok=lambda r: True
        )

    async def pages(
        self,
        path: str,
        what: str,
        body: dict[str, Any],
        items_key: str,
        params: Mapping[str, Any] | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Each page of a search (`page_size`, `page_token` in the query; `next_page_token` in the
        answer, empty on the last page)."""
        token = ""
        while True:
            query = {**(params or {}), "page_size": page_size or self.settings.page_size}
            if token:
                query["page_token"] = token
            data = await self.call("POST", path, what, params=query, body=body)
            data = data if isinstance(data, dict) else {}
            yield [item for item in data.get(items_key) or [] if isinstance(item, dict)]
            token = str(data.get("next_page_token") or "")
            if not token:
                return

    # --- orders ---

    async def search_orders(self, update_time_ge: int) -> list[dict[str, Any]]:
        """Every order updated at or after `update_time_ge` (Unix seconds), oldest first, all pages."""
        found: list[dict[str, Any]] = []
        sort = {"sort_field": "update_time", "sort_order": "ASC"}
        body = {"update_time_ge": update_time_ge}
        async for page in self.pages(f"/order/{API_VERSION}/orders/search", "search orders", body, "orders", sort):
            found.extend(page)
        return found

    async def get_orders(self, order_ids: list[str]) -> list[dict[str, Any]]:
        what = f"read orders {','.join(order_ids)}"
        data = await self.call("GET", f"/order/{API_VERSION}/orders", what, params={"ids": ",".join(order_ids)})
        orders = data.get("orders") if isinstance(data, dict) else None
        return [o for o in orders or [] if isinstance(o, dict)]

    async def get_order(self, order_id: str) -> dict[str, Any] | None:
        found = [o for o in await self.get_orders([order_id]) if str(o.get("id")) == order_id]
        return found[0] if found else None

    # --- fulfillment ---

    async def mark_package_shipped(self, order_id: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        """`POST /fulfillment/202309/orders/{order_id}/packages` (seller shipping): the line items,
        tracking number and shipping provider of one package -> `{order_id, package_id, ...}`."""
        data = await self.call("POST", f"/fulfillment/{API_VERSION}/orders/{order_id}/packages", what, body=body)
        return dict(data) if isinstance(data, dict) else {}

    async def shipping_providers(self, delivery_option_id: str) -> list[dict[str, Any]]:
        path = f"/logistics/{API_VERSION}/delivery_options/{delivery_option_id}/shipping_providers"
        data = await self.call("GET", path, f"read shipping providers of delivery option {delivery_option_id}")
        providers = data.get("shipping_providers") if isinstance(data, dict) else None
        return [p for p in providers or [] if isinstance(p, dict)]

    async def warehouses(self) -> list[dict[str, Any]]:
        data = await self.call("GET", f"/logistics/{API_VERSION}/warehouses", "read warehouses")
        rows = data.get("warehouses") if isinstance(data, dict) else None
        return [w for w in rows or [] if isinstance(w, dict)]

    # --- products and inventory ---

    async def live_products(self) -> list[dict[str, Any]]:
        """Every product on sale (`status: ACTIVATE`), with its SKUs."""
        found: list[dict[str, Any]] = []
        path = f"/product/{API_VERSION}/products/search"
        async for page in self.pages(path, "search products", {"status": "ACTIVATE"}, "products"):
            found.extend(page)
        return found

    async def update_inventory(self, product_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        """`POST /product/202309/products/{id}/inventory/update`; the per-SKU errors of the answer
        (`data.errors`), which a `code == 0` answer may carry."""
        path = f"/product/{API_VERSION}/products/{product_id}/inventory/update"
        data = await self.call("POST", path, f"update inventory of product {product_id}", body=body)
        errors = data.get("errors") if isinstance(data, dict) else None
        return [e for e in errors or [] if isinstance(e, dict)]

    # --- cancellations (buyer requests the seller approves or rejects) ---

    async def search_cancellations(self, order_ids: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        path = f"/return_refund/{API_VERSION}/cancellations/search"
        async for page in self.pages(path, "search cancellations", {"order_ids": order_ids}, "cancellations"):
            found.extend(page)
        return found

    async def approve_cancellation(self, cancel_id: str, idempotency_key: str) -> None:
        path = f"/return_refund/{API_VERSION}/cancellations/{cancel_id}/approve"
        await self.call(
            "POST", path, f"approve cancellation {cancel_id}", params={"idempotency_key": idempotency_key}, body={}
        )

    async def reject_cancellation(self, cancel_id: str, reason: str, comment: str, idempotency_key: str) -> None:
        path = f"/return_refund/{API_VERSION}/cancellations/{cancel_id}/reject"
        await self.call(
            "POST",
            path,
            f"reject cancellation {cancel_id}",
            params={"idempotency_key": idempotency_key},
            body={"reject_reason": reason, "comment": comment},
        )

    # --- returns (Return and Refund API 202309) ---

    async def search_returns(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        """`POST /return_refund/202309/returns/search` with `filters` (`return_ids`, `order_ids`,
        `return_status`, `return_types`, `update_time_ge`, ...), oldest update first, all pages
        (`data.return_orders`)."""
        low, high = RETURNS_PAGE_SIZES
        size = min(high, max(low, self.settings.page_size))
        found: list[dict[str, Any]] = []
        path = f"/return_refund/{API_VERSION}/returns/search"
        sort = {"sort_field": "update_time", "sort_order": "ASC"}
        async for page in self.pages(path, "search returns", filters, "return_orders", sort, page_size=size):
            found.extend(page)
        return found

    async def get_return(self, return_id: str) -> dict[str, Any] | None:
        found = [r for r in await self.search_returns({"return_ids": [return_id]}) if r.get("return_id") == return_id]
        return found[0] if found else None

    async def approve_return(self, return_id: str, decision: str, idempotency_key: str) -> None:
        """`POST /return_refund/202309/returns/{return_id}/approve` `{decision}` with an
        `idempotency_key` query (approve-return-202309)."""
        path = f"/return_refund/{API_VERSION}/returns/{return_id}/approve"
        await self.call(
            "POST",
            path,
            f"approve return {return_id} ({decision})",
            params={"idempotency_key": idempotency_key},
            body={"decision": decision},
        )

    async def reject_return(
        self, return_id: str, decision: str, reason: str, comment: str, idempotency_key: str
    ) -> None:
        """`POST /return_refund/202309/returns/{return_id}/reject` `{decision, reject_reason,
        comment}` (reject-return-202309; the reasons from `GET /return_refund/202309/reject_reasons`)."""
        path = f"/return_refund/{API_VERSION}/returns/{return_id}/reject"
        await self.call(
            "POST",
            path,
            f"reject return {return_id} ({decision})",
            params={"idempotency_key": idempotency_key},
            body={"decision": decision, "reject_reason": reason, "comment": comment},
        )


def _envelope(response: httpx.Response, what: str) -> dict[str, Any]:
    """The `{code, message, request_id, data}` envelope; an answer without one is judged by its
    HTTP status (a proxy's 502 is retryable)."""
    body = body_of(response)
    if isinstance(body, dict) and isinstance(body.get("code"), int) and not isinstance(body.get("code"), bool):
        return body
    reason = f"{what}: HTTP {response.status_code}: the answer has no TikTok envelope: {str(body)[:200]}"
    if response.status_code == 429:
        raise RateLimitedError(reason, retry_after=THROTTLE_DELAY)
    if response.status_code >= 500:
        raise RetryableError(reason)
    raise PermanentError(reason, status_code=response.status_code, body=body)
