"""In-memory emulation of the RyderShip (Whiplash) V2 API for `make run` and the tests: the
OAuth refresh grant at `POST /oauth/token` (form body; 2 h tokens, a new refresh token each
time and the one spent revoked; 401 `{"error": ...}` with an expired token), `POST /api/v2/orders`, `GET /api/v2/orders`
(Ransack `search={"order_orig_eq": ...}`, `page`/`per_page`), `GET /api/v2/orders/{id}`,
`PUT /api/v2/orders/{id}/call/cancel`, `GET /api/v2/items` and
`/api/v2/items/{id}/warehouse_quantities`; refusals 422 `{"error"}` / `{"errors": {field:
[...]}}`; 10 requests a second answered 429 with `X-RateLimit-*` and `Retry-After`; webhooks
signed with `X-WHIPLASH-SIGNATURE`. `GET /_sandbox` lists routes and controls; the state is
in `account`, this module declares the routes."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from connectors.base import SandboxOptions
from connectors.rydership.client import API
from connectors.rydership.sandbox.account import Account, WhiplashError, error_body
from connectors.sandbox_kit import Call, Route, RouteTable, numbered_page, sandbox_app

__all__ = ["Account", "create_app"]


def paged(rows: list[dict[str, Any]], query: Any) -> list[dict[str, Any]]:
    try:
        page, per_page = int(query.get("page") or 1), int(query.get("per_page") or 50)
    except ValueError:
        raise WhiplashError(400, "page and per_page must be numbers.") from None
    if page < 1 or not 1 <= per_page <= 250:
        raise WhiplashError(400, "page must be positive and per_page 1 to 250.")
    return numbered_page(rows, page, per_page)[0]


def api_routes(acc: Account) -> RouteTable:
    def create(call: Call) -> Any:
        created = acc.create(call.body)
        lost = acc.knobs.value.lose_create_answers
        if lost:
            acc.knobs.update({"lose_create_answers": lost - 1})
            raise WhiplashError(504, "Gateway Timeout")
        return created

    def quantities(call: Call) -> Any:
        return acc.quantities(int(call.path["item_id"]))

    return RouteTable(
        prefix=API,
        dependencies=(acc.throttle, acc.authenticate),
        headers=lambda _: acc.rate_headers(),
        invalid_json=lambda reason: WhiplashError(400, reason),
        routes=(
            Route("POST", "/orders", create, "create an order (422 for a known order_orig)", status=201),
            Route("GET", "/orders", lambda c: paged(acc.search(dict(c.query)), c.query), "orders, Ransack search"),
            Route("GET", "/orders/{order_id:int}", lambda c: acc.find(str(c.path["order_id"])).resource(), "an order"),
            Route(
                "PUT",
                "/orders/{order_id:int}/call/cancel",
                lambda c: acc.cancel(acc.find(str(c.path["order_id"]))),
                "cancel (422 once picked)",
            ),
            Route("GET", "/items", lambda c: paged(acc.items(), c.query), "items"),
            Route("GET", "/items/{item_id:int}/warehouse_quantities", quantities, "an item's stock per warehouse"),
        ),
    )


class StockBody(BaseModel):
    stock: dict[str, dict[str, int]]


class EditBody(BaseModel):
    """A hand edit in Whiplash's UI: units per SKU (0 removes it), `shipping_*` fields."""

    items: dict[str, int] = {}
    shipping: dict[str, str | None] = {}


class AttentionBody(BaseModel):
    message: str = "Address could not be verified by the carrier"


def control_routes(acc: Account) -> RouteTable:
    def shipped(call: Call) -> dict[str, Any]:
        order = acc.find(call.path["ref"])
        resource = acc.ship(order)
        if resource is None:
            raise WhiplashError(409, f"order {order.id} is {order.status.name.lower()}: nothing to ship")
        return {"shipments": [resource]}

    def picked(call: Call) -> dict[str, Any]:
        order = acc.find(call.path["ref"])
        acc.pick(order)
        return order.resource()

    async def attention(ref: str, body: AttentionBody) -> dict[str, Any]:
        """{"message": text}: the warehouse flags the order (order.attention)"""
        return acc.hold(acc.find(ref), body.message)

    async def edit(ref: str, body: EditBody) -> dict[str, Any]:
        """{"items": {sku: quantity}, "shipping": {shipping_field: value}}: edit the order in
        Whiplash's UI (no webhook)"""
        return acc.edit(acc.find(ref), body.items, body.shipping)

    async def set_stock(body: StockBody) -> list[dict[str, Any]]:
        """{"stock": {warehouse_id: {sku: on_hand}}}: replace the stock"""
        acc.set_stock(body.stock)
        return acc.items()

    return RouteTable(
        prefix="/_sandbox",
        routes=(
            Route("POST", "/ship/{ref:path}", shipped, "ship the order ({ref}: id or order_orig) now"),
            Route("POST", "/pick/{ref:path}", picked, "pick the order: a cancel is refused from now on"),
            Route("POST", "/attention/{ref:path}", endpoint=attention),
            Route(
                "POST",
                "/cancel/{ref:path}",
                lambda c: acc.cancel(acc.find(c.path["ref"])),
                "cancel the order in Whiplash's UI (order.cancelled, if webhooks are delivered)",
            ),
            Route("POST", "/edit/{ref:path}", endpoint=edit),
            Route("GET", "/orders", lambda _: acc.search({}), "every order"),
            Route("GET", "/stock", lambda _: {str(w): lv for w, lv in acc.stock.items()}, "stock per warehouse"),
            Route("POST", "/stock", endpoint=set_stock),
            Route("POST", "/tokens/expire", lambda _: {"expired": acc.expire_tokens()}, "expire every token now"),
            Route(
                "GET",
                "/tokens",
                lambda _: {"issued": acc.tokens_issued, "refresh_spent": acc.refresh_spent, "throttled": acc.throttled},
                "tokens issued, refresh tokens spent, calls throttled",
            ),
        ),
    )


def token_routes(acc: Account) -> RouteTable:
    return RouteTable(routes=(Route("POST", "/oauth/token", endpoint=acc.token),))


def create_app(options: SandboxOptions, *, webhook_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    acc = Account(options, webhook_transport)
    return sandbox_app(
        f"RyderShip sandbox ({options.channel.id})",
        acc,
        control_routes(acc),
        token_routes(acc),
        api_routes(acc),
        error_shape=error_body,
    )
