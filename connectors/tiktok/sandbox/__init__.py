"""In-memory emulation of one TikTok Shop's Partner API (version 202309) and its auth host for
`make run` and the tests: orders with one line item per unit, the buyer's remorse window
(`ON_HOLD` for the knob `on_hold_seconds`, then `AWAITING_SHIPMENT`), packages marked shipped by
the seller, buyer cancellation requests the seller approves or rejects before
`cancel_order_sla_time`, recipient address updates, live products with inventory per SKU and
warehouse, returns (the returns search, the seller's approve and reject decisions, the buyer's
return request, parcel and withdrawal as controls), and notifications signed as TikTok signs them.

Every API call passes the gate: `app_key`, a `timestamp` within five minutes, `sign` (path,
sorted query without `sign`/`access_token`, raw body, wrapped in the app secret, hex
HMAC-SHA256), the `x-tts-access-token` header (a token from the refresh, until its
`access_token_expire_in`; else code 105001/105002), `shop_cipher` where the path takes one, and
a per-second window per path (HTTP 429, code 36009004). Every answer is TikTok's envelope
`{code, message, request_id, data}`; a business refusal is HTTP 200 with a non-zero code. The
auth host's `GET /api/v2/token/refresh` is served on the same port. `GET /_sandbox` lists the
routes and controls.

Modules: `shop` (state, gate, tokens, catalogue, webhooks), `orders` (orders, packages,
cancellations), `returns` (returns); this one declares the routes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from connectors.base import SandboxOptions
from connectors.sandbox_kit import Call, Route, RouteTable, SandboxError, sandbox_app
from connectors.tiktok.client import API_VERSION, TOKEN_REFRESH_PATH
from connectors.tiktok.sandbox.orders import TikTokSandbox
from connectors.tiktok.sandbox.shop import TikTokApiError, envelope, invalid, tiktok_error_body

__all__ = ["TikTokSandbox", "create_app"]


def api_routes(shop: TikTokSandbox) -> RouteTable:
    def ok(result: Callable[[Call], Any]) -> Callable[[Call], Any]:
        return lambda call: envelope(result(call))

    v = API_VERSION
    return RouteTable(
        dependencies=(shop.gate,),
        invalid_json=lambda reason: invalid(reason),
        routes=(
            Route(
                "POST",
                f"/order/{v}/orders/search",
                ok(lambda c: shop.search_orders(c.query, c.body)),
                "?page_size=&page_token=&sort_field=&sort_order=; {create_time_ge/lt, update_time_ge/lt, order_status}",
            ),
            Route("GET", f"/order/{v}/orders", ok(lambda c: shop.get_orders(c.query)), "?ids=a,b: orders by id"),
            Route(
                "POST",
                f"/fulfillment/{v}/orders/{{order_id}}/packages",
                ok(lambda c: shop.mark_package_shipped(c.path["order_id"], c.body)),
                "{order_line_item_ids, tracking_number, shipping_provider_id}: mark a package shipped (seller ships)",
            ),
            Route(
                "GET",
                f"/logistics/{v}/delivery_options/{{delivery_option_id}}/shipping_providers",
                ok(lambda c: shop.shipping_providers(c.path["delivery_option_id"])),
                "the shipping providers of a delivery option",
            ),
            Route("GET", f"/logistics/{v}/warehouses", ok(lambda _: shop.warehouses()), "the shop's warehouses"),
            Route(
                "POST",
                f"/product/{v}/products/search",
                ok(lambda c: shop.search_products(c.query, c.body)),
                "?page_size=&page_token=; {status}: products with their SKUs",
            ),
            Route(
                "POST",
                f"/product/{v}/products/{{product_id}}/inventory/update",
                ok(lambda c: shop.update_inventory(c.path["product_id"], c.body)),
                "{skus: [{id, inventory: [{warehouse_id, quantity}]}]}: per-SKU errors in data.errors",
            ),
            Route(
                "POST",
                f"/return_refund/{v}/cancellations/search",
                ok(lambda c: shop.search_cancellations(c.query, c.body)),
                "?page_size=&page_token=; {order_ids, cancel_ids, cancel_status}",
            ),
            Route(
                "POST",
                f"/return_refund/{v}/cancellations/{{cancel_id}}/approve",
                ok(lambda c: shop.approve(c.path["cancel_id"], c.query)),
                "?idempotency_key=: approve a buyer's cancellation request (the order is cancelled)",
            ),
            Route(
                "POST",
                f"/return_refund/{v}/cancellations/{{cancel_id}}/reject",
                ok(lambda c: shop.reject(c.path["cancel_id"], c.query, c.body)),
                "?idempotency_key=; {reject_reason, comment}: reject it (the order ships)",
            ),
            Route(
                "POST",
                f"/return_refund/{v}/returns/search",
                ok(lambda c: shop.returns.search(c.query, c.body)),
                "?page_size=10-50&page_token=&sort_field=&sort_order=; {return_ids, order_ids, return_status, "
                "return_types, create_time_ge/lt, update_time_ge/lt}: data.return_orders",
            ),
            Route(
                "POST",
                f"/return_refund/{v}/returns/{{return_id}}/approve",
                ok(lambda c: shop.returns.approve(c.path["return_id"], c.query, c.body)),
                "?idempotency_key=; {decision: APPROVE_RETURN | APPROVE_REFUND | APPROVE_RECEIVED_PACKAGE}",
            ),
            Route(
                "POST",
                f"/return_refund/{v}/returns/{{return_id}}/reject",
                ok(lambda c: shop.returns.reject(c.path["return_id"], c.query, c.body)),
                "?idempotency_key=; {decision: REJECT_RETURN | REJECT_REFUND | REJECT_RECEIVED_PACKAGE, "
                "reject_reason, comment?}",
            ),
        ),
    )


def auth_routes(shop: TikTokSandbox) -> RouteTable:
    return RouteTable(
        routes=(
            Route(
                "GET",
                TOKEN_REFRESH_PATH,
                lambda c: shop.refresh(c.query),
                "?app_key&app_secret&refresh_token&grant_type=refresh_token (the auth host)",
            ),
        ),
    )


def control_routes(shop: TikTokSandbox) -> RouteTable:
    def control(action: Callable[[Call], Any]) -> Callable[[Call], Any]:
        """Controls answer in the kit's error shape, not TikTok's."""

        def run(call: Call) -> Any:
            try:
                return action(call)
            except TikTokApiError as exc:
                raise SandboxError(exc.status if exc.status >= 400 else 409, exc.message) from None

        return run

    def place(call: Call) -> Any:
        order = shop.place(call.body, duplicate=call.flag("duplicate"), bad_signature=call.flag("bad_signature"))
        return JSONResponse(order, status_code=201)

    def packages(call: Call) -> list[dict[str, Any]]:
        order = call.query.get("order")
        return [p for p in shop.packages.values() if order is None or p["order_id"] == order]

    def add_product(call: Call) -> Any:
        body = call.body if isinstance(call.body, dict) else {}
        sku = body.get("seller_sku") or body.get("sku")
        if not isinstance(sku, str) or not sku.strip():
            raise SandboxError(422, "seller_sku is required")
        return shop.add_product(
            sku.strip(), body.get("title"), str(body.get("price") or "10.00"), body.get("live", True)
        )

    def open_return(call: Call) -> Any:
        opened = shop.returns.open(
            call.path["order_id"], call.body, duplicate=call.flag("duplicate"), bad_signature=call.flag("bad_signature")
        )
        return JSONResponse(opened, status_code=201)

    def decisions(call: Call) -> list[dict[str, Any]]:
        wanted = call.query.get("return_id")
        return [d for d in shop.returns.decisions if wanted is None or d["return_id"] == wanted]

    o = "/orders/{order_id}"
    r = "/returns/{return_id}"
    return RouteTable(
        prefix="/_sandbox",
        routes=(
            Route(
                "POST",
                "/orders",
                control(place),
                '?duplicate=&bad_signature=: place an order (201, the TikTok order): {"line_items": [{"sku", '
                '"quantity", "price"?}], "shipping_address", "email"?, "unpaid"?, "fulfillment_type"?}; onX names too',
            ),
            Route("GET", "/orders", lambda _: list(shop.orders.values()), "every order"),
            Route("GET", o, control(lambda c: shop.order(c.path["order_id"])), "one order"),
            Route("POST", f"{o}/release", control(lambda c: shop.end_hold(c.path["order_id"])), "end ON_HOLD now"),
            Route("POST", f"{o}/pay", control(lambda c: shop.pay(c.path["order_id"])), "UNPAID -> paid"),
            Route(
                "POST",
                f"{o}/buyer_cancel",
                control(lambda c: shop.buyer_cancel(c.path["order_id"], c.body)),
                '{"reason"?}: cancelled at once while ON_HOLD, else a request for the seller to approve or reject',
            ),
            Route(
                "POST",
                f"{o}/address",
                control(lambda c: shop.update_address(c.path["order_id"], c.body)),
                "{address}: the buyer changes the recipient address (RECIPIENT_ADDRESS_UPDATE)",
            ),
            Route(
                "POST",
                f"{o}/returns",
                open_return,
                "?duplicate=&bad_signature=: the buyer asks to return shipped line items (201, the return): "
                '{"line_items": [{"sku", "quantity"}]} or {"order_line_item_ids"}, "reason"?, "return_type"?',
            ),
            Route("GET", "/returns", lambda _: list(shop.returns.returns.values()), "every return"),
            Route("GET", "/returns/decisions", decisions, "?return_id=: the seller's decisions TikTok applied"),
            Route(
                "POST",
                f"{r}/ship",
                lambda c: shop.returns.ship(c.path["return_id"], c.body),
                '{"tracking_number"?, "provider"?}: the buyer ships the approved return back (BUYER_SHIPPED_ITEM)',
            ),
            Route(
                "POST",
                f"{r}/cancel",
                lambda c: shop.returns.cancel(c.path["return_id"]),
                "the buyer withdraws the request (RETURN_OR_REFUND_REQUEST_CANCEL)",
            ),
            Route("GET", "/packages", packages, "?order=: the packages marked shipped"),
            Route("GET", "/cancellations", lambda _: list(shop.cancellations.values()), "every cancellation"),
            Route(
                "GET",
                "/inventory",
                lambda _: {"levels": shop.inventory_by_sku(), "history": list(shop.inventory_log)},
                "quantity by seller SKU, and the updates",
            ),
            Route(
                "POST",
                "/products",
                add_product,
                '{"seller_sku", "title"?, "price"?, "live"?}: a product (live: ACTIVATE)',
                status=201,
            ),
            Route("POST", "/tokens/expire", lambda _: {"expired": shop.expire_tokens()}, "expire every access token"),
        ),
    )


def create_app(options: SandboxOptions) -> FastAPI:
    shop = TikTokSandbox(options)
    return sandbox_app(
        f"TikTok Shop sandbox ({options.channel.id})",
        shop,
        api_routes(shop),
        auth_routes(shop),
        control_routes(shop),
        error_shape=tiktok_error_body,
    )
