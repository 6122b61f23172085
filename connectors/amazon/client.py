"""HTTP client of the Selling Partner API: the Login with Amazon (LWA) token exchange, one token
bucket per operation, Amazon's error bodies, and the calls the connector makes.

Auth: `POST {token_url}` (`https://api.amazon.com/auth/o2/token`; a sandbox serves the same path
itself) with `grant_type=refresh_token`, the refresh token of the seller's authorisation and the
app's LWA `client_id` / `client_secret`, answers an access token valid `expires_in` (3600) seconds,
sent as `x-amz-access-token` on every call (no SigV4 since 2023-10-02). It is renewed a minute
before it runs out, and once on an answer that says it expired (Amazon answers 403 `Unauthorized`
"The access token you provided has expired."; a 401 likewise). The token lives in this object
only: never in a log line, an error message or a workflow's history.

Rate limits: every operation has its own token bucket (rate per second, burst) per seller and
app; `USAGE_PLANS` holds the default plans from the API models, and the `x-amzn-RateLimit-Limit`
header of each answer (the rate Amazon applies now) replaces the default rate. Calls take a
token from a client-side `CreditBucket` (connectors/pacing.py) first, so a loop of calls (an
inventory push, pages of a poll) waits for the bucket instead of running into 429s; a wait longer
than `max_wait` is Temporal's to make (`RateLimitedError` with the wait). Amazon's 429 carries no
`Retry-After` (its model lists only `x-amzn-RequestId`): it backs off one token's time at the
operation's rate (`1 / rate` seconds).

Reports API 2021-06-30 (reports_2021-06-30.json of amzn/selling-partner-api-models; the returns
report's use in `connectors.amazon.returns`): `createReport` (`POST /reports/2021-06-30/reports`
with `reportType`, `dataStartTime`, `dataEndTime`, `marketplaceIds`: 202 `{"reportId"}`),
`getReport` (`GET .../reports/{reportId}`: `processingStatus` IN_QUEUE, IN_PROGRESS, then DONE
with its `reportDocumentId`, or CANCELLED (also "an automatic cancellation if there is no data to
return") or FATAL), and `getReportDocument` (`GET .../documents/{reportDocumentId}`: a pre-signed
`url`, valid 5 minutes, and `compressionAlgorithm` GZIP when the document is compressed). The
document is downloaded from that URL with no access token (it is signed itself).
"""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import PermanentError, RejectedError, RetryableError
from connectors.http import VendorClient, body_of
from connectors.pacing import CreditBucket
from connectors.tokens import Token, TokenHolder, token_from_answer

ACCESS_TOKEN_HEADER = "x-amz-access-token"
RATE_LIMIT_HEADER = "x-amzn-RateLimit-Limit"
REQUEST_ID_HEADER = "x-amzn-RequestId"
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
LWA_TOKEN_PATH = "/auth/o2/token"
ORDERS_PATH = "/orders/2026-01-01/orders"
ORDERS_V0_PATH = "/orders/v0/orders"
LISTINGS_PATH = "/listings/2021-08-01/items"
REPORTS_PATH = "/reports/2021-06-30/reports"
DOCUMENTS_PATH = "/reports/2021-06-30/documents"
US_MARKETPLACE = "ATVPDKIKX0DER"
EXPIRED_TOKEN = "The access token you provided has expired."


class Operation(StrEnum):
    SEARCH_ORDERS = "searchOrders"
    GET_ORDER = "getOrder"
    CONFIRM_SHIPMENT = "confirmShipment"
    PATCH_LISTINGS_ITEM = "patchListingsItem"
    GET_LISTINGS_ITEM = "getListingsItem"
    CREATE_REPORT = "createReport"
    GET_REPORT = "getReport"
    GET_REPORT_DOCUMENT = "getReportDocument"


class ProcessingStatus(StrEnum):
    """A report's `processingStatus` (Reports API 2021-06-30)."""

    IN_QUEUE = "IN_QUEUE"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    CANCELLED = "CANCELLED"
    FATAL = "FATAL"


PROCESSING = frozenset({ProcessingStatus.IN_QUEUE, ProcessingStatus.IN_PROGRESS})
GZIP = "GZIP"


