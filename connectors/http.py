"""What every connector's HTTP client shares: one `httpx.AsyncClient` per connector instance,
the mapping of vendor answers to the connector error tree, and one paginator per pagination
style (cursor in the body, `Link` header). No retry loop: Temporal retries the activity.

A vendor client subclasses `VendorClient`, sets its auth headers in `auth_headers`, changes which
error a status raises by updating `status_errors` (ShipBob's 400 is a rejection), and, where the
vendor signals something in the body (a WMS's `already_shipped`), overrides `classify`.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import httpx

from connectors.base import ConnectorError, PermanentError, RateLimitedError, RejectedError, RetryableError
from connectors.http_pool import ClientPool
from orderloop import metrics
from orderloop.exchange_log import Captured, ExchangeRecorder, call_context

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# Calls one worker makes to one channel at once (its queue's `max_concurrent_activities`).
CALLS_AT_ONCE = 50
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([^";]+)"?')


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


def body_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def error_message(body: Any, response: httpx.Response) -> str:
    """The vendor's own reason (`error`, `reason`, `message`, `detail`, `errors`), else the body."""
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("error", "reason", "message", "detail", "errors", "title") if body.get(k)]
        if parts:
            return ": ".join(dict.fromkeys(parts))
    return str(body)[:300] or response.reason_phrase


def link_header_next(value: str | None) -> str | None:
    """The `rel="next"` URL of an RFC 8288 `Link` header (Shopify's REST pagination)."""
    for url, rel in _LINK.findall(value or ""):
        if "next" in rel.split():
            return url
    return None


def _request_of(exc: httpx.TransportError) -> httpx.Request | None:
    try:
        return exc.request
    except RuntimeError:  # raised before a request existed
        return None


def _sent_body(request: httpx.Request) -> bytes | None:
    try:
        return request.content or None
    except httpx.RequestNotRead:  # a streamed upload: not kept
        return None


