"""In-memory emulation of ShipHero's public GraphQL API for `make run` and the tests:
`POST /auth/token` and `POST /auth/refresh` hand out bearer tokens that expire after `token_ttl`
(28 days; HTTP 401 once expired), `POST /graphql` executes requests with graphql-core against
the schema the client validates its documents with, answers every GraphQL error with HTTP 200
and `errors[{message, operation, field, request_id, code}]`, charges complexity credits from a
bucket (4,004 restored at 60 a second; a query costs 1 plus the nodes it returns, a mutation
`mutation_cost`) and refuses a request the bucket cannot pay with code 30 "not enough credits ...
Try again in N seconds", and caps requests at 7,000 per 5 minutes with 429 and Retry-After.

Orders keyed by `partner_order_id` (not unique at ShipHero: a client must look before it
creates), labels after `ship_delay` in `packages` packages, one Shipment Update webhook each,
signed `X-ShipHero-HMAC-SHA256` (base64 HMAC of the body) under `X-Shiphero-Message-ID`, retried
5 times; `drop_webhooks` logs them without sending (lost deliveries, for polling);
`lose_create_answers` creates, then answers 504 (a retried create must find the order). Cancel refused
once picked (`POST /_sandbox/pick/{ref}`) or shipped. Routes not served answer in ShipHero's
`errors[]` shape. `GET /_sandbox` lists the routes and controls.

Returns (`returns`): `return_create` on a shipped order (each sku a line of it, never more units
than shipped and not yet returned; `partner_id` kept, not unique, as at ShipHero), the `return`
and `returns` queries, a Return Update webhook on every change, and the customer's and the
warehouse's sides as controls: `POST /_sandbox/returns/{ref}/ship` (picked up by the carrier),
`POST /_sandbox/returns/{ref}/receive` (units received, restocked or not, with their
condition; the status set to Warehouse Complete unless `complete` is false), `GET
/_sandbox/returns`. `lose_return_answers` loses `return_create` answers like `lose_create_answers`.

Modules: `account` (state, knobs, the gate, webhooks), `orders` (orders, fulfilment, the GraphQL
root), `returns` (RMAs); this one declares the routes and executes GraphQL."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, graphql_sync, parse

from connectors.base import SandboxOptions
from connectors.sandbox_kit import Call, Route, RouteTable, sandbox_app
from connectors.shiphero.sandbox.account import ShipHeroApiError, gql_errors, request_id
from connectors.shiphero.sandbox.returns import ShipHeroReturns, return_control_routes
from connectors.shiphero.schema import schema

__all__ = ["ShipHeroReturns", "create_app"]


def shiphero_error_body(status: int, message: str) -> dict[str, Any]:
    return gql_errors(message, status)


def _count_nodes(value: Any) -> int:
    if isinstance(value, dict):
        return ("id" in value or "sku" in value) + sum(_count_nodes(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_nodes(v) for v in value)
    return 0


def _error(error: GraphQLError, operation: str | None) -> dict[str, Any]:
    original = error.original_error
    if isinstance(original, ShipHeroApiError):
        [body] = original.body["errors"]
        return dict(body)
    return {
        "message": error.message,
        "operation": operation,
        "field": operation,
        "request_id": request_id(),
        "code": 22,
    }


def execute(sb: ShipHeroReturns, body: Any) -> JSONResponse:
    """One GraphQL request: parsed, paid for in credits, executed, its complexity filled in."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return JSONResponse(gql_errors("Must provide query string.", 400), status_code=400)
    try:
        document = parse(body["query"])
    except GraphQLError as exc:
        return JSONResponse(gql_errors(f"Syntax Error: {exc.message}", 400), status_code=400)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    mutation = any(op.operation is OperationType.MUTATION for op in operations)
    fields = [s.name.value for op in operations for s in op.selection_set.selections if isinstance(s, FieldNode)]
    name = fields[0] if fields else None
    knobs = sb.knobs.value
    throttled = sb.throttled(knobs.mutation_cost if mutation else 1, name or "query")
    if throttled is not None:
        return JSONResponse(throttled)
    outcome = graphql_sync(
        schema(),
        body["query"],
        root_value=sb.root(),
        variable_values=body.get("variables") or None,
        operation_name=body.get("operationName"),
    )
    data = outcome.data or None
    cost = 0
    for field in fields:
        part = (data or {}).get(field)
        charged = knobs.mutation_cost if mutation else 1 + _count_nodes((part or {}).get("data"))
        cost += charged
        if isinstance(part, dict) and "complexity" in part:
            part["complexity"] = charged
    sb.charge(cost)
    for mutation_name, knob in (("order_create", "lose_create_answers"), ("return_create", "lose_return_answers")):
        left = getattr(knobs, knob)
        if mutation_name in fields and not outcome.errors and left:
            sb.knobs.update({knob: left - 1})
            return JSONResponse(gql_errors("Gateway Timeout", 504), status_code=504)
    answer: dict[str, Any] = {"data": data}
    if outcome.errors:
        answer["errors"] = [_error(e, name) for e in outcome.errors]
    return JSONResponse(answer)