# Default usage plans (requests per second, burst), from the operations' descriptions in
# amzn/selling-partner-api-models (orders_2026-01-01.json, ordersV0.json, listingsItems_2021-08-01.json,
# reports_2021-06-30.json).
USAGE_PLANS: dict[Operation, tuple[float, int]] = {
    Operation.SEARCH_ORDERS: (0.0056, 20),
    Operation.GET_ORDER: (0.5, 30),
    Operation.CONFIRM_SHIPMENT: (2.0, 10),
    Operation.PATCH_LISTINGS_ITEM: (5.0, 5),
    Operation.GET_LISTINGS_ITEM: (5.0, 10),
    Operation.CREATE_REPORT: (0.0167, 15),
    Operation.GET_REPORT: (2.0, 15),
    Operation.GET_REPORT_DOCUMENT: (0.0167, 15),
}

_ROUTES: tuple[tuple[str, re.Pattern[str], Operation], ...] = (
    ("GET", re.compile(rf"^{ORDERS_PATH}/?$"), Operation.SEARCH_ORDERS),
    ("GET", re.compile(rf"^{ORDERS_PATH}/[^/]+$"), Operation.GET_ORDER),
    ("POST", re.compile(rf"^{ORDERS_V0_PATH}/[^/]+/shipmentConfirmation$"), Operation.CONFIRM_SHIPMENT),
    ("PATCH", re.compile(rf"^{LISTINGS_PATH}/[^/]+/[^/]+$"), Operation.PATCH_LISTINGS_ITEM),
    ("GET", re.compile(rf"^{LISTINGS_PATH}/[^/]+/[^/]+$"), Operation.GET_LISTINGS_ITEM),
    ("POST", re.compile(rf"^{REPORTS_PATH}/?$"), Operation.CREATE_REPORT),
    ("GET", re.compile(rf"^{REPORTS_PATH}/[^/]+$"), Operation.GET_REPORT),
    ("GET", re.compile(rf"^{DOCUMENTS_PATH}/[^/]+$"), Operation.GET_REPORT_DOCUMENT),
)


def operation_of(method: str, path: str) -> Operation | None:
    """The SP-API operation a request calls (its rate limit is that operation's)."""
    for route_method, pattern, operation in _ROUTES:
        if method.upper() == route_method and pattern.match(path):
            return operation
    return None


def amazon_errors(body: Any) -> str:
    """Amazon's words: `{"errors": [{"code", "message", "details"}]}`, or LWA's
    `{"error", "error_description"}`."""
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            parts = []
            for error in errors:
                if isinstance(error, dict):
                    words = ": ".join(str(error[k]) for k in ("code", "message") if error.get(k))
                    details = error.get("details")
                    parts.append(f"{words} ({details})" if details else words)
            if parts:
                return "; ".join(parts)
        if body.get("error"):
            return ": ".join(str(body[k]) for k in ("error", "error_description") if body.get(k))
    return str(body or "").strip()[:300] or "no reason given"


