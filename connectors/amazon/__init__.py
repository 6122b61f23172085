"""Amazon (Selling Partner API) as a selling channel: merchant-fulfilled orders in (polled, and read
at once on an `ORDER_CHANGE` notification), one `confirmShipment` per parcel back, and the
available quantity of each SKU as a Listings Items patch.

Channel configuration: credentials `client_id`, `client_secret` (the app's Login with Amazon
credentials), `refresh_token` (the seller's authorisation of the app) and `notification_key`
(the key the notification relay sends, see `notifications`); `base_url` is the region's endpoint
(`https://sellingpartnerapi-na.amazon.com`, `-eu`, `-fe`); `settings` are `AmazonSettings`
(`seller_id` required; `marketplace_id`, `product_type`, `fulfillment_channel_code`, ...).

Orders API version: **v2026-01-01**, not v0. v0's order operations are deprecated and sunset on
2027-03-27 (under four months from when this was written), and v2026-01-01 returns an order with
its items, recipient address, buyer and ship-by window in one answer (`includedData`), with no
Restricted Data Token: v0 needs getOrders plus getOrderItems and an RDT-gated getOrderAddress per
order. Shipment confirmation has no v2026 operation and stays on v0's `confirmShipment`. The
version's shape is read in `mapping.map_order` / `mapping.order_view` alone.

Poll plan (searchOrders: 0.0056 requests/s, burst 20: one call per ~3 min sustained). The poll
asks for `fulfilledBy=MERCHANT` orders `UNSHIPPED`, `PARTIALLY_SHIPPED`, `CANCELLED`, `PENDING` or
`PENDING_AVAILABILITY` updated since the cursor, 100
a page: the default `poll_orders_every` (10 min) costs one call per poll for up to 100 changed
orders, about a third of the sustained rate, so the bucket stays near full; a backfill (the first
poll, or one after an outage) spends the burst, 20 pages = 2,000 orders at once, and a longer one
is paced by the bucket (`RateLimitedError` with the wait, Temporal retries the poll then).
Notifications read single orders with getOrder (0.5/s, burst 30), a separate bucket, so they never
slow the poll. A seller whose usage plan is higher gets it from `x-amzn-RateLimit-Limit`.

Lifecycle: a Pending order (payment not authorised) is never started: the poll reports it and
its notification is IGNORED, each with the order's hold (recorded for operators); once Amazon
marks it Unshipped its next ORDER_CHANGE (or the
poll) starts it, and one cancelled while Pending never starts (a cancel of an unknown order
starts nothing). A buyer-requested cancel (an item's `cancellationRequest` from `BUYER`) is
reported as the channel's cancel: before the shipping request is sent the order is cancelled;
after, the 3PL cancel is tried and, if too late, the order raises `cancel_after_ship`. The
ship-by date is Amazon's `shipByWindow.latestDateTime` (`LatestShipDate`). A confirmShipment
refused (an invalid carrier or tracking number: 400 `InvalidInput`) is the order's
`tracking_rejected`.

A-to-z Guarantee claims: the SP-API has no operation and no notification type for them (the
notification types of notifications.json and its schemas list none; the Seller Central claim
queue has no API: amzn/selling-partner-api-models issue #5247, 2026-05). Claims show only as
counts in reports (GET_V2_SELLER_PERFORMANCE_REPORT `orderDefectRate.claims`, the Sales and
Traffic report's `claimsGranted`/`claimsAmount`) and, once decided, as `GuaranteeClaimEventList`
entries with the AmazonOrderId in the Finances API's financial events. The connector therefore
raises no claim exception; what the shared claim mechanism could use from Amazon is an operator's
report of a claim (order id, response deadline from Seller Central) and, after the fact, the
Finances API's decided claims (see the report of issue 17).

Returns (merchant-fulfilled; `connectors.amazon.returns` has the report's columns and sources):
Amazon sends no notification for a return and has no returns operation, so `poll_returns` reads
them from the Reports API: it creates a `GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE` report from
`since` (at most the 60 days one report covers), waits for it within `report_wait` (getReport
every `report_poll_interval` seconds; still processing after that: a `RetryableError`, and the
retry on this worker reads the same report instead of creating another, createReport's default
plan being one a minute), downloads its document (GZIP when Amazon says so), groups its rows by
Amazon RMA ID and reads each order's items (getOrder) so the return's lines name them by SKU. A
report Amazon cancels (it does so when there is no data) is no returns; a FATAL one is retried.
"Return received" tells Amazon nothing: the SP-API has no operation that records a received MFN
return or refunds it ("For refunds, we do not have any API for processing the refund. The
seller will have to perform this action on their seller central account.", amzn/selling-partner-
api-models issue #3959), so `push_return_received` answers None and the seller refunds in Seller
Central (Manage Returns). No poller calls `poll_returns` yet (docs/returns.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
import structlog

from connectors.amazon import mapping, notifications, returns
from connectors.amazon.client import PROCESSING, AmazonClient, AmazonSettings, ProcessingStatus, amazon_time
from connectors.amazon.mapping import INCLUDED_DATA, FulfilledBy, FulfillmentStatus
from connectors.base import (
    ConnectorSpec,
    InboundEvent,
    InboundKind,
    MappedReturns,
    MappingError,
    PermanentError,
    PolledOrder,
    PolledReturn,
    RejectedError,
    RetryableError,
    ReturnsMapping,
    channel_settings,
)
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole, Order, Shipment
from orderloop.returns_model import ReturnReceipt, ReturnRequest

log = structlog.get_logger("orderloop.amazon")

# What the poll asks for: orders to ship, cancels of orders it may have started, and the orders
# Amazon holds back (Pending, pre-orders), recorded as held.
POLLED_STATUSES = (
    FulfillmentStatus.UNSHIPPED,
    FulfillmentStatus.PARTIALLY_SHIPPED,
    FulfillmentStatus.CANCELLED,
    FulfillmentStatus.PENDING,
    FulfillmentStatus.PENDING_AVAILABILITY,
)


class AmazonConnector(MappedReturns):
    def __init__(self, channel: ChannelConfig, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(channel)
        self.settings = channel_settings(channel, AmazonSettings)
        self.client = AmazonClient(
            channel.base_url,
            self.settings,
            lambda: channel.credential("client_id"),
            lambda: channel.credential("client_secret"),
            lambda: channel.credential("refresh_token"),
            http,
        )
        # The returns report a poll from `since` (its key) created and has not read yet, so a
        # retried poll reads it instead of creating another.
        self._reports: dict[str, str] = {}

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        key = self.channel.credential("notification_key")
        return notifications.parse_notification(key, self.settings.notification_key_header, headers, body)

    async def confirm_event(self, event: InboundEvent) -> InboundEvent:
        """The notification is a trigger: the order as getOrder answers it decides what happens,
        and becomes the event's payload (what the workflow maps)."""
        if event.kind is InboundKind.IGNORED or event.external_order_id is None:
            return event
        try:
            order = await self.client.get_order(event.external_order_id, INCLUDED_DATA)
        except PermanentError as exc:
            if exc.status_code != 404:
                raise
            return replace(
                event, kind=InboundKind.IGNORED, detail="getOrder: no such order (notification not borne out)"
            )
        view = mapping.order_view(order)
        cancel = mapping.buyer_cancel_reason(order)
        if view.status is FulfillmentStatus.CANCELLED or cancel is not None:
            detail = "cancelled at Amazon" if cancel is None else f"buyer requested cancel at Amazon: {cancel}"
            return replace(
                event, kind=InboundKind.ORDER_CANCELLED, payload=order, occurred_at=view.updated_at, detail=detail
            )
        refused = mapping.shippable_status(order)
        if refused is not None:
            hold = mapping.hold_of(order)
            return replace(event, kind=InboundKind.IGNORED, payload=order, detail=refused, hold=hold)
        return replace(event, kind=InboundKind.ORDER_CREATED, payload=order, occurred_at=view.updated_at, detail=None)

    def map_order(self, raw: Mapping[str, Any], *, order_id: str, tenant_id: str, received_at: datetime) -> Order:
        return mapping.map_order(
            raw, order_id=order_id, tenant_id=tenant_id, channel_id=self.channel.id, received_at=received_at
        )

    async def push_shipment(self, order: Order, shipment: Shipment) -> str | None:
        """One confirmShipment for the parcel. Its packageReferenceId derives from the shipment
        id, so a retry confirms the same package again (Amazon takes a repeat as an edit of that
        package's details), never a second one. Returns the packageReferenceId."""
        try:
            body = mapping.confirm_shipment_body(order, shipment, self.settings.marketplace_id, datetime.now(UTC))
        except MappingError as exc:
            raise RejectedError(f"confirm shipment {shipment.id} of Amazon order {order.external_id}: {exc}") from None
        await self.client.confirm_shipment(order.external_id, body)
        package = str(body["packageDetail"]["packageReferenceId"])
        log.info("amazon.shipment_confirmed", order_id=order.external_id, shipment_id=shipment.id, package=package)
        return package

    async def push_inventory(self, quantities: Mapping[str, int]) -> None:
        """A merge patch of `fulfillment_availability` per SKU, paced by the operation's bucket (5/s).
        A SKU Amazon has no listing for (404) or whose patch it finds INVALID is logged and
        skipped, so one odd listing never blocks the others."""
        for sku, available in sorted(quantities.items()):
            body = mapping.availability_patch(
                available, self.settings.product_type, self.settings.fulfillment_channel_code
            )
            try:
                result = await self.client.patch_listings_item(sku, body)
            except PermanentError as exc:
                if exc.status_code not in (400, 404):
                    raise
                log.warning("amazon.inventory_refused", channel=self.channel.id, sku=sku, reason=str(exc))
                continue
            if result.get("status") == "INVALID":
                log.warning("amazon.inventory_invalid", channel=self.channel.id, sku=sku, issues=result.get("issues"))

    async def poll_orders(self, since: datetime) -> list[PolledOrder]:
        """Merchant-fulfilled orders UNSHIPPED, PARTIALLY_SHIPPED or CANCELLED updated since
        `since`, every page (a buyer's cancel request counts as cancelled), and those Amazon holds
        back (PENDING, PENDING_AVAILABILITY) with their hold.
        Amazon orders are not edited, so each is a creation (no `updated_at`) or a cancel."""
        polled = []
        pages = self.client.search_orders(since, POLLED_STATUSES, FulfilledBy.MERCHANT, INCLUDED_DATA)
        async for page in pages:
            for raw in page:
                try:
                    view = mapping.order_view(raw)
                except MappingError as exc:
                    log.warning("amazon.poll_unreadable_order", channel=self.channel.id, reason=str(exc))
                    continue
                polled.append(
                    PolledOrder(
                        external_id=view.order_id,
                        payload=raw,
                        cancelled=mapping.is_cancelled(raw),
                        created_at=view.created_at,
                        hold=None if mapping.is_cancelled(raw) else mapping.hold_of(raw),
                    )
                )
        return polled

    # --- returns ---

    returns_mapping: ClassVar[ReturnsMapping] = returns

    async def poll_returns(self, since: datetime) -> list[PolledReturn]:
        """The returns Amazon's returns report lists from `since` (module docstring), one per Amazon
        RMA ID, each with its order's items; those whose request status says they will not come
        back (rejected, cancelled) are left out."""
        rows = await self._returns_report(since)
        groups = returns.group_by_rma(row for row in rows if returns.returning(row))
        items_of: dict[str, list[Any] | None] = {}
        polled = []
        for rma, group in groups.items():
            payload = returns.return_payload(rma, group, None)
            order_id = returns.return_order_id(payload)
            if order_id is not None:
                if order_id not in items_of:
                    items_of[order_id] = await self._order_items(order_id)
                payload = returns.return_payload(rma, group, items_of[order_id])
            polled.append(PolledReturn(external_id=rma, payload=payload, external_order_id=order_id))
        log.info("amazon.returns_polled", channel=self.channel.id, rows=len(rows), returns=len(polled))
        return polled

    async def push_return_received(self, request: ReturnRequest, receipt: ReturnReceipt) -> str | None:
        """Nothing to tell: the SP-API has no operation that records a received MFN return or
        refunds the order (amzn/selling-partner-api-models issue #3959); the seller refunds the
        buyer in Seller Central (Manage Returns). Answers None, every time."""
        log.info(
            "amazon.return_received_not_pushed",
            channel=self.channel.id,
            rma=request.external_id,
            order_id=request.external_order_id,
            reason="no SP-API operation for MFN return receipt or refund: refund in Seller Central",
        )
        return None

    async def _returns_report(self, since: datetime) -> list[returns.Row]:
        """The rows of the returns report from `since` to now, created once per `since`."""
        now = datetime.now(UTC)
        start = max(since if since.tzinfo else since.replace(tzinfo=UTC), now - timedelta(days=returns.REPORT_MAX_DAYS))
        key = amazon_time(since)
        report_id = self._reports.get(key)
        if report_id is None:
            report_id = await self.client.create_report(returns.FLAT_FILE_REPORT, start, now)
            self._reports[key] = report_id
        report = await self._finished_report(report_id)
        status = report["processingStatus"]
        if status == ProcessingStatus.CANCELLED:
            # Amazon cancels a report that has no data to return.
            del self._reports[key]
            return []
        if status != ProcessingStatus.DONE or not report.get("reportDocumentId"):
            del self._reports[key]
            raise RetryableError(f"Amazon returns report {report_id} ended {status} without a document")
        document = await self.client.report_document(str(report["reportDocumentId"]))
        del self._reports[key]
        try:
            return returns.parse_report(_decoded(document))
        except MappingError as exc:
            raise PermanentError(f"Amazon returns report {report_id}: {exc}") from None

    async def _finished_report(self, report_id: str) -> dict[str, Any]:
        """getReport until it is no longer processing, within `report_wait` seconds."""
        deadline = time.monotonic() + self.settings.report_wait
        while True:
            report = await self.client.get_report(report_id)
            status = report["processingStatus"]
            if status not in PROCESSING:
                return report
            if time.monotonic() >= deadline:
                raise RetryableError(
                    f"Amazon returns report {report_id} still {status} after {self.settings.report_wait:g} s",
                    retry_after=max(self.settings.report_poll_interval, 1.0),
                )
            await asyncio.sleep(self.settings.report_poll_interval)

    async def _order_items(self, order_id: str) -> list[Any] | None:
        """The order's items as getOrder answers them; None when Amazon has no such order."""
        try:
            order = await self.client.get_order(order_id, INCLUDED_DATA)
        except PermanentError as exc:
            if exc.status_code != 404:
                raise
            log.warning("amazon.return_order_unknown", channel=self.channel.id, order_id=order_id)
            return None
        items = order.get("orderItems")
        return list(items) if isinstance(items, list) else []

    async def aclose(self) -> None:
        await self.client.aclose()


def _decoded(document: bytes) -> str:
    """The flat file's text: UTF-8, else Windows-1252 (Amazon's flat files in some marketplaces)."""
    try:
        return document.decode("utf-8")
    except UnicodeDecodeError:
        return document.decode("cp1252", errors="replace")


SPEC = ConnectorSpec(
    type="amazon",
    roles=frozenset({ConnectorRole.SELLING}),
    selling=AmazonConnector,
    sandbox="connectors.amazon.sandbox:create_app",
)
