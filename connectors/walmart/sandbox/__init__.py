"""In-memory emulation of the Walmart Marketplace API (US) for `make run` and the tests: the token
API (`POST /v3/token`, Basic auth, 900 s tokens; 401 once expired), the headers every call needs
(`WM_SEC.ACCESS_TOKEN`, `WM_QOS.CORRELATION_ID`, `WM_SVC.NAME`: 400 without), the Orders API
(`GET /v3/orders`, `/v3/orders/released` with `nextCursor`, `GET /v3/orders/{id}`, `POST
.../acknowledge`, `.../shipping`, `.../cancel`), `PUT /v3/inventory`, the Returns API (`GET
/v3/returns`, `POST /v3/returns/{id}/refund`; see `returns`, with RETURN_CREATED notifications), errors as
`{"errors": [{code, field, description, info, ...}]}`, a token bucket per operation (429, with
`X-Current-Token-Count` and `X-Next-Replenishment-Time` on every answer) and ORDER_UPDATES
notifications signed as an HMAC subscription. `GET /_sandbox` lists routes and controls; the
state is in `seller`, this module declares the routes."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from connectors.base import SandboxOptions
from connectors.sandbox_kit import Call, Route, RouteTable, sandbox_app
from connectors.walmart.client import API
from connectors.walmart.sandbox.seller import Seller, error_body, walmart_error
from connectors.walmart.webhooks import SubEvent

__all__ = ["Seller", "create_app"]


def api_routes(seller: Seller) -> RouteTable:
    def po(call: Call) -> Any:
        return seller.find(str(call.path["po"]))

    return RouteTable(
        prefix=API,
        dependencies=(seller.throttle, seller.authenticate),
        headers=seller.rate_headers,
        invalid_json=lambda reason: walmart_error(400, "INVALID_REQUEST_CONTENT.GMP_GATEWAY_API", reason),
        routes=(
            Route("GET", "/orders", lambda c: seller.listing(c.query, False), "orders, filtered"),
            Route(
                "GET",
                "/orders/released",
                lambda c: seller.listing(c.query, True),
                "released orders (a line still Created), nextCursor pages",
            ),
            Route("GET", "/orders/{po}", lambda c: {"order": po(c).resource()}, "a purchase order"),
            Route(
                "POST",
                "/orders/{po}/acknowledge",
                lambda c: seller.acknowledge(po(c)),
                "acknowledge the whole purchase order (again: as it is)",
            ),
            Route(
                "POST",
                "/orders/{po}/shipping",
                lambda c: seller.ship(po(c), c.body),
                "ship lines (acknowledged units only, once, a listed carrier)",
            ),
            Route("POST", "/orders/{po}/cancel", lambda c: seller.cancel(po(c), c.body), "cancel lines with a reason"),
            Route("GET", "/returns", lambda c: seller.returns.listing(c.query), "return orders, meta.nextCursor pages"),
            Route(
                "POST",
                "/returns/{rid}/refund",
                lambda c: seller.returns.refund(seller.returns.find(str(c.path["rid"])), c.body),
                "refund return order lines (shipped, not refunded yet)",
            ),
            Route(
                "PUT",
                "/inventory",
                lambda c: seller.set_inventory(c.query, c.body),
                "?sku=&shipNode=: set a SKU's quantity",
            ),
        ),
    )


def control_routes(seller: Seller) -> RouteTable:
    def intent_to_cancel(call: Call) -> Any:
        order = seller.find(str(call.path["po"]))
        seller.notify(SubEvent.INTENT_TO_CANCEL, order)
        return order.resource()

    def walmart_cancel(sub_event: SubEvent) -> Any:
        return lambda c: seller.walmart_cancel(seller.find(str(c.path["po"])), sub_event)

    def inventory(_: Call) -> Any:
        return {"levels": seller.inventory}

    return RouteTable(
        prefix="/_sandbox",
        routes=(
            Route("POST", "/orders", lambda c: seller.place(c.body), "place an order (onX-ish): PO_CREATED"),
            Route("GET", "/orders", lambda _: [o.resource() for o in seller.orders.values()], "every purchase order"),
            Route(
                "POST",
                "/orders/{po}/returns",
                lambda c: seller.returns.open(seller.find(str(c.path["po"])), c.body),
                'a customer returns shipped units ({"lines": [{lineNumber, quantity, reason}]}): RETURN_CREATED',
            ),
            Route(
                "GET",
                "/returns",
                lambda _: [{**r.resource(), "refunds": r.refunds} for r in seller.returns.returns.values()],
                "every return order with the refund calls it took",
            ),
            Route(
                "POST",
                "/returns/{rid}/deliver",
                lambda c: seller.returns.deliver(seller.returns.find(str(c.path["rid"]))),
                "the parcel reaches the return center: DELIVERED",
            ),
            Route("POST", "/intent-to-cancel/{po}", intent_to_cancel, "the customer asks to cancel: INTENT_TO_CANCEL"),
            Route(
                "POST",
                "/autocancel/{po}",
                walmart_cancel(SubEvent.PO_LINE_AUTOCANCELLED),
                "Walmart cancels every unshipped unit: PO_LINE_AUTOCANCELLED",
            ),
            Route(
                "POST",
                "/fraud-cancel/{po}",
                walmart_cancel(SubEvent.FRAUD_CANCEL),
                "Walmart's fraud review cancels: FRAUD_CANCEL",
            ),
            Route(
                "GET",
                "/shipments/{po}",
                lambda c: seller.tracking_records(str(c.path["po"])),
                "the purchase order's tracking numbers and what each shipped",
            ),
            Route("GET", "/inventory", inventory, "quantity per SKU and ship node"),
            Route("POST", "/tokens/expire", lambda _: {"expired": seller.expire_tokens()}, "expire every token now"),
            Route(
                "GET",
                "/tokens",
                lambda _: {"issued": seller.tokens_issued, "throttled": seller.throttled},
                "tokens issued, calls throttled",
            ),
        ),
    )


def token_routes(seller: Seller) -> RouteTable:
    async def token(request: Request) -> Any:
        """form grant_type=client_credentials with Basic clientId:clientSecret: a 900 s token"""
        return JSONResponse(await seller.token(request), headers=seller.rate_headers(request))

    return RouteTable(
        prefix=API,
        dependencies=(seller.throttle,),
        routes=(Route("POST", "/token", endpoint=token),),
    )


def create_app(options: SandboxOptions, *, webhook_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    seller = Seller(options, webhook_transport)
    return sandbox_app(
        f"Walmart Marketplace sandbox ({options.channel.id})",
        seller,
        control_routes(seller),
        token_routes(seller),
        api_routes(seller),
        error_shape=error_body,
        api_headers=lambda r: seller.rate_headers(r) if r.url.path.startswith(API) else {},
    )