class VendorClient:
    """Base of the connector HTTP clients. `http` is injectable (tests pass a client bound to the
    sandbox app) and then serves every call; otherwise each call borrows a client of one
    connection from the connector's pool (see connectors/http_pool.py). Secrets are read per
    call through callables so a rotated one takes effect."""

    # The error a non-2xx status raises: 429 rate limited (with the vendor's delay), 408
    # retryable, 422 rejected (the vendor refused this content). A status not listed is
    # retryable from 500 up, else permanent. A vendor client overrides it by a dict update.
    status_errors: ClassVar[dict[int, type[ConnectorError]]] = {
        429: RateLimitedError,
        408: RetryableError,
        422: RejectedError,
    }

    def __init__(self, base_url: str, http: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        # The channel label of this client's call metrics (`build_connectors` sets the channel id).
        self.channel = type(self).__name__
        self._given = http
        self._pool = ClientPool(timeout=DEFAULT_TIMEOUT) if http is None else None
        # Where this client's calls go in the exchange log (`build_connectors` sets the
        # process's recorder); None: not logged.
        self.exchange_log: ExchangeRecorder | None = None

    def auth_headers(self) -> dict[str, str]:
        return {}

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    async def request(
        self,
        method: str,
        path: str,
        what: str,
        *,
        json: Any = None,
        params: Any = None,
        headers: Any = None,
        data: Any = None,
        content: bytes | None = None,
        ok: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        """Send one request; any failure becomes a connector error whose message starts with
        `what`. `data` is a form body (an OAuth token request), `content` raw bytes (a body a
        signature covers, sent exactly as signed); `ok` lets a caller accept a non-2xx answer it
        handles itself."""
        all_headers = {"Accept": "application/json", **self.auth_headers(), **(headers or {})}
        started = time.perf_counter()
        at = datetime.now(UTC)
        try:
            async with self._client() as http:
                response = await http.request(
                    method,
                    self.url(path),
                    json=json,
                    params=params,
                    data=data,
                    content=content,
                    headers=all_headers,
                )
        except httpx.TimeoutException as exc:
            metrics.vendor_call(self.channel, None, time.perf_counter() - started)
            failure = f"{what}: timed out ({type(exc).__name__})"
            self._log_exchange(at, started, method, path, what, None, _request_of(exc), failure)
            raise RetryableError(failure) from exc
        except httpx.TransportError as exc:
            metrics.vendor_call(self.channel, None, time.perf_counter() - started)
            failure = f"{what}: {type(exc).__name__}: {exc}"
            self._log_exchange(at, started, method, path, what, None, _request_of(exc), failure)
            raise RetryableError(failure) from exc
        metrics.vendor_call(self.channel, response, time.perf_counter() - started)
        accepted = response.is_success or bool(ok and ok(response))
        self._log_exchange(at, started, method, path, what, response, response.request, None, accepted)
        self.observe(response)
        if not accepted:
            self.classify(response, what)
        return response

    def _log_exchange(
        self,
        at: datetime,
        started: float,
        method: str,
        path: str,
        what: str,
        response: httpx.Response | None,
        sent: httpx.Request | None,
        failure: str | None,
        accepted: bool = False,
    ) -> None:
        """Queue the call for the exchange log: a list append, the writing happens later."""
        if self.exchange_log is None:
            return
        context = call_context()
        self.exchange_log.add(
            Captured(
                at=at,
                direction=context.direction,
                channel_id=self.channel,
                operation=context.operation or what.split(" ", 1)[0],
                summary=what,
                ok=response is not None and accepted,
                duration_ms=round((time.perf_counter() - started) * 1000),
                order_id=context.order_id,
                method=method,
                target=httpx.URL(self.url(path)).path,
                status_code=None if response is None else response.status_code,
                attempt=context.attempt,
                request_body=None if sent is None else _sent_body(sent),
                response_body=None if response is None else response.content,
                error=failure
                if failure is not None or response is None or accepted
                else f"HTTP {response.status_code}: {self.reason(body_of(response), response)}",
            )
        )

    def observe(self, response: httpx.Response) -> None:
        """Hook for rate-limit headers seen on every answer (e.g. Shopify's call limit)."""

    def retry_after(self, response: httpx.Response) -> float | None:
        return retry_after_seconds(response.headers.get("Retry-After"))

    def reason(self, body: Any, response: httpx.Response) -> str:
        """The vendor's own words for a failed answer."""
        return error_message(body, response)

    def classify(self, response: httpx.Response, what: str) -> None:
        """Raise the connector error `status_errors` gives for a non-2xx answer; retryable
        errors carry the vendor's delay, permanent ones the status and body."""
        status = response.status_code
        body = body_of(response)
        reason = f"{what}: HTTP {status}: {self.reason(body, response)}"
        kind = self.status_errors.get(status) or (RetryableError if status >= 500 else PermanentError)
        if issubclass(kind, RetryableError):
            raise kind(reason, retry_after=self.retry_after(response))
        if issubclass(kind, PermanentError):
            raise kind(reason, status_code=status, body=body)
        raise kind(reason)

    async def cursor_pages(
        self, path: str, what: str, params: dict[str, Any], *, items_key: str, cursor_key: str = "next_cursor"
    ) -> AsyncIterator[list[Any]]:
        """Pages of a list whose body carries the next page's cursor (`?cursor=`)."""
        while True:
            page = (await self.request("GET", path, what, params=params)).json()
            yield list(page.get(items_key) or [])
            cursor = page.get(cursor_key)
            if not cursor:
                return
            params = {**params, "cursor": cursor}

    async def link_pages(self, path: str, what: str, params: dict[str, Any] | None = None) -> AsyncIterator[Any]:
        """Bodies of a list paginated by `Link: <...>; rel="next"` (the next URL carries its own
        query, so the first page's parameters are not repeated)."""
        url: str | None = path
        query = params
        while url is not None:
            response = await self.request("GET", url, what, params=query)
            yield response.json()
            url, query = link_header_next(response.headers.get("Link")), None

    def _client(self) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        if self._given is not None:
            return nullcontext(self._given)
        assert self._pool is not None
        return self._pool.client()

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
