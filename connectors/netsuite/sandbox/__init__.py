"""In-memory emulation of NetSuite's REST web services for `make run` and the tests: the record
service (`GET`, `PUT` upsert by `eid:`, `PATCH` under `/services/rest/record/v1/{salesOrder |
transferOrder}/{id | eid:externalId}`, `GET .../itemFulfillment/{id}`; `expandSubResources`),
the query service (`POST /services/rest/query/v1/suiteql`, `Prefer: transient`, `limit` /
`offset`, `hasMore` and `links`; the query parsed and run on SQLite: `suiteql`), the OAuth 2.0
token endpoint of the client credentials grant, every API call authenticated (`auth`: TBA
signatures checked over the OAuth base string, nonces once, a timestamp window; bearer tokens)
and governed by the account's concurrency limit (429 `CONCURRENCY_LIMIT_EXCEEDED`), errors in
NetSuite's `o:errorDetails` body. The warehouse's side is controls: fulfil an order (with its
packages), close it in the UI, set inventory. For a selling instance (`role: selling`, its own
sandbox on its own port) the ERP's users enter sales orders (`POST /_sandbox/orders`) and cancel
them, and the integration records shipments by `POST .../salesOrder/{id}/!transform/
itemFulfillment` (`sales`). `GET /_sandbox` lists routes and controls."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import httpx
from fastapi import FastAPI, Request, Response
from pydantic import BaseModel

from connectors.base import SandboxOptions
from connectors.netsuite.client import RECORD, SUITEQL, TOKEN_PATH
from connectors.netsuite.mapping import external_id
from connectors.netsuite.sandbox.account import Account, FulfillmentStatus, SbOrder
from connectors.netsuite.sandbox.auth import error
from connectors.netsuite.sandbox.sales import EnteredOrder, cancel, enter_order, transform
from connectors.sandbox_kit import Call, Route, RouteTable, sandbox_app

__all__ = ["Account", "create_app"]


def error_body(status: int, message: str) -> dict[str, Any]:
    return {
        "type": "https://www.rfc-editor.org/rfc/rfc9110.html",
        "title": message,
        "status": status,
        "o:errorDetails": [
            {"detail": message, "o:errorCode": "NONEXISTENT_ID" if status == 404 else "INVALID_REQUEST"}
        ],
    }


def no_content(location: str | None = None) -> Response:
    return Response(status_code=204, headers={"Location": location} if location else None)


def api_routes(acc: Account) -> RouteTable:
    def href(order: SbOrder) -> str:
        return f"{acc.base_url}{RECORD}/{order.record}/{order.id}"

    def get(call: Call) -> Any:
        if call.path["record"] == "itemFulfillment":
            return acc.fulfillment_json(call.path["key"])
        return acc.order_json(acc.find(acc.record_type(call.path["record"]), call.path["key"]))

    def put(call: Call) -> Any:
        order, _ = acc.upsert(acc.record_type(call.path["record"]), call.path["key"], call.body)
        lost = acc.knobs.value.lose_create_answers
        if lost:
            acc.knobs.update({"lose_create_answers": lost - 1})
            raise error(504, "Gateway Timeout", "The request timed out.", "UNEXPECTED_ERROR")
        return no_content(href(order))

    def make_fulfillment(call: Call) -> Any:
        order = acc.find(acc.record_type(call.path["record"]), call.path["key"])
        made = transform(acc, order, call.path["target"], call.body)
        lost = acc.knobs.value.lose_create_answers
        if lost:
            acc.knobs.update({"lose_create_answers": lost - 1})
            raise error(504, "Gateway Timeout", "The request timed out.", "UNEXPECTED_ERROR")
        return no_content(f"{acc.base_url}{RECORD}/itemFulfillment/{made.id}")

    def patch(call: Call) -> Any:
        order = acc.find(acc.record_type(call.path["record"]), call.path["key"])
        acc.patch(order, call.body)
        return no_content(href(order))

    def query(call: Call) -> Any:
        if call.request.headers.get("prefer", "").lower() != "transient":
            raise error(
                400,
                "Bad Request",
                "The SuiteQL query service needs the header Prefer: transient.",
                "INVALID_HEADER",
                **{"o:errorHeader": "Prefer"},
            )
        return acc.suiteql(call.body, call.query, f"{acc.base_url}{SUITEQL}")

    return RouteTable(
        prefix="",
        dependencies=(acc.govern, acc.authenticate),
        invalid_json=lambda reason: error(400, "Bad Request", reason, "INVALID_CONTENT"),
        routes=(
            Route("GET", f"{RECORD}/{{record}}/{{key}}", get, "a record (internal id or eid:), with its sublists"),
            Route("PUT", f"{RECORD}/{{record}}/{{key}}", put, "upsert by eid: (204, Location of the record)"),
            Route("PATCH", f"{RECORD}/{{record}}/{{key}}", patch, "update: close item lines (isClosed)"),
            Route(
                "POST",
                f"{RECORD}/{{record}}/{{key}}/!transform/{{target}}",
                make_fulfillment,
                "salesOrder -> itemFulfillment (204, Location of the fulfillment)",
            ),
            Route("POST", SUITEQL, query, "SuiteQL (Prefer: transient; limit, offset)"),
        ),
    )


def token_routes(acc: Account) -> RouteTable:
    async def token(request: Request) -> Any:
        """form grant_type=client_credentials, client_assertion_type, client_assertion: a token"""
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        return acc.gatekeeper.grant(form, acc.token_url)

    return RouteTable(routes=(Route("POST", TOKEN_PATH, endpoint=token),))


class FulfilBody(BaseModel):
    """What the warehouse enters on an item fulfillment: units per SKU (default: every open
    unit), its packages' tracking numbers, its status (A picked, B packed, C shipped), and
    whether it may go beyond the order (an over-fulfilment)."""

    units: dict[str, int] | None = None
    tracking: list[str] | None = None
    status: FulfillmentStatus = FulfillmentStatus.SHIPPED
    beyond_order: bool = False


class InventoryBody(BaseModel):
    inventory: dict[int, dict[str, int]]


def control_routes(acc: Account) -> RouteTable:
    def order_of(ref: str) -> SbOrder:
        """An order by internal id, external id, or our request id."""
        for order in acc.orders.values():
            if (order.external_id is not None and order.external_id in (ref, external_id(ref))) or str(order.id) == ref:
                return order
        raise error(404, "Not Found", f"no order {ref!r}", "NONEXISTENT_ID")

    async def fulfil(ref: str, body: FulfilBody | None = None) -> dict[str, Any]:
        """{"units": {sku: n}, "tracking": [...], "status": "C", "beyond_order": false}: the
        warehouse enters an item fulfillment on the order ({ref}: id, external id or request id)"""
        given = body or FulfilBody()
        found = acc.fulfil(order_of(ref), given.units, given.tracking, given.status, given.beyond_order)
        return {"shipments": [acc.fulfillment_json(str(found.id))] if found else []}

    async def enter(body: EnteredOrder) -> dict[str, Any]:
        """{"externalId" (the customer's PO), "currency", "customer", "shippingAddress",
        "lineItems": [{"sku", "quantity", "unitPrice"}], "netsuiteExternalId"}: a sales rep
        enters a sales order in the ERP (Pending Fulfillment); the record, `id` its internal id"""
        return acc.order_json(enter_order(acc, body))

    async def set_inventory(body: InventoryBody) -> dict[str, Any]:
        """{"inventory": {location internal id: {sku: on hand}}}: replace the inventory"""
        acc.set_inventory(body.inventory)
        return acc.suiteql({"q": "SELECT * FROM inventoryitemlocations"}, {}, "")

    return RouteTable(
        prefix="/_sandbox",
        routes=(
            Route("POST", "/fulfil/{ref:path}", endpoint=fulfil),
            Route(
                "POST",
                "/close/{ref:path}",
                lambda c: acc.order_json(acc.close_all(order_of(c.path["ref"]))),
                "close every line of the order in NetSuite's UI",
            ),
            Route("GET", "/orders", lambda _: [acc.order_json(o) for o in acc.orders.values()], "every order"),
            Route("POST", "/orders", endpoint=enter),
            Route(
                "GET",
                "/fulfillments/{ref:path}",
                lambda c: [
                    acc.fulfillment_json(str(f.id))
                    for f in acc.fulfillments.values()
                    if f.order is order_of(c.path["ref"])
                ],
                "the item fulfillments of an order",
            ),
            Route(
                "POST",
                "/cancel/{ref:path}",
                lambda c: acc.order_json(cancel(order_of(c.path["ref"]))),
                "cancel the sales order in NetSuite's UI (status C)",
            ),
            Route("POST", "/inventory", endpoint=set_inventory),
            Route("POST", "/tokens/expire", lambda _: {"expired": acc.gatekeeper.expire_tokens()}, "expire tokens"),
            Route(
                "GET",
                "/auth",
                lambda _: {
                    "verified": acc.gatekeeper.verified,
                    "refused": acc.gatekeeper.refused,
                    "tokens_issued": acc.gatekeeper.tokens_issued,
                    "concurrency_refused": acc.concurrency_refused,
                },
                "calls authenticated and refused, tokens issued, calls refused for the concurrency limit",
            ),
        ),
    )


def create_app(options: SandboxOptions, *, webhook_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    acc = Account(options, webhook_transport)
    return sandbox_app(
        f"NetSuite sandbox ({options.channel.id}, account {acc.settings.account_id})",
        acc,
        control_routes(acc),
        token_routes(acc),
        api_routes(acc),
        error_shape=error_body,
    )