def api_routes(sb: ShipHeroReturns) -> RouteTable:
    def token(call: Call) -> dict[str, Any]:
        given = call.body if isinstance(call.body, dict) else {}
        expected = sb.login
        if expected is None or (given.get("username"), given.get("password")) != expected:
            raise ShipHeroApiError(403, {"error": "access_denied", "error_description": "Wrong email or password."})
        return {**sb.issue_token(), "refresh_token": sb.refresh_token or secrets.token_urlsafe(24)}

    def refresh(call: Call) -> dict[str, Any]:
        given = call.body.get("refresh_token") if isinstance(call.body, dict) else None
        if not sb.refresh_token or not isinstance(given, str) or not secrets.compare_digest(given, sb.refresh_token):
            raise ShipHeroApiError(
                403, {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}
            )
        return sb.issue_token()

    def graphql_endpoint(call: Call) -> JSONResponse:
        sb.count_request()
        sb.check_token(call.request.headers.get("authorization"))
        return execute(sb, call.body)

    return RouteTable(
        routes=(
            Route(
                "POST", "/auth/token", token, "{username, password} -> {access_token, expires_in, refresh_token}; 403"
            ),
            Route(
                "POST",
                "/auth/refresh",
                refresh,
                "{refresh_token} -> {access_token, expires_in, scope, token_type}; 403",
            ),
            Route(
                "POST",
                "/graphql",
                graphql_endpoint,
                "{query, variables, operationName}: 200 {data, errors?}; 401 expired token; 429 over the request cap",
            ),
        ),
        invalid_json=lambda reason: ShipHeroApiError(400, gql_errors(reason, 400)),
    )


def control_routes(sb: ShipHeroReturns) -> RouteTable:
    def ship(call: Call) -> dict[str, Any]:
        order = sb.find(call.path["ref"])
        packages = int(call.query.get("packages") or 0) or None
        shipped = sb.ship(order, packages)
        if not shipped:
            raise ShipHeroApiError(409, {"error": f"order {order.legacy_id} is {order.status}: nothing to ship"})
        return {"shipments": shipped, "order": sb.order_json(order) | {"line_items": None}}

    def pick(call: Call) -> dict[str, Any]:
        order = sb.find(call.path["ref"])
        sb.pick(order)
        return {"picked": order.picked, "fulfillment_status": order.status}

    def set_stock(call: Call) -> dict[str, Any]:
        body = call.body if isinstance(call.body, dict) else {}
        for warehouse, levels in body.items():
            if warehouse not in sb.warehouses or not isinstance(levels, dict):
                raise ShipHeroApiError(422, {"error": f"{warehouse!r} is not a warehouse id with {{sku: n}}"})
        if call.flag("replace"):
            sb.stock = {warehouse: {} for warehouse in sb.warehouses}
        for warehouse, levels in body.items():
            sb.stock[warehouse].update({str(k): int(v) for k, v in levels.items()})
        return {"stock": sb.stock}

    def orders(_: Call) -> list[dict[str, Any]]:
        return [sb.order_json(o) | {"line_items": None, "picked": o.picked} for o in sb.orders.values()]

    return RouteTable(
        prefix="/_sandbox",
        routes=(
            Route(
                "POST",
                "/ship/{ref:path}",
                ship,
                "?packages=n: label the order now (ref: id, legacy id or partner_order_id)",
            ),
            Route("POST", "/pick/{ref:path}", pick, "the order is being picked: order_cancel is refused from now on"),
            Route("GET", "/orders", orders, "every order"),
            Route("GET", "/stock", lambda _: {"stock": sb.stock}, "on hand per warehouse"),
            Route("POST", "/stock", set_stock, "{warehouse_id: {sku: n}}; ?replace=true empties every warehouse first"),
            *return_control_routes(sb),
        ),
    )


def create_app(options: SandboxOptions, *, webhook_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    sb = ShipHeroReturns(options, webhook_transport)
    return sandbox_app(
        f"ShipHero sandbox ({options.channel.id})",
        sb,
        control_routes(sb),
        api_routes(sb),
        error_shape=shiphero_error_body,
    )
