"""HTTP client of NetSuite's REST web services (`{base}/services/rest/...`): the record service
(`record/v1/{type}/{id | eid:externalId}`: GET, PUT upsert by external id, PATCH), the query
service (`POST query/v1/suiteql` with `Prefer: transient`, `limit`/`offset` paging until
`hasMore` is false), signed per request with token-based authentication (OAuth 1.0a,
HMAC-SHA256, `realm` = the account id; oauthlib signs) or with an OAuth 2.0 machine-to-machine
bearer token (client credentials grant with a JWT assertion signed by the integration's
certificate key, PyJWT; the token is held by the shared `connectors.tokens.TokenHolder`,
renewed before it expires and once after a 401).

NetSuite's error body `{"type", "title", "status", "o:errorDetails": [{"detail",
"o:errorCode"}]}` is mapped into the error tree: a 429 or `CONCURRENCY_LIMIT_EXCEEDED` is
`RateLimitedError` (the `Retry-After` when given, else `CONCURRENCY_BACKOFF`), 5xx retryable,
`USER_ERROR` / `INVALID_KEY_OR_REF` (master data: an unknown item, customer or location) a
`RejectedError` with NetSuite's own message, `INVALID_LOGIN` a `PermanentError` once the one
renewal (M2M) did not help. The account's concurrency limit (`concurrency_limit` in the
settings) bounds the calls in flight: a semaphore in the client. No retry loop: Temporal
retries the activity."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from oauthlib import oauth1

from connectors.base import PermanentError, RateLimitedError, RejectedError, RetryableError
from connectors.http import VendorClient, body_of, retry_after_seconds
from connectors.netsuite.mapping import AuthMethod, NetSuiteAccess
from connectors.tokens import Token, TokenHolder, token_from_answer

REST = "/services/rest"
RECORD = f"{REST}/record/v1"
SUITEQL = f"{REST}/query/v1/suiteql"
TOKEN_PATH = f"{REST}/auth/oauth2/v1/token"
# Seconds to wait after NetSuite refused a call for the account's concurrency limit, when its
# answer names no `Retry-After` (Oracle's guidance: retry after a short wait).
CONCURRENCY_BACKOFF = 1.0
# Lifetime asked of an M2M client assertion (NetSuite accepts at most 60 minutes).
ASSERTION_TTL = 300
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

# `o:errorCode`s and what they mean for us.
REJECTING_CODES = frozenset({"USER_ERROR", "INVALID_KEY_OR_REF", "INVALID_REFKEY", "INVALID_FLD_VALUE"})
THROTTLING_CODES = frozenset({"CONCURRENCY_LIMIT_EXCEEDED", "REQUEST_LIMIT_EXCEEDED"})


def error_details(body: Any) -> list[tuple[str, str]]:
    """(code, detail) of each entry of `o:errorDetails`."""
    details = body.get("o:errorDetails") if isinstance(body, dict) else None
    found = []
    for entry in details if isinstance(details, list) else []:
        if isinstance(entry, dict):
            found.append((str(entry.get("o:errorCode") or ""), str(entry.get("detail") or "").strip()))
    return found


def netsuite_reason(body: Any) -> str:
    """NetSuite's words: each detail with its code, else the title."""
    details = error_details(body)
    if details:
        return "; ".join(f"{detail} ({code})" if code else detail for code, detail in details)
    if isinstance(body, dict) and body.get("title"):
        return str(body["title"])
    if isinstance(body, dict) and body.get("error_description"):
        return str(body["error_description"])
    return str(body or "").strip()[:300] or "no reason given"


def error_codes(body: Any) -> set[str]:
    return {code for code, _ in error_details(body) if code}


def located(response: httpx.Response, what: str) -> str:
    """The internal id of the record a create answered with (`Location: .../{record}/{id}`)."""
    internal = response.headers.get("Location", "").rstrip("/").rsplit("/", 1)[-1]
    if not internal.isdigit():
        raise RetryableError(f"{what}: NetSuite answered {response.status_code} without the record's Location")
    return internal


