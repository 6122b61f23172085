"""HTTP client of ShipHero's public GraphQL API (`POST /graphql`): the bearer access token got from
`POST /auth/refresh` (a refresh token) or `POST /auth/token` (username and password), held by the
shared `connectors.tokens.TokenHolder` until shortly before its expiry (28 days) and renewed
once when an answer says it is no longer valid;
complexity credits paced by a `CreditBucket` fed from each answer's `complexity`; and the
classification of `errors[]` in HTTP 200 answers into the connector error tree (throttled:
retry after the delay the message gives; auth: renew the token and send once more; anything
else about the request: rejected). A 429 with `Retry-After` (the hard request cap) is the shared
client's. No retry loop: Temporal retries the activity."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from connectors.base import PermanentError, RateLimitedError, RejectedError
from connectors.http import VendorClient
from connectors.json_values import integer
from connectors.pacing import CreditBucket
from connectors.shiphero import documents
from connectors.shiphero.documents import Document
from connectors.tokens import Token, TokenHolder, token_from_answer

PRODUCTION_URL = "https://public-api.shiphero.com"
GRAPHQL_PATH = "/graphql"
TOKEN_PATH = "/auth/token"
REFRESH_PATH = "/auth/refresh"
# Renew an access token this long before ShipHero says it expires.
TOKEN_MARGIN = 300.0
# ShipHero's throttled answer: "... Try again in 3 seconds" with `time_remaining: "3 seconds"`.
_SECONDS = re.compile(r"(\d+(?:\.\d+)?)\s*second", re.IGNORECASE)
PAGE_SIZE = 100


class ErrorCode:
    """`errors[].code` values the connector acts on (ShipHero's error glossary)."""

    NOT_ENOUGH_CREDITS = 30
    UNAUTHORIZED = 401
    NOT_FOUND = 5


class NotFoundError(PermanentError):
    """ShipHero knows no such object (an order id that does not exist for this account)."""


class AuthRenewal(Exception):
    """Internal: the answer says the token is not valid; renew it and send once more."""


def credits_delay(error: dict[str, Any]) -> float | None:
    for value in (error.get("time_remaining"), error.get("message")):
        match = _SECONDS.search(str(value or ""))
        if match:
            return float(match.group(1))
    return None


def shiphero_reason(errors: list[Any]) -> str:
    parts = []
    for error in errors:
        if isinstance(error, dict):
            field = error.get("field")
            message = str(error.get("message") or "no message")
            parts.append(f"{field}: {message}" if field and field not in message else message)
        else:
            parts.append(str(error))
    return "; ".join(parts) or "no reason given"


class ShipHeroClient(VendorClient):
    def __init__(
        self,
        base_url: str,
        refresh_token: Callable[[], str | None],
        login: Callable[[], tuple[str, str] | None],
        bucket: CreditBucket,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(base_url, http)
        self._refresh_token = refresh_token
        self._login = login
        self.tokens = TokenHolder(self.grant, margin=TOKEN_MARGIN)
        self.bucket = bucket
        # The last complexity each operation was charged: what its next call reserves.
        self.costs: dict[str, int] = {}

    def reason(self, body: Any, response: httpx.Response) -> str:
        if isinstance(body, dict) and isinstance(body.get("errors"), list):
            return shiphero_reason(body["errors"])
        if isinstance(body, dict) and body.get("error_description"):
            return f"{body.get('error')}: {body['error_description']}"
        return super().reason(body, response)

    async def grant(self, _refresh_token: str | None) -> Token:
        """`/auth/refresh` with the configured refresh token (ShipHero does not rotate it), else
        `/auth/token` with username and password."""
        refresh = self._refresh_token()
        if refresh:
            path, body, what = REFRESH_PATH, {"refresh_token": refresh}, "renew the ShipHero access token"
        else:
            login = self._login()
            if login is None:
                raise PermanentError("ShipHero channel: configure a refresh_token, or username and password")
            path, body, what = TOKEN_PATH, {"username": login[0], "password": login[1]}, "get a ShipHero access token"
        answer = (await self.request("POST", path, what, json=body)).json()
        token = token_from_answer(answer)
        if token is None:
            raise PermanentError(f"{what}: the answer has no access_token", body=answer)
        return token

    async def graphql(self, doc: Document, variables: dict[str, Any], what: str) -> dict[str, Any]:
        """The root field's result (`{request_id, complexity, data|order}`) of one operation;
        an auth error (a 401, or `code: 401` in `errors[]`) renews the token and sends once more."""
        token = await self.tokens.token()
        try:
            return await self._send(doc, variables, what, token)
        except AuthRenewal:
            return await self._send(doc, variables, what, await self.tokens.renew(token), renewed=True)

    async def _send(
        self, doc: Document, variables: dict[str, Any], what: str, token: str, renewed: bool = False
    ) -> dict[str, Any]:
        reserved = self.costs.get(doc.name, 1)
        await self.bucket.take(reserved, what)
        response = await self.request(
            "POST",
            GRAPHQL_PATH,
            what,
            json={"query": doc.text, "variables": variables, "operationName": doc.name},
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            ok=lambda r: r.status_code == 401 and not renewed,
        )
        if response.status_code == 401:
            raise AuthRenewal()
        body = response.json()
        if not isinstance(body, dict):
            raise PermanentError(f"{what}: expected a GraphQL answer object", body=body)
        result = (body.get("data") or {}).get(doc.root_field)
        charged = result.get("complexity") if isinstance(result, dict) else None
        if isinstance(charged, int):
            self.bucket.settle(reserved, charged)
            self.costs[doc.name] = charged
        errors = body.get("errors")
        if errors:
            self._raise_for(errors if isinstance(errors, list) else [errors], what, renewed)
        if not isinstance(result, dict):
            raise PermanentError(f"{what}: the answer has no {doc.root_field}", body=body)
        return result

    def _raise_for(self, errors: list[Any], what: str, renewed: bool) -> None:
        reason = f"{what}: {shiphero_reason(errors)}"
        first = next((e for e in errors if isinstance(e, dict)), {})
        codes = {integer(e.get("code")) for e in errors if isinstance(e, dict)}
        if ErrorCode.NOT_ENOUGH_CREDITS in codes or "credits" in reason.lower():
            remaining = first.get("remaining_credits")
            if isinstance(remaining, int | float):
                self.bucket.observe_remaining(remaining)
            raise RateLimitedError(reason, retry_after=credits_delay(first))
        if ErrorCode.UNAUTHORIZED in codes and not renewed:
            raise AuthRenewal()
        if ErrorCode.NOT_FOUND in codes or "not found" in reason.lower():
            raise NotFoundError(reason, status_code=404, body=errors)
        # A GraphQL error has no HTTP status; a refusal of the request's content reads as 422.
        raise RejectedError(reason, status_code=422, body=errors)

    async def connection(
        self, doc: Document, variables: dict[str, Any], what: str, page_size: int = PAGE_SIZE
    ) -> AsyncIterator[dict[str, Any]]:
        """Every node of a Relay connection under the result's `data`, page after page."""
        after: str | None = None
        while True:
            result = await self.graphql(doc, {**variables, "first": page_size, "after": after}, what)
            page = result.get("data") or {}
            for edge in page.get("edges") or []:
                if isinstance(edge, dict) and isinstance(edge.get("node"), dict):
                    yield edge["node"]
            info = page.get("pageInfo") or {}
            after = info.get("endCursor")
            if not info.get("hasNextPage") or not after:
                return

    # --- operations ---

    async def orders_by_partner_id(self, partner_order_id: str, shop_name: str | None) -> list[dict[str, Any]]:
        found = self.connection(
            documents.ORDERS_BY_PARTNER_ID,
            {"partner_order_id": partner_order_id, "shop_name": shop_name},
            f"find ShipHero order {partner_order_id}",
        )
        return [o async for o in found if o.get("partner_order_id") == partner_order_id]

    async def order(self, order_id: str) -> dict[str, Any] | None:
        try:
            result = await self.graphql(documents.ORDER, {"id": order_id}, f"read ShipHero order {order_id}")
        except NotFoundError:
            return None
        data = result.get("data")
        return data if isinstance(data, dict) else None

    async def create_order(self, data: dict[str, Any]) -> dict[str, Any]:
        what = f"create ShipHero order {data.get('partner_order_id')}"
        result = await self.graphql(documents.ORDER_CREATE, {"data": data}, what)
        order = result.get("order")
        if not isinstance(order, dict) or not order.get("id"):
            raise PermanentError(f"{what}: the answer has no order id", body=result)
        return order

    async def cancel_order(self, order_id: str, reason: str, customer_account_id: str | None) -> dict[str, Any]:
        data: dict[str, Any] = {"order_id": order_id, "reason": reason, "void_on_platform": False}
        if customer_account_id:
            data["customer_account_id"] = customer_account_id
        result = await self.graphql(documents.ORDER_CANCEL, {"data": data}, f"cancel ShipHero order {order_id}")
        return dict(result.get("order") or {})

    async def shipments(self, order_id: str) -> list[dict[str, Any]]:
        found = self.connection(
            documents.SHIPMENTS_OF_ORDER, {"order_id": order_id}, f"list shipments of ShipHero order {order_id}"
        )
        return [s async for s in found]

    async def warehouse_products(
        self, warehouse_id: str | None, updated_at_min: str | None = None
    ) -> list[dict[str, Any]]:
        found = self.connection(
            documents.WAREHOUSE_PRODUCTS,
            {"warehouse_id": warehouse_id, "updated_at_min": updated_at_min},
            f"read ShipHero inventory of warehouse {warehouse_id or '(all)'}",
        )
        return [p async for p in found]

    # --- returns ---

    async def orders_by_number(self, order_number: str, shop_name: str | None) -> list[dict[str, Any]]:
        """The orders of one channel order number (`order_number`, as `order_create` set it),
        with their shipping address and line items."""
        found = self.connection(
            documents.ORDERS_BY_NUMBER,
            {"order_number": order_number, "shop_name": shop_name},
            f"find ShipHero orders numbered {order_number}",
        )
        return [o async for o in found if o.get("order_number") == order_number]

    async def returns(self, order_id: str | None, date_from: str | None = None) -> list[dict[str, Any]]:
        """The returns of a ShipHero order (every return of the account when `order_id` is None,
        since `date_from` when given)."""
        found = self.connection(
            documents.RETURNS,
            {"order_id": order_id, "date_from": date_from},
            f"list ShipHero returns of order {order_id or '(all)'}",
        )
        return [r async for r in found]

    async def return_(self, return_id: str) -> dict[str, Any] | None:
        try:
            result = await self.graphql(documents.RETURN, {"id": return_id}, f"read ShipHero return {return_id}")
        except NotFoundError:
            return None
        data = result.get("data")
        return data if isinstance(data, dict) else None

    async def create_return(self, data: dict[str, Any]) -> dict[str, Any]:
        what = f"create ShipHero return {data.get('partner_id')}"
        result = await self.graphql(documents.RETURN_CREATE, {"data": data}, what)
        created = result.get("return")
        if not isinstance(created, dict) or not created.get("id"):
            raise PermanentError(f"{what}: the answer has no return id", body=result)
        return created
