"""In-memory emulation of one BigCommerce store's REST Management API for `make run` and the
tests: orders with their products and shipping addresses (several addresses per order on
demand), shipments that consume what each product has left to ship and move the order to
Partially Shipped (3) or Shipped (2), the inventory's absolute adjustments, the store's request
quota, and thin webhooks signed with the Standard Webhooks scheme.

The API lives under `/stores/{store_hash}/v2|v3/...`: header `X-Auth-Token` = the channel's
`access_token`, else 401; another store hash answers 404; every answer carries
`X-Rate-Limit-Time-Window-Ms`, `-Time-Reset-Ms`, `-Requests-Quota`, `-Requests-Left` (150 per 30 s by
default), a call beyond the quota answers 429 with them, and the knob `platform_overload` answers
429 without them; v2 errors are `[{"status", "message"}]`, v3 errors (and every route not served)
`{"status", "title", "type", "errors"}`; v2 lists page by `page` and `limit` (at most 250, 413
beyond) and answer 204 No Content past the end. `GET /_sandbox` lists the routes and controls.

Webhooks go to the channel's webhook URL with `webhook-id`, `webhook-timestamp` and
`webhook-signature` (keyed by the client secret), bodies `{"scope", "store_id", "data", "hash",
"created_at", "producer"}`: `store/order/created` for every order placed (incomplete ones too),
`store/order/statusUpdated` then `store/order/updated` for a status change, `store/shipment/created`
then the status change for a shipment; the knob `double_fire` sends each twice under two
webhook-ids with one hash.

Not emulated: the v3 orders API, order edits other than the status (`PUT` applies `status_id`
only), refunds, consignments (pickup, digital), coupons, taxes, metafields, the catalog API, hook
registration (`/v3/hooks`) and its deactivation after 48 h of failures (the kit retries a failed
delivery a few times; the poll covers the rest), and the blocklisting of a failing domain.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from connectors.base import SandboxOptions
from connectors.bigcommerce.sandbox.orders import BigCommerceSandbox
from connectors.bigcommerce.sandbox.store import BigCommerceApiError, v3_error_shape
from connectors.sandbox_kit import Call, Route, RouteTable, SandboxError, sandbox_app

__all__ = ["BigCommerceSandbox", "create_app"]


def api_routes(store: BigCommerceSandbox) -> RouteTable:
    def order_id(call: Call) -> int:
        return int(call.path["order_id"])

    return RouteTable(
        prefix="/stores/{store_hash}",
        dependencies=(store.gate,),
        invalid_json=lambda reason: BigCommerceApiError(400, f"The request body is not valid JSON: {reason}"),
        headers=store.api_headers,
        routes=(
            Route(
                "GET",
                "/v2/orders",
                lambda c: store.page(c.request, store.list_orders(dict(c.query))),
                "?min_date_modified=&max_date_modified=&min_date_created=&max_date_created=&min_id=&max_id="
                "&status_id=&sort=id:asc&page=&limit= (204 past the end)",
            ),
            Route(
                "GET",
                "/v2/orders/{order_id:int}",
                lambda c: store.reply(c.request, store.order(order_id(c))),
                "an order (products and shipping_addresses as resource links)",
            ),
            Route(
                "PUT",
                "/v2/orders/{order_id:int}",
                lambda c: store.reply(c.request, store.update_order(order_id(c), c.body)),
                '{"status_id"}: 5 cancels',
            ),
            Route(
                "GET",
                "/v2/orders/{order_id:int}/products",
                lambda c: store.page(c.request, store.order_products(order_id(c))),
                "?page=&limit=: the order's products (order_address_id, quantity_shipped)",
            ),
            Route(
                "GET",
                "/v2/orders/{order_id:int}/shipping_addresses",
                lambda c: store.page(c.request, store.order_addresses(order_id(c))),
                "?page=&limit=: the order's shipping addresses",
            ),
            Route(
                "GET",
                "/v2/orders/{order_id:int}/shipments",
                lambda c: store.page(c.request, store.order_shipments(order_id(c))),
                "?page=&limit=: the order's shipments (204 when none)",
            ),
            Route(
                "POST",
                "/v2/orders/{order_id:int}/shipments",
                lambda c: store.reply(c.request, store.create_shipment(order_id(c), c.body), 201),
                '{"order_address_id", "items": [{"order_product_id", "quantity"}], "tracking_number"?, '
                '"shipping_provider"?, "tracking_carrier"?, "tracking_link"?, "comments"?}: 201; 400 for a bad '
                "field, 422 beyond what is left to ship",
                status=201,
            ),
            Route(
                "PUT",
                "/v3/inventory/adjustments/absolute",
                lambda c: store.reply(c.request, store.adjust_absolute(c.body)),
                '{"reason", "items": [{"location_id", "sku", "quantity"}]} (at most 2000): {"transaction_id"}; '
                '422 naming each refused item as "items.{index}..."',
            ),
        ),
    )


def control_routes(store: BigCommerceSandbox) -> RouteTable:
    def control(action: Any) -> Any:
        """Controls answer in the kit's error shape (`{"error": ...}`), not BigCommerce's."""

        def run(call: Call) -> Any:
            try:
                return action(call)
            except BigCommerceApiError as exc:
                raise SandboxError(exc.status, exc.message) from None

        return run

    def place(call: Call) -> dict[str, Any]:
        return store.place(call.body, duplicate=call.flag("duplicate"), bad_signature=call.flag("bad_signature"))

    def status(call: Call) -> dict[str, Any]:
        body = call.body if isinstance(call.body, dict) else {}
        return store.set_status(int(call.path["order_id"]), body.get("status_id"), duplicate=call.flag("duplicate"))

    def shipments(call: Call) -> list[dict[str, Any]]:
        wanted = call.query.get("order")
        return [s for rows in store.shipments.values() for s in rows if wanted is None or str(s["order_id"]) == wanted]

    def document(call: Call) -> dict[str, Any]:
        order_id = int(call.path["order_id"])
        return {
            **store.order(order_id),
            "products": store.products[order_id],
            "shipping_addresses": store.addresses[order_id],
        }

    return RouteTable(
        prefix="/_sandbox",
        routes=(
            Route(
                "POST",
                "/orders",
                control(place),
                '?duplicate=&bad_signature=: place an order, 201 with the v2 order: {"products" | "lineItems": '
                '[{"sku", "quantity", "price"?, "type"?, "address_index"?}], "shippingAddress" | '
                '"shipping_addresses": [...], '
                '"customer"?, "status_id"? (knob default_status)}',
                status=201,
            ),
            Route("GET", "/orders", lambda _: list(store.orders.values()), "every order"),
            Route("GET", "/orders/{order_id:int}", control(document), "one order with its products and addresses"),
            Route(
                "POST",
                "/orders/{order_id:int}/status",
                control(status),
                '?duplicate=: {"status_id"}: the merchant (or the payment) changes the status',
            ),
            Route("GET", "/shipments", shipments, "?order=: the shipments created"),
            Route(
                "GET",
                "/inventory",
                lambda _: {"levels": store.levels, "history": list(store.inventory_log)},
                "levels by SKU and location id, and their history",
            ),
            Route(
                "POST", "/products", control(lambda c: store.add_product(c.body)), '{"sku", "available"?}', status=201
            ),
        ),
    )


def create_app(options: SandboxOptions) -> FastAPI:
    store = BigCommerceSandbox(options)
    return sandbox_app(
        f"BigCommerce sandbox ({options.channel.id})",
        store,
        api_routes(store),
        control_routes(store),
        error_shape=v3_error_shape,
        api_headers=store.api_headers,
    )
