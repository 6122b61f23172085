"""In-memory emulation of one seller's Selling Partner API for `make run` and the tests, with the
Login with Amazon token host inside the same app under its real path.

- `POST /auth/o2/token`: the refresh-token grant (form body) with the channel's `client_id`,
  `client_secret` and `refresh_token`: `{"access_token": "Atza|...", "expires_in": 3600, ...}`;
  LWA's `{"error", "error_description"}` with 400/401 otherwise. Tokens expire after the knob
  `token_ttl`; `POST /_sandbox/tokens/expire` expires every one at once.
- Every SP-API call needs a live token in `x-amz-access-token` (403 `Unauthorized` otherwise, with
  Amazon's details: no token, an unknown one, "The access token you provided has expired."), then
  a token of its operation's bucket (Amazon's default usage plans, or the knob `usage_plans`):
  429 `QuotaExceeded` with `x-amzn-RequestId` only (no Retry-After, no rate limit), else the answer
  with `x-amzn-RateLimit-Limit` (the operation's rate) and `x-amzn-RequestId`.
- Orders API v2026-01-01: `searchOrders` (exactly one of createdAfter / lastUpdatedAfter, the
  filters, `paginationToken` bound to the first request's filters, `includedData` datasets shown
  only when asked for) and `getOrder`. A PENDING order shows no recipient and no prices.
- Orders API v0 `confirmShipment`: validated as Amazon does (positive numeric packageReferenceId,
  carrierCode from Amazon's list, carrierName for "Other", trackingNumber, ISO shipDate, items of the
  order within their unshipped quantity), 204; a known packageReferenceId edits that package; the
  order turns PARTIALLY_SHIPPED / SHIPPED. 400 `InvalidInput` with the reason otherwise.
- Listings Items API: `patchListingsItem` (add / replace / merge / delete of top-level attributes;
  a merge of `fulfillment_availability` by `fulfillment_channel_code` keeps the other fields; mode
  VALIDATION_PREVIEW changes nothing) and `getListingsItem`.
- Reports API 2021-06-30 for the returns report (`reports`): createReport, getReport (IN_QUEUE ->
  IN_PROGRESS -> DONE, or CANCELLED without data, FATAL under the knob `fatal_reports`; the knobs
  `report_queue_seconds`, `report_processing_seconds`), getReportDocument (a pre-signed URL served
  by the sandbox itself, GZIP unless `compress_reports` is off), and the controls
  `POST /_sandbox/orders/{id}/returns` (a buyer returns shipped units: a new Amazon RMA ID in the
  returns report), `GET /_sandbox/returns`, `GET /_sandbox/reports`.
- ORDER_CHANGE notifications on every status change and buyer-requested cancel, sent to the
  channel's webhook URL as the relay of Amazon's SQS queue forwards them (knob
  `notification_format`: the SQS body, or the EventBridge event), with the channel's
  `notification_key` in the settings' `notification_key_header`; the kit's webhook controls
  duplicate, hold, reorder and redeliver them.

Not emulated: Restricted Data Tokens (v2026 needs none), report types other than the flat-file
returns report, report schedules, getReports and cancelReport, the Feeds and Finances APIs,
FBA orders, regulated or Easy Ship orders, the notification subscription API (subscriptions are
assumed in place), per-marketplace carrier rules beyond the carrier-code list.

Modules: `seller` (knobs, LWA, the gate, errors, notifications), `orders` (orders, packages,
listings, controls), `reports` (reports, their documents, buyers' returns); this one declares the
routes.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from connectors.amazon.client import (
    DOCUMENTS_PATH,
    LISTINGS_PATH,
    LWA_TOKEN_PATH,
    ORDERS_PATH,
    ORDERS_V0_PATH,
    REPORTS_PATH,
)
from connectors.amazon.sandbox.orders import AmazonSandbox
from connectors.amazon.sandbox.reports import DOCUMENT_PATH
from connectors.amazon.sandbox.seller import amazon_error_body, invalid_input
from connectors.base import SandboxOptions
from connectors.sandbox_kit import Call, Route, RouteTable, sandbox_app

__all__ = ["AmazonSandbox", "create_app"]


def lwa_routes(shop: AmazonSandbox) -> RouteTable:
    return RouteTable(routes=(Route("POST", LWA_TOKEN_PATH, endpoint=shop.lwa_token),))


def api_routes(shop: AmazonSandbox) -> RouteTable:
    return RouteTable(
        dependencies=(shop.gate,),
        invalid_json=invalid_input,
        routes=(
            Route(
                "GET", ORDERS_PATH, lambda c: shop.search_orders(c.request), "searchOrders: " + _doc(shop.search_orders)
            ),
            Route(
                "GET",
                ORDERS_PATH + "/{order_id}",
                lambda c: shop.get_order(c.request, c.path["order_id"]),
                "getOrder: " + _doc(shop.get_order),
            ),
            Route(
                "POST",
                ORDERS_V0_PATH + "/{order_id}/shipmentConfirmation",
                lambda c: shop.confirm_shipment(c.request, c.path["order_id"], c.body),
                "confirmShipment: " + _doc(shop.confirm_shipment),
                status=204,
            ),
            Route(
                "PATCH",
                LISTINGS_PATH + "/{seller_id}/{sku}",
                lambda c: shop.patch_listing(c.request, c.path["seller_id"], c.path["sku"], c.body),
                "patchListingsItem: " + _doc(shop.patch_listing),
            ),
            Route(
                "GET",
                LISTINGS_PATH + "/{seller_id}/{sku}",
                lambda c: shop.get_listing(c.request, c.path["seller_id"], c.path["sku"]),
                "getListingsItem: " + _doc(shop.get_listing),
            ),
            Route(
                "POST",
                REPORTS_PATH,
                lambda c: shop.desk.create_report(c.request, c.body),
                "createReport: " + _doc(shop.desk.create_report),
                status=202,
            ),
            Route(
                "GET",
                REPORTS_PATH + "/{report_id}",
                lambda c: shop.desk.get_report(c.request, c.path["report_id"]),
                "getReport: " + _doc(shop.desk.get_report),
            ),
            Route(
                "GET",
                DOCUMENTS_PATH + "/{document_id}",
                lambda c: shop.desk.get_report_document(c.request, c.path["document_id"]),
                "getReportDocument: " + _doc(shop.desk.get_report_document),
            ),
        ),
    )


def document_routes(shop: AmazonSandbox) -> RouteTable:
    """The pre-signed document URLs: outside the SP-API gate (no access token, no bucket)."""
    return RouteTable(
        routes=(
            Route(
                "GET",
                DOCUMENT_PATH + "/{document_id}",
                lambda c: shop.desk.download(c.request, c.path["document_id"]),
                _doc(shop.desk.download),
            ),
        ),
    )


def control_routes(shop: AmazonSandbox) -> RouteTable:
    def reason(call: Call) -> str | None:
        return str(call.body["reason"]) if isinstance(call.body, dict) and call.body.get("reason") else None

    def packages(call: Call) -> list[dict[str, Any]]:
        order = call.query.get("order")
        return [
            {"orderId": order_id, **package}
            for order_id, by_ref in shop.packages.items()
            if order is None or order_id == order
            for package in by_ref.values()
        ]

    return RouteTable(
        prefix="/_sandbox",
        routes=(
            Route(
                "POST",
                "/orders",
                lambda c: shop.place(c.body, pending=c.flag("pending"), duplicate=c.flag("duplicate")),
                '?pending=&duplicate=: place an order, 201 {"id", "order"}: {"lineItems": [{"sku", "quantity", '
                '"unitPrice"?, "name"?}], "shippingAddress", "customer"?, "shippingCode"? (express: EXPEDITED), '
                '"externalId"? (SELLER_ORDER_ID), "currency"?}; Pending first with ?pending (until /authorize) or '
                "for the knob pending_seconds",
                status=201,
            ),
            Route("GET", "/orders", lambda _: [shop.view(o, _ALL) for o in shop.orders.values()], "every order"),
            Route(
                "GET",
                "/orders/{order_id}",
                lambda c: shop.view(shop.orders.find(c.path["order_id"]), _ALL),
                "one order",
            ),
            Route(
                "POST",
                "/orders/{order_id}/authorize",
                lambda c: shop.authorize(c.path["order_id"]),
                "PENDING -> UNSHIPPED",
            ),
            Route(
                "POST",
                "/orders/{order_id}/cancel",
                lambda c: shop.cancel(c.path["order_id"], reason(c)),
                '{"reason"?}: Amazon cancels the order (409 once shipped)',
            ),
            Route(
                "POST",
                "/orders/{order_id}/buyer-cancel",
                lambda c: shop.buyer_cancel(c.path["order_id"], reason(c)),
                '{"reason"?}: the buyer requests a cancel (BuyerRequestedChange)',
            ),
            Route("GET", "/packages", packages, "?order=: the packages confirmShipment recorded"),
            Route(
                "POST",
                "/orders/{order_id}/returns",
                lambda c: shop.desk.return_units(c.path["order_id"], c.body),
                '{"lines"?: [{"sku", "quantity", "reason"?}], "status"?}: a buyer returns shipped units (default '
                "every shipped unit not returned yet): a new Amazon RMA ID, a row per SKU in the returns report",
                status=201,
            ),
            Route("GET", "/returns", lambda _: shop.desk.listing(), "every buyer's return and its report rows"),
            Route(
                "GET", "/reports", lambda _: shop.desk.report_listing(), "every report created, as getReport shows it"
            ),
            Route(
                "GET",
                "/listings",
                lambda _: {
                    "quantities": shop.quantities(),
                    "listings": list(shop.listings.values()),
                    "history": shop.listing_log,
                },
                "DEFAULT quantity per SKU, the listings and their patch history",
            ),
            Route(
                "POST",
                "/listings",
                lambda c: [shop.add_listing(s) for s in (c.body if isinstance(c.body, list) else [c.body])],
                '{"sku", "quantity"?, "productType"?, "restock_date"?} or a list of them',
                status=201,
            ),
            Route(
                "POST", "/tokens/expire", lambda _: {"expired": shop.expire_tokens()}, "every access token expires now"
            ),
        ),
    )


_ALL = frozenset({"BUYER", "RECIPIENT", "FULFILLMENT", "PROCEEDS", "CANCELLATION", "PACKAGES"})


def _doc(method: Any) -> str:
    return (method.__doc__ or "").strip().splitlines()[0]


def create_app(options: SandboxOptions) -> FastAPI:
    shop = AmazonSandbox(options)
    return sandbox_app(
        f"Amazon Selling Partner API sandbox ({options.channel.id})",
        shop,
        lwa_routes(shop),
        api_routes(shop),
        document_routes(shop),
        control_routes(shop),
        error_shape=amazon_error_body,
        api_headers=shop.api_headers,
    )
