"""In-memory emulation of ShipBob's dated REST API for `make run` and the tests: orders keyed by
a unique `reference_id`, one or two shipments per order (a split order), labels after `ship_delay`
seconds, cancel refused once a shipment is picked, inventory per fulfillment center, a sliding
150-requests-per-minute limit, and Standard-Webhooks-signed `order.shipped` /
`order.shipment.cancelled` / `order.shipment.delivered` / `order.shipment.on_hold` /
`order.shipment.exception` deliveries to Orderloop's webhook, and return orders
(`POST /return`, unique `reference_id`; arriving and processed by controls with
`return.created` / `return.updated` / `return.completed`) (a hold by `POST /_sandbox/hold`,
released by labelling: ShipBob sends no release event).

The API takes any of the versions `2026-01`, `2026-07` in the path; Bearer token = the channel's
`api_token`; the channel's `settings.channel_id` is the merchant's only channel; 429
`{"statusCode": 429, "message": ...}` with `x-retry-after` once over the limit,
`x-remaining-calls` on every answer; validation errors `{"field": [reason]}`; every route not
served answers in the 429's shape. A webhook's id in the kit's log is its `webhook-id`; every
attempt is signed when it is made, so a held or redelivered webhook carries a fresh
`webhook-timestamp`. `GET /_sandbox` lists the routes and controls.

Modules: `merchant` (state, knobs, the API gate, webhooks), `inventory` (products, stock per
center), `orders` (orders, shipments, fulfilment), `payloads` (ShipBob's JSON); this one declares
the routes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import httpx
from fastapi import FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from connectors.base import SandboxOptions
from connectors.sandbox_kit import Call, Route, RouteTable, numbered_page, sandbox_app
from connectors.shipbob.client import CHANNEL_HEADER
from connectors.shipbob.sandbox.inventory import link_page
from connectors.shipbob.sandbox.merchant import (
    ShipBobApiError,
    StockKnob,
    check_stock,
    invalid,
    shipbob_error_body,
    validation_error,
)
from connectors.shipbob.sandbox.orders import ShipBobSandbox

__all__ = ["ShipBobSandbox", "create_app"]

PageSize = Annotated[int, Query(alias="PageSize", ge=1, le=250)]
Cursor = Annotated[int, Query(alias="Cursor", ge=0)]
SCOPES = ["orders_read", "orders_write", "inventory_read", "webhooks_read", "webhooks_write"]


def int_param(call: Call, name: str) -> int:
    """A path parameter that must be an integer: 400 `{name: [reason]}` otherwise, as ShipBob's
    model binding (and FastAPI's validation, which the other routes use) answers."""
    try:
        return int(call.path[name])
    except ValueError:
        raise invalid(400, name, "Input should be a valid integer, unable to parse string as an integer") from None


def page_of(response: Response, found: list[dict[str, Any]], page: int, limit: int) -> list[dict[str, Any]]:
    """One page of a list, with ShipBob's `page-number`, `total-pages`, `total-count` headers."""
    rows, pages = numbered_page(found, page, limit)
    response.headers.update({"page-number": str(page), "total-pages": str(pages), "total-count": str(len(found))})
    return rows


def api_routes(sb: ShipBobSandbox) -> RouteTable:
    def create_order(call: Call) -> dict[str, Any]:
        channel = sb.check_channel(call.request.headers.get(CHANNEL_HEADER), required=True)
        assert channel is not None
        return sb.create(channel, call.body)

    async def list_orders(
        request: Request,
        response: Response,
        page: Annotated[int, Query(alias="Page", ge=1)] = 1,
        limit: Annotated[int, Query(alias="Limit", ge=1, le=250)] = 50,
        ids: Annotated[str | None, Query(alias="IDs")] = None,
        references: Annotated[str | None, Query(alias="ReferenceIds")] = None,
        has_tracking: Annotated[bool | None, Query(alias="HasTracking")] = None,
    ) -> list[dict[str, Any]]:
        """?ReferenceIds=&IDs=&HasTracking=&Page=&Limit=: [order, ...] with page headers"""
        channel = sb.check_channel(request.headers.get(CHANNEL_HEADER), required=False)
        found = sb.list_orders(channel, ids, references, has_tracking)
        return page_of(response, [o.to_json() for o in found], page, limit)

    async def inventory_levels(request: Request, page_size: PageSize = 50, cursor: Cursor = 0) -> dict[str, Any]:
        """?PageSize=&Cursor=: {items: [{sku, total_*_quantity}], first, prev, next, last}"""
        return link_page(request, sb.inventory_totals(), page_size, cursor)

    async def inventory_by_center(
        request: Request,
        page_size: PageSize = 50,
        cursor: Cursor = 0,
        location_id: Annotated[int | None, Query(alias="LocationId")] = None,
    ) -> dict[str, Any]:
        """?PageSize=&Cursor=&LocationId=: {items: [{sku, locations: [...]}], first, prev, next, last}"""
        rows = sb.inventory_by_center()
        if location_id is not None:
            rows = [
                {**row, "locations": [loc for loc in row["locations"] if loc["location_id"] == location_id]}
                for row in rows
            ]
            rows = [row for row in rows if row["locations"]]
        return link_page(request, rows, page_size, cursor)

    def create_return(call: Call) -> dict[str, Any]:
        channel = sb.check_channel(call.request.headers.get(CHANNEL_HEADER), required=True)
        assert channel is not None
        return sb.create_return(channel, call.body)

    async def list_returns(
        request: Request,
        response: Response,
        page: Annotated[int, Query(alias="Page", ge=1)] = 1,
        limit: Annotated[int, Query(alias="Limit", ge=1, le=250)] = 50,
        ids: Annotated[str | None, Query(alias="IDs")] = None,
        references: Annotated[str | None, Query(alias="ReferenceIds")] = None,
        statuses: Annotated[str | None, Query(alias="Status")] = None,
    ) -> list[dict[str, Any]]:
        """?ReferenceIds=&IDs=&Status=&Page=&Limit=: [return order, ...] with page headers"""
        return page_of(response, [r.to_json() for r in sb.list_returns(references, ids, statuses)], page, limit)

    def order_id(call: Call) -> int:
        return int_param(call, "order_id")

    channel = {"id": sb.channel_id, "name": sb.channel_name, "application_name": "Orderloop", "scopes": SCOPES}
    return RouteTable(
        prefix="/{version}",
        dependencies=(sb.authenticate, sb.rate_limit, sb.known_version),
        invalid_json=lambda reason: invalid(400, "", reason),
        routes=(
            Route("GET", "/channel", lambda _: [channel], "[{id, name, application_name, scopes}]"),
            Route(
                "POST",
                "/order",
                create_order,
                "shipbob_channel_id required; 201 order, 400 malformed, 422 {field: [reason]}: duplicate "
                "reference_id, address, unknown product (no name to create it)",
                status=201,
            ),
            Route("GET", "/order", endpoint=list_orders),
            Route("GET", "/order/{order_id}", lambda c: sb.order(order_id(c)).to_json(), "an order with its shipments"),
            Route(
                "GET",
                "/order/{order_id}/shipment",
                lambda c: [s.to_json() for s in sb.order(order_id(c)).shipments],
                "[shipment, ...]",
            ),
            Route(
                "POST",
                "/order/{order_id}:cancel",
                lambda c: sb.cancel(sb.order(order_id(c))),
                "200 {order_id, status: Success|PartialSuccess|Failure, canceled_shipment_results, order}; "
                "422 if already cancelled",
            ),
            Route(
                "GET",
                "/shipment/{shipment_id}",
                lambda c: sb.shipments.find(int_param(c, "shipment_id")).to_json(),
                "a shipment",
            ),
            Route(
                "POST",
                "/return",
                create_return,
                "shipbob_channel_id required; {reference_id, fulfillment_center: {id}, inventory: [{id, quantity, "
                "requested_action}], tracking_number?, original_shipment_id?}: 201 return order, 400 malformed, 422 "
                "duplicate reference_id, unknown center or inventory id, an inventory id twice",
                status=201,
            ),
            Route("GET", "/return", endpoint=list_returns),
            Route(
                "GET",
                "/return/{return_id}",
                lambda c: sb.returns.find(int_param(c, "return_id")).to_json(),
                "a return order with each inventory item's action_requested and action_taken",
            ),
            Route("GET", "/inventory-level", endpoint=inventory_levels),
            Route("GET", "/inventory-level/locations", endpoint=inventory_by_center),
        ),
    )


def control_routes(sb: ShipBobSandbox) -> RouteTable:
    async def ship_now(
        ref: str,
        parts: Annotated[int, Query(ge=1, le=2)] = 1,
        count: Annotated[int | None, Query(ge=1)] = None,
    ) -> dict[str, Any]:
        """?parts=1|2&count=n: label what is pending now (parts=2 splits it first; count labels only
        the first n shipments); {ref} is ShipBob's order id or its reference_id"""
        order = sb.find(ref)
        shipped = sb.ship_order(order, parts, count)
        if not shipped:
            raise ShipBobApiError(409, {"message": f"order {order.id} is {order.status.value}: nothing to ship"})
        return {"shipments": shipped, "order": order.to_json()}

    async def pick(ref: str, stage: Annotated[Literal["Picked", "Packed"], Query()] = "Picked") -> dict[str, Any]:
        """?stage=Picked|Packed: pending shipments can no longer be cancelled"""
        order = sb.find(ref)
        return {"shipments": sb.pick(order, stage), "order": order.to_json()}

    def hold(call: Call) -> dict[str, Any]:
        order = sb.find(call.path["ref"])
        body = call.body if isinstance(call.body, dict) else {}
        reason = str(body.get("reason") or "held at the fulfillment center")
        return {"shipments": sb.hold(order, reason, bool(body.get("exception"))), "order": order.to_json()}

    def deliver(call: Call) -> dict[str, Any]:
        order = sb.find(call.path["ref"])
        return {"shipments": sb.deliver(order), "order": order.to_json()}

    async def set_stock(stock: StockKnob, replace: bool = False) -> list[dict[str, Any]]:
        """{sku: n} (every center) or {center_id: {sku: n}}; ?replace=true"""
        try:
            check_stock(stock)
        except ValueError as exc:
            raise invalid(400, "stock", str(exc)) from None
        sb.set_stock(stock, replace=replace)
        return sb.inventory_by_center()

    return RouteTable(
        prefix="/_sandbox",
        routes=(
            Route("POST", "/ship/{ref:path}", endpoint=ship_now),
            Route("POST", "/pick/{ref:path}", endpoint=pick),
            Route("POST", "/deliver/{ref:path}", deliver, "shipped shipments delivered (order.shipment.delivered)"),
            Route(
                "POST",
                "/hold/{ref:path}",
                hold,
                '{"reason", "exception": bool}: pending shipments held until `ship` (order.shipment.on_hold, '
                "or order.shipment.exception)",
            ),
            Route(
                "POST",
                "/returns/{ref:path}/arrive",
                lambda c: sb.arrive(sb.find_return(c.path["ref"])),
                "the parcel arrived at the center: Arrived (return.updated); {ref} is the id or reference_id",
            ),
            Route(
                "POST",
                "/returns/{ref:path}/process",
                lambda c: sb.process(sb.find_return(c.path["ref"]), c.body),
                '{"actions": [{"sku", "action": Restock|Quarantine|Dispose, "quantity"?, "reason"?}], "complete"?}: '
                "the staff process the units (all Restocked without actions); Completed (return.completed), or "
                "Processing (return.updated) with complete=false; units left unprocessed were not in the parcel",
            ),
            Route("GET", "/returns", lambda _: [r.to_json() for r in sb.returns.values()], "every return order"),
            Route("GET", "/orders", lambda _: [o.to_json() for o in sb.orders.values()], "every order"),
            Route("GET", "/stock", lambda _: sb.inventory_by_center(), "stock per center"),
            Route("POST", "/stock", endpoint=set_stock),
        ),
    )


def create_app(options: SandboxOptions, *, webhook_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    sb = ShipBobSandbox(options, webhook_transport)
    app = sandbox_app(
        f"ShipBob sandbox ({options.channel.id})",
        sb,
        control_routes(sb),
        api_routes(sb),
        error_shape=shipbob_error_body,
    )
    app.add_exception_handler(RequestValidationError, validation_error)
    return app
