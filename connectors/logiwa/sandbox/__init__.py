"""In-memory emulation of Logiwa's Integration API for `make run` and the tests: the password
grant at `POST /token` (form body; tokens expire after `token_ttl`, answered 401 `{"Message":
...}` afterwards), RPC at `POST /en/api/IntegrationApi/{Method}` for `InsertShipmentOrder`,
`WarehouseOrderSearch`, `CancelShipmentOrder` and `InventoryItemSearch`, refusals as HTTP 200
`{"Success": false, "Errors": [...]}`, the tier's limits (one call per 1/rate seconds and a
per-minute window) answered 403 with "Please retry after {t} milliseconds" in the body and no
header, and unsigned webhooks carrying the brand's token header ("SO Status Update", "Shipment
Tracking Info", "Order Shipment Info"), which `deliver_webhooks=false` loses.

Every route not served answers `{"Message": ...}` as Logiwa's ASP.NET host does; an unknown
method name answers the same 404. `GET /_sandbox` lists the routes and controls. Modules: `gate`
(knobs, tokens, throttling, error shapes), `warehouse` (orders, fulfilment, stock, webhooks);
this one declares the routes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel

from connectors.base import SandboxOptions
from connectors.logiwa.client import PAGE_SIZE, RPC_PATH
from connectors.logiwa.sandbox.gate import LogiwaError, message_body
from connectors.logiwa.sandbox.warehouse import Warehouse
from connectors.sandbox_kit import Call, Route, RouteTable, numbered_page, read_json, sandbox_app

__all__ = ["Warehouse", "create_app"]


def paged(rows: list[dict[str, Any]], body: Any) -> dict[str, Any]:
    """Logiwa's search answer: `Data` of page `SelectedPageIndex` (from 1) of `PageSize` rows."""
    query = body if isinstance(body, dict) else {}
    size = query.get("PageSize") or PAGE_SIZE
    index = query.get("SelectedPageIndex") or 1
    if not isinstance(size, int) or not isinstance(index, int) or size < 1 or index < 1:
        raise LogiwaError(200, {"Success": False, "Errors": ["PageSize and SelectedPageIndex must be positive."]})
    page, pages = numbered_page(rows, index, size)
    return {
        "Data": page,
        "Success": True,
        "Errors": [],
        "SuccessMessage": None,
        "PageSize": size,
        "SelectedPageIndex": index,
        "PageCount": pages,
        "RecordCount": len(rows),
    }


def api_routes(wh: Warehouse) -> RouteTable:
    def insert(body: Any) -> Any:
        answer = wh.insert(body)
        lost = wh.knobs.value.lose_create_answers
        if lost:
            wh.knobs.update({"lose_create_answers": lost - 1})
            raise LogiwaError(504, {"Message": "The request timed out before the answer was sent."})
        return answer

    methods: dict[str, Callable[[Any], Any]] = {
        "InsertShipmentOrder": insert,
        "WarehouseOrderSearch": lambda body: paged(wh.search(body), body),
        "CancelShipmentOrder": wh.cancel,
        "InventoryItemSearch": lambda body: paged(wh.items(body), body),
    }

    async def rpc(method: str, request: Request) -> Any:
        """InsertShipmentOrder | WarehouseOrderSearch | CancelShipmentOrder | InventoryItemSearch:
        {"Success": true, ...} or HTTP 200 {"Success": false, "Errors": [...]}"""
        handler = methods.get(method)
        if handler is None:
            raise LogiwaError(404, {"Message": f"No HTTP resource was found that matches the request URI '{method}'."})
        body = await read_json(request, lambda reason: LogiwaError(200, {"Success": False, "Errors": [reason]}))
        return handler(body)

    return RouteTable(
        prefix=RPC_PATH.rstrip("/"),
        dependencies=(wh.throttle, wh.authenticate),
        routes=(Route("POST", "/{method}", endpoint=rpc),),
    )


def token_routes(wh: Warehouse) -> RouteTable:
    # The token host is not the API host (`{env}api.logiwa.com`): its calls are not throttled.
    return RouteTable(routes=(Route("POST", "/token", endpoint=wh.token),))


class StockBody(BaseModel):
    stock: dict[str, dict[str, int]]


def control_routes(wh: Warehouse) -> RouteTable:
    def shipped(call: Call) -> dict[str, Any]:
        order = wh.find(call.path["ref"])
        record = wh.ship(order)
        if record is None:
            raise LogiwaError(409, {"Message": f"order {order.code} is {order.status.value}: nothing to ship"})
        return {"shipments": [record]}

    def picked(call: Call) -> dict[str, Any]:
        order = wh.find(call.path["ref"])
        wh.pick(order)
        return order.record(wh.depositor, True)

    async def set_stock(body: StockBody) -> list[dict[str, Any]]:
        """{"stock": {warehouse_code: {sku: on_hand}}}: replace the stock"""
        wh.set_stock(body.stock)
        return wh.items(None)

    return RouteTable(
        prefix="/_sandbox",
        routes=(
            Route("POST", "/ship/{ref:path}", shipped, "ship the order ({ref}: its Code or ID) now, with its webhooks"),
            Route("POST", "/pick/{ref:path}", picked, "picking starts: a cancel is refused from now on"),
            Route("GET", "/orders", lambda _: wh.search({"IsGetOrderDetails": True}), "every order record"),
            Route("GET", "/stock", lambda _: wh.items(None), "stock per warehouse and item"),
            Route("POST", "/stock", endpoint=set_stock),
            Route("POST", "/tokens/expire", lambda _: {"expired": wh.expire_tokens()}, "expire every token now"),
            Route(
                "GET",
                "/tokens",
                lambda _: {"issued": wh.tokens_issued, "throttled": wh.throttled},
                "tokens issued, calls throttled",
            ),
        ),
    )


def create_app(options: SandboxOptions, *, webhook_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    wh = Warehouse(options, webhook_transport)
    return sandbox_app(
        f"Logiwa sandbox ({options.channel.id})",
        wh,
        control_routes(wh),
        token_routes(wh),
        api_routes(wh),
        error_shape=message_body,
    )