class NetSuiteClient(VendorClient):
    """One per connector instance; credentials are read per signature (`credential(name)`)."""

    def __init__(
        self,
        base_url: str,
        settings: NetSuiteAccess,
        credential: Callable[[str], str],
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(base_url, http)
        self.settings = settings
        self._credential = credential
        self._clock = clock
        self.gate = asyncio.Semaphore(settings.concurrency_limit)
        self.token_url = settings.token_url or f"{self.base_url}{TOKEN_PATH}"
        self.tokens = TokenHolder(self.grant, clock=clock)

    # --- errors ---

    def reason(self, body: Any, response: httpx.Response) -> str:
        return netsuite_reason(body)

    def retry_after(self, response: httpx.Response) -> float | None:
        delay = retry_after_seconds(response.headers.get("Retry-After"))
        return CONCURRENCY_BACKOFF if delay is None else delay

    def classify(self, response: httpx.Response, what: str) -> None:
        body = body_of(response)
        codes = error_codes(body)
        status = response.status_code
        reason = f"{what}: HTTP {status}: {netsuite_reason(body)}"
        if status == 429 or codes & THROTTLING_CODES:
            raise RateLimitedError(reason, retry_after=self.retry_after(response))
        if status >= 500:
            raise RetryableError(reason, retry_after=retry_after_seconds(response.headers.get("Retry-After")))
        if status == 400 and codes & REJECTING_CODES:
            raise RejectedError(reason, status_code=status, body=body)
        if status == 401:
            raise PermanentError(
                f"{reason} (check the channel's NetSuite credentials and the account id {self.settings.account_id})",
                status_code=status,
                body=body,
            )
        raise PermanentError(reason, status_code=status, body=body)

    # --- auth ---

    def tba_header(self, method: str, url: str) -> str:
        """The `Authorization: OAuth realm=...` header of one request (oauthlib signs it; its
        nonce and timestamp are fresh each time)."""
        signer = oauth1.Client(
            self._credential("consumer_key"),
            client_secret=self._credential("consumer_secret"),
            resource_owner_key=self._credential("token_id"),
            resource_owner_secret=self._credential("token_secret"),
            signature_method=oauth1.SIGNATURE_HMAC_SHA256,
            realm=self.settings.account_id,
        )
        _, headers, _ = signer.sign(url, http_method=method)
        return str(headers["Authorization"])

    def client_assertion(self) -> str:
        """The JWT the client credentials grant sends: signed with the certificate's private
        key (PS256), `kid` = the certificate id NetSuite gave when it was uploaded."""
        now = int(self._clock())
        claims = {
            "iss": self._credential("client_id"),
            "scope": self.settings.scopes,
            "aud": self.token_url,
            "iat": now,
            "exp": now + ASSERTION_TTL,
            "jti": uuid.uuid4().hex,
        }
        key, kid = self._credential("private_key"), self._credential("certificate_id")
        return jwt.encode(claims, key, algorithm="PS256", headers={"kid": kid})

    async def grant(self, _: str | None) -> Token:
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.client_assertion(),
        }
        response = await self.request(
            "POST", self.token_url, "get a NetSuite token", data=form, ok=lambda r: r.status_code in (400, 401)
        )
        body = body_of(response)
        token = token_from_answer(body) if response.is_success else None
        if token is None:
            raise PermanentError(
                f"get a NetSuite token: HTTP {response.status_code}: {netsuite_reason(body)} "
                "(check the channel's client_id, certificate_id and private_key)",
                status_code=response.status_code,
                body=body,
            )
        return token

    async def call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        ok: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        """One signed call, at most `concurrency_limit` of them in flight at once."""
        url = self.url(path) + (f"?{urlencode(params)}" if params else "")
        given = {"Content-Type": "application/json", **(headers or {})} if json is not None else dict(headers or {})
        async with self.gate:
            if self.settings.auth is AuthMethod.TBA:
                signed = {**given, "Authorization": self.tba_header(method, url)}
                return await self.request(method, url, what, json=json, headers=signed, ok=ok)

            async def attempt(token: str) -> httpx.Response:
                accept = lambda r: r.status_code == 401 or bool(ok and ok(r))  # noqa: E731
                bearer = {**given, "Authorization": f"Bearer {token}"}
                return await self.request(method, url, what, json=json, headers=bearer, ok=accept)

            response = await self.tokens.send(attempt)
            if response.status_code == 401:
                self.classify(response, what)
            return response

    # --- the record service ---

    async def get_record(self, record: str, key: str, what: str) -> dict[str, Any] | None:
        """The record (`key`: internal id or `eid:...`) with its sublists; None when NetSuite
        has none (404)."""
        expand = {"expandSubResources": "true"}
        response = await self.call(
            "GET", f"{RECORD}/{record}/{key}", what, params=expand, ok=lambda r: r.status_code == 404
        )
        return None if response.status_code == 404 else dict(response.json())

    async def upsert(self, record: str, external_id: str, body: dict[str, Any], what: str) -> str:
        """`PUT .../{record}/eid:{external_id}`: created, or updated when NetSuite has it;
        the internal id from the `Location` header of the 204."""
        response = await self.call("PUT", f"{RECORD}/{record}/eid:{external_id}", what, json=body)
        return located(response, what)

    async def transform(self, record: str, internal_id: str, target: str, body: dict[str, Any], what: str) -> str:
        """`POST .../{record}/{id}/!transform/{target}`: a new `target` record made from the
        record (an item fulfillment from a sales order), `body` setting its fields and lines;
        the new record's internal id from the `Location` header of the 204."""
        response = await self.call("POST", f"{RECORD}/{record}/{internal_id}/!transform/{target}", what, json=body)
        return located(response, what)

    async def patch(self, record: str, internal_id: str, body: dict[str, Any], what: str) -> None:
        await self.call("PATCH", f"{RECORD}/{record}/{internal_id}", what, json=body)

    # --- the query service ---

    async def suiteql(self, query: str, what: str) -> AsyncIterator[list[dict[str, Any]]]:
        """Each page of a SuiteQL query (`limit` = the page size, `offset` on) until `hasMore`
        is false."""
        offset = 0
        while True:
            params = {"limit": self.settings.page_size, "offset": offset}
            response = await self.call(
                "POST", SUITEQL, what, params=params, json={"q": query}, headers={"Prefer": "transient"}
            )
            page = response.json()
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise PermanentError(f"{what}: a SuiteQL answer has `items`, got {str(page)[:200]}", body=page)
            items = [row for row in page["items"] if isinstance(row, dict)]
            yield items
            if not page.get("hasMore") or not items:
                return
            offset += len(items)

    async def rows(self, query: str, what: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        async for page in self.suiteql(query, what):
            found.extend(page)
        return found