def amazon_time(at: datetime) -> str:
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_token_url(base_url: str) -> str:
    """LWA's own host for Amazon's regional endpoints; the base URL's `/auth/o2/token` otherwise
    (the sandbox serves LWA beside the API)."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host.endswith(".amazon.com") or host.endswith(".amazon.co.jp"):
        return LWA_TOKEN_URL
    return base_url.rstrip("/") + LWA_TOKEN_PATH


class AmazonSettings(BaseModel):
    """`settings:` of an Amazon channel in `orderloop.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The seller's merchant token (Seller Central > Settings > Merchant token): the Listings
    # Items API's `sellerId`.
    seller_id: str = Field(min_length=1)
    marketplace_id: str = Field(default=US_MARKETPLACE, min_length=1)
    # Default: LWA's host for Amazon's endpoints, else `{base_url}/auth/o2/token`.
    token_url: str | None = None
    # The product type of the listings whose availability is patched (Amazon requires one on
    # every patch; `PRODUCT` is accepted for attributes common to every type).
    product_type: str = "PRODUCT"
    # The merchant fulfillment channel whose quantity is set (`DEFAULT`: seller-fulfilled).
    fulfillment_channel_code: str = "DEFAULT"
    # The header the notification relay (an EventBridge API destination, or an SQS consumer)
    # carries the channel's `notification_key` in.
    notification_key_header: str = "x-api-key"
    page_size: int = Field(default=100, ge=1, le=100)
    # Longest client-side wait for an operation's bucket inside one call; longer: Temporal's retry.
    max_wait: float = Field(default=5.0, ge=0)
    # The returns poll: how long it waits for Amazon to process its report (getReport every
    # `report_poll_interval` seconds, within getReport's own bucket) before it leaves the rest to
    # Temporal's retry (which reads the same report again on this worker).
    report_wait: float = Field(default=120.0, ge=0)
    report_poll_interval: float = Field(default=5.0, ge=0)


class AmazonClient(VendorClient):
    """One per connector instance; the LWA secrets are read per token request."""

    # confirmShipment and the Listings Items API refuse content with 400 (InvalidInput).
    status_errors = VendorClient.status_errors | {400: RejectedError}

    def __init__(
        self,
        base_url: str,
        settings: AmazonSettings,
        client_id: Callable[[], str],
        client_secret: Callable[[], str],
        refresh_token: Callable[[], str],
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(base_url, http)
        self.settings = settings
        self.token_url = settings.token_url or default_token_url(base_url)
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self.tokens = TokenHolder(self._grant, clock=clock)
        self.buckets = {
            op: CreditBucket(burst, rate, max_wait=settings.max_wait, clock=clock)
            for op, (rate, burst) in USAGE_PLANS.items()
        }

    def reason(self, body: Any, response: httpx.Response) -> str:
        return amazon_errors(body)

    def observe(self, response: httpx.Response) -> None:
        """The rate Amazon applies to this operation now replaces the default."""
        op = operation_of(response.request.method, response.request.url.path)
        limit = response.headers.get(RATE_LIMIT_HEADER)
        if op is None or limit is None:
            return
        try:
            rate = float(limit)
        except ValueError:
            return
        if rate > 0:
            self.buckets[op].restore_rate = rate

    def rate(self, op: Operation) -> float:
        return self.buckets[op].restore_rate

    def retry_after(self, response: httpx.Response) -> float | None:
        """No `Retry-After` on Amazon's 429: one token's time at the operation's rate."""
        op = operation_of(response.request.method, response.request.url.path)
        return None if op is None else 1.0 / self.rate(op)

    # --- the token ---

    @property
    def tokens_fetched(self) -> int:
        return self.tokens.grants

    async def _grant(self, _refresh_token: str | None) -> Token:
        """The LWA refresh grant; the configured refresh token does not rotate, so it is read
        from the channel's credentials each time."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token(),
            "client_id": self._client_id(),
            "client_secret": self._client_secret(),
        }
        what = "get a Login with Amazon access token"
        response = await self.request("POST", self.token_url, what, data=form, ok=lambda r: r.status_code in (400, 401))
        body = body_of(response)
        token = token_from_answer(body)
        if not response.is_success or token is None:
            raise PermanentError(
                f"{what}: HTTP {response.status_code}: {amazon_errors(body)} "
                "(check the channel's client_id, client_secret and refresh_token)",
                status_code=response.status_code,
            )
        return token

    async def call(self, op: Operation, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        """One call of `op`: a token from its bucket, a valid access token, and one renewal of the
        access token when Amazon says it expired (or answers 401)."""
        await self.buckets[op].take(1, what)
        token = await self.tokens.token()
        headers = {ACCESS_TOKEN_HEADER: token}
        response = await self.request(method, path, what, ok=_token_refused, headers=headers, **kwargs)
        if _token_refused(response):
            headers = {ACCESS_TOKEN_HEADER: await self.tokens.renew(token)}
            response = await self.request(method, path, what, headers=headers, **kwargs)
        return response

    # --- orders ---

    async def search_orders(
        self, since: datetime, statuses: Sequence[str], fulfilled_by: str, included: Sequence[str]
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of orders updated at or after `since` (`nextToken` -> `paginationToken`)."""
        params: dict[str, Any] = {
            "lastUpdatedAfter": amazon_time(since),
            "marketplaceIds": self.settings.marketplace_id,
            "fulfillmentStatuses": ",".join(statuses),
            "fulfilledBy": fulfilled_by,
            "includedData": ",".join(included),
            "maxResultsPerPage": self.settings.page_size,
        }
        while True:
            body = (await self.call(Operation.SEARCH_ORDERS, "GET", ORDERS_PATH, "search orders", params=params)).json()
            if not isinstance(body, dict) or not isinstance(body.get("orders"), list):
                raise PermanentError("search orders: the answer has no 'orders' list", body=body)
            yield [o for o in body["orders"] if isinstance(o, dict)]
            token = (body.get("pagination") or {}).get("nextToken")
            if not token:
                return
            # The next page repeats the first request's filters, with the token.
            params = {**params, "paginationToken": token}

    async def get_order(self, order_id: str, included: Sequence[str]) -> dict[str, Any]:
        what = f"read Amazon order {order_id}"
        params = {"includedData": ",".join(included)}
        body = (await self.call(Operation.GET_ORDER, "GET", f"{ORDERS_PATH}/{order_id}", what, params=params)).json()
        if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
            raise PermanentError(f"{what}: the answer has no 'order' object", body=body)
        return dict(body["order"])

    async def confirm_shipment(self, order_id: str, body: dict[str, Any]) -> None:
        """`POST /orders/v0/orders/{orderId}/shipmentConfirmation`: 204 with no body."""
        what = f"confirm package {body['packageDetail']['packageReferenceId']} of Amazon order {order_id}"
        await self.call(
            Operation.CONFIRM_SHIPMENT, "POST", f"{ORDERS_V0_PATH}/{order_id}/shipmentConfirmation", what, json=body
        )

    # --- listings ---

    async def patch_listings_item(self, sku: str, body: dict[str, Any]) -> dict[str, Any]:
        """`PATCH /listings/2021-08-01/items/{sellerId}/{sku}`: the submission (`status`
        ACCEPTED or INVALID with its `issues`)."""
        what = f"patch the availability of {sku}"
        path = f"{LISTINGS_PATH}/{self.settings.seller_id}/{_path_part(sku)}"
        params = {"marketplaceIds": self.settings.marketplace_id}
        response = await self.call(Operation.PATCH_LISTINGS_ITEM, "PATCH", path, what, params=params, json=body)
        return dict(response.json())

    # --- reports ---

    async def create_report(self, report_type: str, start: datetime, end: datetime) -> str:
        """`createReport` for the channel's marketplace: the report's id."""
        what = f"create an Amazon {report_type} report"
        body = {
            "reportType": report_type,
            "dataStartTime": amazon_time(start),
            "dataEndTime": amazon_time(end),
            "marketplaceIds": [self.settings.marketplace_id],
        }
        answer = body_of(await self.call(Operation.CREATE_REPORT, "POST", REPORTS_PATH, what, json=body))
        report_id = answer.get("reportId") if isinstance(answer, dict) else None
        if not isinstance(report_id, str) or not report_id:
            raise PermanentError(f"{what}: the answer has no reportId", body=answer)
        return report_id

    async def get_report(self, report_id: str) -> dict[str, Any]:
        """`getReport`: the report with its `processingStatus` (and `reportDocumentId` once DONE)."""
        what = f"read Amazon report {report_id}"
        answer = body_of(await self.call(Operation.GET_REPORT, "GET", f"{REPORTS_PATH}/{_path_part(report_id)}", what))
        if not isinstance(answer, dict) or not isinstance(answer.get("processingStatus"), str):
            raise PermanentError(f"{what}: the answer has no processingStatus", body=answer)
        return answer

    async def report_document(self, document_id: str) -> bytes:
        """`getReportDocument`, then the document from its pre-signed URL, decompressed when Amazon
        says GZIP."""
        what = f"read Amazon report document {document_id}"
        path = f"{DOCUMENTS_PATH}/{_path_part(document_id)}"
        answer = body_of(await self.call(Operation.GET_REPORT_DOCUMENT, "GET", path, what))
        url = answer.get("url") if isinstance(answer, dict) else None
        if not isinstance(url, str) or not url:
            raise PermanentError(f"{what}: the answer has no url", body=answer)
        # The URL is signed itself: no access token, and not one of the API's operations.
        content = (await self.request("GET", url, f"download Amazon report document {document_id}")).content
        compression = answer.get("compressionAlgorithm")
        if compression is None:
            return content
        if compression != GZIP:
            raise PermanentError(f"{what}: compressionAlgorithm {compression!r} is not GZIP", body=answer)
        try:
            return gzip.decompress(content)
        except (OSError, EOFError) as exc:
            raise RetryableError(f"{what}: the GZIP document is damaged ({exc})") from exc


def _token_refused(response: httpx.Response) -> bool:
    """Amazon refused the access token as expired (403 with its words) or unauthenticated (401)."""
    if response.status_code == 401:
        return True
    return response.status_code == 403 and EXPIRED_TOKEN.lower() in response.text.lower()


def _path_part(value: str) -> str:
    return quote(value, safe="")
