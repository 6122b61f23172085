"""The store's state and its API gate: the knobs, BigCommerce's two error shapes (v2's list of
`{status, message}`, v3's `{status, title, type, errors}`), the gate every API call passes (store
hash, `X-Auth-Token`, the 30-second request quota with its `X-Rate-Limit-*` headers, the
platform's overload as a 429 without them), v2's numbered pages, and webhooks signed with the
Standard Webhooks scheme keyed by the app's client secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import SandboxOptions
from connectors.bigcommerce import webhooks
from connectors.bigcommerce.client import (
    AUTH_HEADER,
    LEFT_HEADER,
    MAX_PAGE_SIZE,
    QUOTA_HEADER,
    RESET_HEADER,
    WINDOW_HEADER,
)
from connectors.sandbox_kit import SandboxState, VendorError, Webhook

Row = dict[str, Any]
STATUS_CODES_DOC = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
DEFAULT_STORE_HASH = "orderloop1"


class BigCommerceKnobs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The store's quota: `quota` requests per `window_ms` (Standard and Plus plans: 150 / 30 s).
    quota: int = Field(default=150, ge=1)
    window_ms: int = Field(default=30_000, ge=1)
    # The next N API calls answer 429 without the X-Rate-Limit headers (platform overload).
    platform_overload: int = Field(default=0, ge=0)
    # v2's largest `limit` (250); a larger one answers 413.
    max_page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    # Off: webhooks are signed and listed under /_sandbox/webhooks but never sent (for the poll).
    deliver_webhooks: bool = True
    webhook_delay: float = Field(default=0.0, ge=0)
    # BigCommerce's own duplicates: every hook fires twice, each with its own webhook-id and the
    # same body (the same `hash`).
    double_fire: bool = False
    # Answer 422 to every shipment create (drives the `tracking_rejected` exception).
    reject_shipments: bool = False
    # The next N shipment creates go through but are answered 504 (a lost answer, for the
    # read-back-and-match of a retried push).
    lose_create_answers: int = Field(default=0, ge=0)
    # Status of an order placed by /_sandbox/orders without one (11: Awaiting Fulfillment).
    default_status: int = Field(default=11, ge=0, le=14)
    # The demo's SKUs (those of the shipped orderloop.yaml) in the catalogue, with stock.
    seed_products: bool = True


class BigCommerceApiError(VendorError):
    """An error answer in the shape of the API version it concerns."""

    def __init__(
        self,
        status: int,
        message: str,
        version: str = "v2",
        errors: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, error_body(status, message, version, errors), headers)
        self.message = message


def error_body(status: int, message: str, version: str = "v3", errors: Mapping[str, str] | None = None) -> Any:
    if version == "v2":
        return [{"status": status, "message": message}]
    return {"status": status, "title": message, "type": STATUS_CODES_DOC, "errors": dict(errors or {})}


def v3_error_shape(status: int, message: str) -> Any:
    """The error shape of routes the sandbox does not serve (404, 405)."""
    return error_body(status, message, "v3")


def rfc2822(at: datetime) -> str:
    return format_datetime(at.astimezone(UTC).replace(microsecond=0))


def parse_time(value: str, name: str) -> datetime:
    """RFC 2822 or ISO 8601, as v2's date filters take them."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise BigCommerceApiError(400, f"The field '{name}' is invalid.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class QuotaWindow:
    """The store's quota: `quota` requests per fixed window of `window_ms`."""

    def __init__(self, quota: int, window_ms: int) -> None:
        self.quota = quota
        self.window_ms = window_ms
        self._start = time.monotonic()
        self.used = 0

    def acquire(self) -> tuple[bool, int, int]:
        """(allowed, requests left, ms until the window resets)."""
        now = time.monotonic()
        elapsed_ms = (now - self._start) * 1000
        if elapsed_ms >= self.window_ms:
            self._start, self.used, elapsed_ms = now, 0, 0.0
        reset = max(1, int(self.window_ms - elapsed_ms))
        if self.used >= self.quota:
            return False, 0, reset
        self.used += 1
        return True, self.quota - self.used, reset


