"""In-memory emulation of one Shopify shop's REST Admin API for `make run` and the tests: orders
with their fulfillment orders (one per location, derived from the line items), fulfillments that
consume what remains, products with their variants, inventory levels, the leaky-bucket call
limit, and signed webhooks delivered to Orderloop with Shopify's headers.

The API lives under `/admin/api/{version}/...`: header `X-Shopify-Access-Token` = the channel's
`access_token`, else 401; every answer carries `X-Shopify-Shop-Api-Call-Limit: used/size` and
`X-Shopify-API-Version`; a call beyond the bucket answers 429 with `Retry-After`; lists are
paginated by `Link` (`page_info` + `limit` only); errors, and every route not served, answer
`{"errors": ...}`. `GET /_sandbox` lists the routes and controls.

Webhooks go to the channel's webhook URL, signed with `webhook_secret`, with `X-Shopify-Topic`,
`-Hmac-Sha256`, `-Shop-Domain`, `-API-Version`, `-Webhook-Id` (the webhook's id in the kit's
log, beside its `event_id`), `-Event-Id`, `-Triggered-At`: `orders/create`; `orders/edited` then
`orders/updated` for an edit; `orders/paid` then `orders/updated`; `orders/cancelled` then
`orders/updated`; after a fulfillment (knob `fulfillment_webhooks`) `fulfillments/create`,
`orders/partially_fulfilled|fulfilled`, `orders/updated`.

Returns (`returns`): `POST /admin/api/{version}/graphql.json` serves the GraphQL Admin API's
returns operations (graphql-core against the connector's SDL) with its own cost bucket; a control
requests a return as a customer would (`returns/request`), others approve, decline or cancel it.

Modules: `shop` (state, knobs, the API gate, pagination, webhooks), `catalog` (locations,
products, inventory), `orders` (orders, fulfillment orders, fulfillments), `payloads` (Shopify's
JSON); this one declares the routes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from connectors.base import SandboxOptions
from connectors.sandbox_kit import Call, Route, RouteTable, SandboxError, sandbox_app
from connectors.shopify.sandbox.orders import ShopifySandbox
from connectors.shopify.sandbox.shop import ShopifyApiError, shopify_error_body

__all__ = ["ShopifySandbox", "create_app"]


def api_routes(shop: ShopifySandbox) -> RouteTable:
    def reply(key: str, find: Callable[[Call], Any], status: int = 200) -> Callable[[Call], Any]:
        return lambda call: shop.reply(call.request, {key: find(call)}, status)

    return RouteTable(
        prefix="/admin/api/{version}",
        dependencies=(shop.gate,),
        routes=(
            Route(
                "GET",
                "/orders.json",
                lambda call: shop.page(call.request, "orders", shop.filter_orders),
                "?status=open|closed|cancelled|any&ids=&since_id=&created_at_min=&updated_at_min=&updated_at_max="
                "&financial_status=&limit=",
            ),
            Route(
                "GET",
                "/orders/{order_id:int}.json",
                reply("order", lambda c: shop.order(c.path["order_id"])),
                "an order",
            ),
            Route(
                "GET",
                "/orders/{order_id:int}/fulfillment_orders.json",
                reply("fulfillment_orders", lambda c: shop.order_fulfillment_orders(c.path["order_id"])),
                "the order's fulfillment orders, one per location",
            ),
            Route(
                "GET",
                "/orders/{order_id:int}/fulfillments.json",
                lambda c: shop.page(c.request, "fulfillments", lambda _: shop.order_fulfillments(c.path["order_id"])),
                "?limit=: the order's fulfillments",
            ),
            Route(
                "GET",
                "/fulfillment_orders/{fo_id:int}.json",
                reply("fulfillment_order", lambda c: shop.fulfillment_orders.find(c.path["fo_id"])),
                "a fulfillment order with what each line has left to fulfill",
            ),
            Route(
                "POST",
                "/fulfillments.json",
                reply("fulfillment", lambda c: shop.create_fulfillment(c.body), 201),
                '{"fulfillment": {"line_items_by_fulfillment_order": [...], "tracking_info", "notify_customer"}}: '
                "201; 422 beyond what remains or for a closed fulfillment order",
            ),
            Route(
                "GET",
                "/products.json",
                lambda c: shop.page(c.request, "products", lambda _: list(shop.products.values())),
                "?fields=&limit=",
            ),
            Route(
                "GET",
                "/variants/{variant_id:int}.json",
                reply("variant", lambda c: shop.variants.find(c.path["variant_id"])),
                "a variant, with its inventory_item_id",
            ),
            Route(
                "GET", "/locations.json", reply("locations", lambda _: list(shop.locations.values())), "every location"
            ),
            Route(
                "GET",
                "/inventory_levels.json",
                reply("inventory_levels", lambda c: shop.levels_json(c.query)),
                "?inventory_item_ids=&location_ids=",
            ),
            Route(
                "POST",
                "/inventory_levels/set.json",
                reply("inventory_level", lambda c: shop.set_inventory(c.body)),
                "{location_id, inventory_item_id, available}",
            ),
        ),
    )


def graphql_routes(shop: ShopifySandbox) -> RouteTable:
    return RouteTable(
        prefix="/admin/api/{version}",
        dependencies=(shop.authorize,),
        routes=(
            Route(
                "POST",
                "/graphql.json",
                lambda call: shop.graphql(call.request, call.body),
                '{"query", "variables"?, "operationName"?}: the returns part of the GraphQL Admin API (return, '
                "returnApproveRequest, reverseFulfillmentOrderDispose), with extensions.cost; THROTTLED beyond the "
                "cost bucket",
            ),
        ),
    )


def control_routes(shop: ShopifySandbox) -> RouteTable:
    def control(action: Callable[[Call], Any]) -> Callable[[Call], Any]:
        """Controls answer in the kit's error shape (`{"error": ...}`), not Shopify's."""

        def run(call: Call) -> Any:
            try:
                return action(call)
            except ShopifyApiError as exc:
                raise SandboxError(exc.status, str(exc.errors)) from None

        return run

    def place(call: Call) -> dict[str, Any]:
        return shop.place(call.body, duplicate=call.flag("duplicate"), bad_signature=call.flag("bad_signature"))

    def add_location(call: Call) -> dict[str, Any]:
        name = call.body.get("name") if isinstance(call.body, dict) else None
        return shop.add_location(str(name or f"Sandbox location {len(shop.locations) + 1}"))

    def fulfillments(call: Call) -> list[dict[str, Any]]:
        order = call.query.get("order")
        return [f for f in shop.fulfillments.values() if order is None or str(f["order_id"]) == order]

    return RouteTable(
        prefix="/_sandbox",
        routes=(
            Route(
                "POST",
                "/orders",
                control(place),
                '?duplicate=&bad_signature=: place an order, 201 with the Shopify order JSON: {"line_items": [{"sku", '
                '"quantity", "price"?, "requires_shipping"?, "gift_card"?, "location_id"?}], "shipping_address", '
                '"email"?, "customer"?, "financial_status"? (paid), "tags"?, "shipping_line"?, "note"?, "currency"?, '
                '"created_at"?}; the onX names (lineItems, shippingAddress, unitPrice, ...) are accepted too',
                status=201,
            ),
            Route("GET", "/orders", lambda _: list(shop.orders.values()), "every order"),
            Route("GET", "/orders/{order_id:int}", control(lambda c: shop.order(c.path["order_id"])), "one order"),
            Route(
                "POST",
                "/orders/{order_id:int}/edit",
                control(lambda c: shop.edit(c.path["order_id"], c.body, duplicate=c.flag("duplicate"))),
                '{"line_items": [{"id" | "sku", "quantity"}], "shipping_address"?, "tags"?, "note"?, "email"?}: '
                "a SKU sets its unfulfilled line, or adds a line",
            ),
            Route(
                "POST",
                "/orders/{order_id:int}/pay",
                control(lambda c: shop.pay(c.path["order_id"], duplicate=c.flag("duplicate"))),
                "financial_status -> paid",
            ),
            Route(
                "POST",
                "/orders/{order_id:int}/cancel",
                control(lambda c: shop.cancel(c.path["order_id"], c.body, duplicate=c.flag("duplicate"))),
                '{"reason"?}: customer, fraud, inventory, declined, other or staff',
            ),
            Route("GET", "/products", lambda _: list(shop.products.values()), "every product"),
            Route(
                "POST",
                "/products",
                lambda c: [shop.add_product(spec) for spec in (c.body if isinstance(c.body, list) else [c.body])],
                '{"sku", "title"?, "price"?, "available"?, "tracked"?, "requires_shipping"?} or a list of them',
                status=201,
            ),
            Route("POST", "/locations", add_location, '{"name"?}: another location', status=201),
            Route(
                "GET",
                "/inventory",
                lambda _: {"levels": shop.inventory_by_sku(), "history": list(shop.inventory_log)},
                "levels by SKU and location, and their history",
            ),
            Route("GET", "/fulfillments", fulfillments, "?order=: the fulfillments created"),
            Route(
                "POST",
                "/orders/{order_id:int}/returns",
                control(
                    lambda c: shop.request_return(
                        c.path["order_id"], c.body, duplicate=c.flag("duplicate"), bad_signature=c.flag("bad_signature")
                    )
                ),
                '?duplicate=&bad_signature=: the customer requests a return of fulfilled units: {"line_items": '
                '[{"sku" | "line_item_id", "quantity", "reason"?, "note"?}]} (returns/request)',
                status=201,
            ),
            Route("GET", "/returns", lambda _: shop.returns_json(), "every return with its dispositions"),
            Route(
                "POST",
                "/returns/{return_id:int}/approve",
                control(lambda c: shop.approve(shop.find_return(c.path["return_id"]))),
                "the merchant approves a requested return (returns/approve)",
            ),
            Route(
                "POST",
                "/returns/{return_id:int}/decline",
                control(lambda c: shop.decline(shop.find_return(c.path["return_id"]), c.body)),
                '{"note"?}: the merchant declines a requested return (returns/decline)',
            ),
            Route(
                "POST",
                "/returns/{return_id:int}/cancel",
                control(lambda c: shop.cancel_return(shop.find_return(c.path["return_id"]))),
                "the return is cancelled before anything was disposed (returns/cancel)",
            ),
        ),
    )


def create_app(options: SandboxOptions) -> FastAPI:
    shop = ShopifySandbox(options)
    return sandbox_app(
        f"Shopify sandbox ({options.channel.id})",
        shop,
        api_routes(shop),
        graphql_routes(shop),
        control_routes(shop),
        error_shape=shopify_error_body,
        api_headers=shop.api_headers,
    )