class StoreState(SandboxState[BigCommerceKnobs]):
    """The store's state and the API gate; the orders build on it."""

    def __init__(self, options: SandboxOptions) -> None:
        super().__init__(options, BigCommerceKnobs)
        channel = options.channel
        self.store_hash = str(channel.settings.get("store_hash") or DEFAULT_STORE_HASH)
        self.access_token = channel.credential("access_token")
        self.client_secret = channel.credential("client_secret")
        self.window = QuotaWindow(self.knobs.value.quota, self.knobs.value.window_ms)
        self.overloaded = self.knobs.value.platform_overload

    def knobs_changed(self, changes: dict[str, Any]) -> None:
        if "quota" in changes or "window_ms" in changes:
            self.window = QuotaWindow(self.knobs.value.quota, self.knobs.value.window_ms)
        if "platform_overload" in changes:
            self.overloaded = self.knobs.value.platform_overload

    # --- the API gate ---

    async def gate(self, request: Request) -> None:
        version = "v3" if "/v3/" in request.url.path else "v2"
        request.state.api_version = version
        if request.path_params.get("store_hash") != self.store_hash:
            raise BigCommerceApiError(404, "The requested store does not exist.", version)
        token = request.headers.get(AUTH_HEADER.lower(), "")
        if not token or not hmac.compare_digest(token, self.access_token):
            raise BigCommerceApiError(401, "You are not authorized to access this resource.", version)
        if self.overloaded > 0:
            self.overloaded -= 1
            raise BigCommerceApiError(429, "Too many requests", version)
        allowed, left, reset = self.window.acquire()
        request.state.quota = {
            WINDOW_HEADER: str(self.window.window_ms),
            RESET_HEADER: str(reset),
            QUOTA_HEADER: str(self.window.quota),
            LEFT_HEADER: str(left),
        }
        if not allowed:
            raise BigCommerceApiError(429, "Too many requests: the store's API quota is spent", version)

    @staticmethod
    def api_headers(request: Request) -> dict[str, str]:
        return dict(getattr(request.state, "quota", None) or {})

    def reply(self, request: Request, content: Any, status: int = 200) -> Response:
        if content is None or (isinstance(content, list) and not content and status == 200):
            return Response(status_code=204, headers=self.api_headers(request))
        return JSONResponse(content, status_code=status, headers=self.api_headers(request))

    def page(self, request: Request, rows: list[Row]) -> Response:
        """v2's numbered pages (`page` from 1, `limit` up to 250); 204 past the end."""
        query = request.query_params
        page = _positive(query.get("page"), "page", 1)
        limit = _positive(query.get("limit"), "limit", 50)
        cap = self.knobs.value.max_page_size
        if limit > cap:
            raise BigCommerceApiError(413, f"The field 'limit' is greater than the maximum of {cap}.")
        return self.reply(request, rows[(page - 1) * limit : page * limit])

    # --- webhooks ---

    def emit(self, scope: str, data: Row, *, duplicate: bool = False, bad_signature: bool = False) -> list[Webhook]:
        """Sign and send (or only log, with `deliver_webhooks` off) one hook; twice, each with its
        own webhook-id and the same body, with `double_fire`. A `duplicate` is a retry: the same
        message again under the same webhook-id."""
        created_at = int(time.time())
        content = {"scope": scope, "store_id": "1025646", "data": data, "created_at": created_at}
        digest = hashlib.sha1(json.dumps(content, sort_keys=True).encode()).hexdigest()
        payload = {**content, "hash": digest, "producer": f"stores/{self.store_hash}"}
        body = json.dumps(payload).encode()
        secret = "not-the-client-secret" if bad_signature else self.client_secret
        knobs = self.knobs.value
        sent = []
        for _ in range(2 if knobs.double_fire else 1):
            msg_id = f"msg_{uuid.uuid4().hex}"

            def headers(msg_id: str = msg_id) -> dict[str, str]:
                stamp = int(time.time())
                return {
                    "Content-Type": "application/json",
                    webhooks.ID_HEADER: msg_id,
                    webhooks.TIMESTAMP_HEADER: str(stamp),
                    webhooks.SIGNATURE_HEADER: webhooks.sign(secret, msg_id, stamp, body),
                }

            sent.append(
                self.sender.emit(
                    self.options.webhook_url,
                    scope,
                    body,
                    headers,
                    webhook_id=msg_id,
                    extra={"hash": digest},
                    delay=knobs.webhook_delay,
                    duplicate=duplicate,
                    deliver=knobs.deliver_webhooks,
                )
            )
        return sent


def _positive(value: str | None, name: str, default: int) -> int:
    if value is None:
        return default
    try:
        number = int(float(value))
    except ValueError:
        raise BigCommerceApiError(400, f"The field '{name}' is invalid.") from None
    if number < 1:
        raise BigCommerceApiError(400, f"The field '{name}' is invalid.")
    return number
