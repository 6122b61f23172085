"""TikTok Shop as a selling channel, over the Partner API (version 202309): order notifications in
(signed with the app secret, read back from the API before they are acted on), orders shipped
by package with their tracking (seller shipping), available quantities per SKU at the shop's
warehouse, the buyer's cancellation requests approved or rejected, and returns (Return and Refund
API 202309, `connectors.tiktok.returns`): RETURN_STATUS_CHANGE notifications read back through the
returns search start a return, move it in transit or cancel it; `poll_returns` reads the open ones
by update time; "received" approves the returned package (`APPROVE_RECEIVED_PACKAGE`), which
has TikTok refund the buyer.

Configuration (`orderloop.yaml`): credentials `app_key`, `app_secret` (the app's, from Partner
Center) and `refresh_token` (from the seller's authorisation; the access token is renewed with
it and kept until its expiry); `base_url` is `https://open-api.tiktokglobalshop.com`; settings
as `TikTokSettings` (`shop_cipher` required; `shop_id` to refuse other shops' notifications;
`warehouse_id`, `shipping_providers`, `auth_url`, `page_size`).

The order's life at TikTok and what the connector does with it:
- `UNPAID`, then `ON_HOLD` (the buyer's remorse window: the buyer may still cancel or change the
  address without the seller): never started. The notification is answered `ignored` and the
  poll reports the order held (the ledger records the hold for operators), so a cancel in the
  window means it never starts and an address change
  is simply in the order when it does start.
- `AWAITING_SHIPMENT`: started (notification or poll), with `rts_sla_time` as `shipByDate`, which
  the ship-by clock uses (the channel's `late ready-to-ship` is the `sla_breach` exception).
- A recipient address update after that is an edit of the running order: applied while nothing
  was sent, `edit_after_release` once a shipping request went out (the "address changed after
  send" exception).
- `CANCELLED` (by TikTok, the seller, or an approved buyer request): the order's cancel.
- A buyer's cancellation request after `AWAITING_SHIPMENT` needs the seller's answer before
  `cancel_order_sla_time` (else TikTok approves it): the notification, confirmed by reading the
  order's cancellations, is the order's `cancellation_requested` channel exception, with that
  deadline. Its resolution answers TikTok (`resolve_channel_exception`): the order cancelled (an
  operator's `cancel`, which asks the 3PL first, or a playbook rule's `approve_cancellation`
  while nothing was sent) approves the request; the order going on (`retry`, or it shipped)
  rejects it with `cancel_reject_reason`. A request TikTok decided meanwhile is left as it is.
- Orders fulfilled by TikTok (FBT) or shipped on TikTok's labels are not a seller warehouse's:
  skipped by the poll and the notifications.

What the sources say (found with `search`, December 2026; TikTok's own docs need a partner login):
- Signing, envelope, paths and fields: API_FACTS section 4 (EcomPHP/tiktokshop-php
  `src/Client.php`, `src/Auth.php`, `src/Webhook.php`; lywzx/tiktok-partner-api interfaces).
- Token: `access_token_expire_in` and `refresh_token_expire_in` are Unix times, not durations:
  the token samples of several SDK READMEs (`"access_token_expire_in": 1660556783`, TikTok's own
  sample reproduced in them) and Epur/ext-sdk `GetTokenResponse`.
- Approve and reject: `POST /return_refund/202309/cancellations/{cancel_id}/approve|reject` with
  an `idempotency_key` query (hsib19/tiktok-shop-sdk examples `approveCancellation`).
- Returns: `POST /return_refund/202309/returns/search` (page size 10-50, `data.return_orders`),
  `POST /return_refund/202309/returns/{return_id}/approve|reject` (`decision`, an
  `idempotency_key` query), the `return_status` and `decision` values: TikTok's API reference
  pages search-returns-202309, approve-return-202309 and reject-return-202309
  (https://partner.tiktokshop.com/docv2/page/650b2001bace3e02b76db38a), reproduced from TikTok's
  OAS in public SDK docs, and hsib19/tiktok-shop-sdk `ApproveReturnBody` / `RejectReturnBody`.
  The notification's `data` for type 12: phamkhanhminhman97/shopee-tiktok-lazada-api
  `webhook.response.ts`. The brief's "RECEIVE_REJECTED" is `REJECT_RECEIVE_PACKAGE` there.
Not found, assumed [?]: every error code but 0 and the 105xxx token family (`TikTokCode`);
the rate limit (a per-second window per path; no retry header, so a throttled call waits one
second); the webhook retry schedule; the `cancel_status` names; notification type 11 for
cancellation status changes; the states a return decision is allowed in (`APPROVE_RECEIVED_PACKAGE`
is taken while the buyer is to ship or has shipped); that a business refusal is HTTP 200 with its code; that a line
item without `quantity` is one unit (the documented sample has none; an item carrying one counts
that many).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar

import httpx
import structlog

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
    ReturnsMapping,
)
from connectors.tiktok import mapping, returns, webhooks
from connectors.tiktok.client import TikTokClient, TikTokSettings
from orderloop.activity_models import ChannelExceptionDecision, ChannelExceptionReply
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole, Order, Shipment
from orderloop.returns_model import ReturnReceipt, ReturnRequest

log = structlog.get_logger("orderloop.tiktok")

# An unknown SKU re-reads the catalogue at most this often.
CATALOG_REFRESH_SECONDS = 300.0
_ORDER_EVENTS = frozenset({InboundKind.ORDER_CREATED, InboundKind.ORDER_UPDATED, InboundKind.ORDER_CANCELLED})


class TikTokConnector(MappedReturns):
    def __init__(self, channel: ChannelConfig, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(channel)
        self.settings = TikTokSettings.of(channel)
        self.client = TikTokClient(
            channel.base_url,
            self.settings,
            lambda: channel.credential("app_key"),
            lambda: channel.credential("app_secret"),
            lambda: channel.credential("refresh_token"),
            http,
        )
        self._warehouse_id = self.settings.warehouse_id
        self._providers: dict[str, list[dict[str, Any]]] = {}
        self._catalog: dict[str, list[mapping.CatalogSku]] | None = None
        self._catalog_read_at = 0.0
        self._catalog_lock = asyncio.Lock()

    # --- inbound ---

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        return webhooks.parse_webhook(
            self.channel.credential("app_key"),
            self.channel.credential("app_secret"),
            headers,
            body,
            self.settings.shop_id,
        )

    async def confirm_event(self, event: InboundEvent) -> InboundEvent:
        """An order notification carries the order id only: the order is read, and what it says
        now decides the event (a late AWAITING_SHIPMENT notification of an order cancelled since
        is its cancel; one still on hold starts nothing and carries its hold: read too, so an FBT
        order is never recorded held), its JSON becoming the payload. A return notification
        likewise: the return is read (`webhooks.confirmed_return`); a cancellation request is
        confirmed by reading the order's cancellations."""
        if event.kind is InboundKind.ORDER_EXCEPTION and event.channel_exception is not None:
            return await self._confirmed_cancellation(event)
        if event.kind is InboundKind.RETURN_REQUESTED and event.external_return_id is not None:
            raw_return = await self.client.get_return(event.external_return_id)
            return webhooks.confirmed_return(event, raw_return, self.channel.id)
        if (event.kind not in _ORDER_EVENTS and event.hold is None) or event.external_order_id is None:
            return event
        raw = await self.client.get_order(event.external_order_id)
        if raw is None:
            return replace(event, kind=InboundKind.IGNORED, detail=f"TikTok has no order {event.external_order_id}")
        return webhooks.confirmed(event, raw)

    def map_order(self, raw: Mapping[str, Any], *, order_id: str, tenant_id: str, received_at: datetime) -> Order:
        return mapping.map_order(
            raw, order_id=order_id, tenant_id=tenant_id, channel_id=self.channel.id, received_at=received_at
        )

    async def poll_orders(self, since: datetime) -> list[PolledOrder]:
        """Orders updated since `since`, every page, those not yet shippable (on hold, unpaid)
        with their hold, without those TikTok ships itself."""
        polled = []
        for raw in await self.client.search_orders(int(since.timestamp())):
            external_id = mapping.external_order_id(raw)
            status = mapping.status_of(raw)
            if external_id is None or not mapping.seller_ships(raw):
                continue
            if status in mapping.NOT_YET_SHIPPABLE:
                polled.append(PolledOrder(external_id=external_id, payload=raw, hold=mapping.hold_of(raw)))
                continue
            polled.append(
                PolledOrder(
                    external_id=external_id,
                    payload=raw,
                    cancelled=status is mapping.OrderStatus.CANCELLED,
                    created_at=mapping.unix_time(raw.get("create_time")),
                    updated_at=mapping.unix_time(raw.get("update_time")),
                )
            )
        return polled

    # --- returns ---

    returns_mapping: ClassVar[ReturnsMapping] = returns

    async def poll_returns(self, since: datetime) -> list[PolledReturn]:
        """Returns of goods updated since `since` and still open at TikTok (pending, approved,
        shipped back), every page, as their notification would have carried them."""
        filters = {
            "update_time_ge": int(since.timestamp()),
            "return_types": [returns.ReturnType.RETURN_AND_REFUND.value],
            "return_status": sorted(s.value for s in returns.OPEN),
        }
        polled = []
        for raw in await self.client.search_returns(filters):
            external_id = returns.external_return_id(raw)
            if external_id is None or returns.status_of(raw) not in returns.OPEN:
                continue
            polled.append(PolledReturn(external_id, raw, returns.return_order_id(raw)))
        return polled

    async def push_return_received(self, request: ReturnRequest, receipt: ReturnReceipt) -> str | None:
        """Approve the received package (approving the return first while TikTok still has it
        pending); TikTok then refunds the buyer. The return is read first and only the decisions
        it still lacks are sent, each with its own idempotency key, so a retry after a lost answer
        asks for nothing more. Returns TikTok's return id."""
        return_id = request.external_id
        what = f"report return {return_id} received to TikTok"
        raw = await self.client.get_return(return_id)
        if raw is None:
            raise RejectedError(f"{what}: TikTok has no return {return_id}")
        decisions = returns.received_decisions(raw)
        if decisions is None:
            raise RejectedError(
                f"{what}: the return is {raw.get('return_status')} ({raw.get('return_type')}) in TikTok Shop: "
                "it can no longer be approved"
            )
        for decision in decisions:
            await self.client.approve_return(return_id, decision.value, returns.decision_key(request.id, decision))
        log.info(
            "tiktok.return_received_pushed",
            return_id=request.id,
            tiktok_return=return_id,
            decisions=[d.value for d in decisions],
            units=sum(line.quantity for line in receipt.lines),
        )
        return return_id

    # --- outbound ---

    async def push_shipment(self, order: Order, shipment: Shipment) -> str | None:
        """Mark a package of the shipment's line items shipped, with its tracking number and
        shipping provider. TikTok takes no idempotency key here, so the order is read first:
        line items already in a package with this tracking number are an earlier attempt's, and
        that package's id is the answer. Returns the package id."""
        order_id = order.external_id
        what = f"push shipment {shipment.id} to TikTok order {order_id}"
        if not shipment.tracking_numbers:
            raise RejectedError(f"{what}: TikTok needs a tracking number to mark a package shipped")
        tracking = shipment.tracking_numbers[0]
        raw = await self.client.get_order(order_id)
        if raw is None:
            raise RejectedError(f"{what}: TikTok has no such order")
        recorded = mapping.recorded_package(raw, tracking)
        if recorded is not None:
            log.info("tiktok.shipment_already_recorded", order_id=order_id, package_id=recorded)
            return recorded
        try:
            item_ids = mapping.package_lines(raw, shipment, order)
        except MappingError as exc:
            raise RejectedError(f"{what}: {exc}") from None
        provider_id = await self._provider_id(raw, shipment.shipping_carrier, what)
        created = await self.client.mark_package_shipped(
            order_id, mapping.package_body(item_ids, tracking, provider_id), what
        )
        package_id = str(created.get("package_id") or "") or None
        log.info("tiktok.shipment_pushed", order_id=order_id, shipment_id=shipment.id, package_id=package_id)
        return package_id

    async def push_inventory(self, quantities: Mapping[str, int]) -> None:
        """Set each SKU's quantity at the shop's warehouse, one call per product. A SKU no live
        product carries is skipped with a log line; the per-SKU errors TikTok answers in the body
        (a SKU not live, a quantity out of range) are logged as warnings with TikTok's codes, so
        one odd SKU never blocks the others."""
        if not quantities:
            return
        warehouse_id = await self._warehouse()
        catalog = await self._live_skus(quantities)
        unknown = sorted(set(quantities) - set(catalog))
        if unknown:
            log.info("tiktok.inventory_sku_unknown", channel=self.channel.id, skus=unknown)
        for product_id, body in mapping.inventory_bodies(quantities, catalog, warehouse_id).items():
            for error in await self.client.update_inventory(product_id, body):
                log.warning(
                    "tiktok.inventory_refused",
                    channel=self.channel.id,
                    product_id=product_id,
                    code=error.get("code"),
                    reason=error.get("message"),
                    detail=error.get("detail"),
                )

    # --- buyer cancellation requests ---

    async def cancellation_requests(self, external_order_id: str) -> list[dict[str, Any]]:
        """The order's cancellations as TikTok holds them (`cancel_id`, `cancel_status`,
        `cancel_order_sla_time`, ...)."""
        return await self.client.search_cancellations([external_order_id])

    async def _confirmed_cancellation(self, event: InboundEvent) -> InboundEvent:
        """A cancellation request as TikTok holds it now: still pending, it is the order's case
        (with TikTok's deadline); decided meanwhile, nothing to raise."""
        case = event.channel_exception
        assert case is not None and event.external_order_id is not None
        found = await self._cancellation(event.external_order_id, case.reference)
        if found is None or found.get("cancel_status") != webhooks.CANCELLATION_PENDING:
            status = found.get("cancel_status") if found else "not found"
            detail = f"cancellation {case.reference} is {status}: nothing for the seller to answer"
            return replace(event, kind=InboundKind.IGNORED, detail=detail, channel_exception=None)
        return replace(event, channel_exception=webhooks.cancellation_case(found))

    async def _cancellation(self, external_order_id: str, cancel_id: str | None) -> dict[str, Any] | None:
        requests = await self.cancellation_requests(external_order_id)
        return next((c for c in requests if str(c.get("cancel_id")) == cancel_id), None)

    async def resolve_channel_exception(self, reply: ChannelExceptionReply) -> str | None:
        """Answer a buyer's cancellation request as the order resolved it: approved when the
        order was cancelled, rejected (`cancel_reject_reason`) when it goes on. One answer per
        request, whatever the retries: a request no longer pending (TikTok's deadline passed,
        or an earlier try answered it) is left as it is."""
        if reply.kind != webhooks.CANCELLATION_REQUESTED or not reply.reference:
            return None
        found = await self._cancellation(reply.order.external_id, reply.reference)
        if found is None or found.get("cancel_status") != webhooks.CANCELLATION_PENDING:
            status = found.get("cancel_status") if found else "not found"
            return f"cancellation {reply.reference} already {status}"
        key = f"{reply.order.id}/{reply.reference}/{reply.decision}"
        if reply.decision is ChannelExceptionDecision.CANCELLED:
            await self.approve_cancellation(reply.reference, key)
            return f"cancellation {reply.reference} approved"
        comment = f"Orderloop: {reply.resolution}"
        await self.reject_cancellation(reply.reference, self.settings.cancel_reject_reason, comment, key)
        return f"cancellation {reply.reference} rejected ({self.settings.cancel_reject_reason})"

    async def approve_cancellation(self, cancel_id: str, idempotency_key: str) -> None:
        """Approve a buyer's request: TikTok cancels the order (its CANCELLED notification then
        cancels it here). Cancel at the 3PL first."""
        await self.client.approve_cancellation(cancel_id, idempotency_key)

    async def reject_cancellation(self, cancel_id: str, reason: str, comment: str, idempotency_key: str) -> None:
        """Reject a buyer's request with one of TikTok's reject reasons; the order ships."""
        await self.client.reject_cancellation(cancel_id, reason, comment, idempotency_key)

    async def aclose(self) -> None:
        await self.client.aclose()

    # --- lookups ---

    async def _provider_id(self, raw: Mapping[str, Any], carrier: str | None, what: str) -> str:
        """The TikTok shipping provider of our carrier: the channel's `shipping_providers`, else the
        provider of that name among those of the order's delivery option."""
        if carrier and carrier in self.settings.shipping_providers:
            return self.settings.shipping_providers[carrier]
        option = str(raw.get("delivery_option_id") or "")
        if not carrier or not option:
            raise RejectedError(
                f"{what}: no shipping provider for carrier {carrier!r} (set settings.shipping_providers)"
            )
        if option not in self._providers:
            self._providers[option] = await self.client.shipping_providers(option)
        wanted = carrier.strip().lower()
        for provider in self._providers[option]:
            name = str(provider.get("name") or "").strip().lower()
            if name == wanted or name.startswith(wanted):
                return str(provider["id"])
        names = ", ".join(str(p.get("name")) for p in self._providers[option])
        raise RejectedError(
            f"{what}: carrier {carrier!r} is none of the delivery option's shipping providers ({names}); "
            "map it in settings.shipping_providers"
        )

    async def _warehouse(self) -> str:
        if self._warehouse_id is not None:
            return self._warehouse_id
        rows = await self.client.warehouses()
        sales = [w for w in rows if w.get("type") == "SALES_WAREHOUSE" and w.get("effect_status") == "ENABLED"]
        default = [w for w in sales if w.get("is_default")] or sales
        if not default:
            raise PermanentError(f"channel {self.channel.id!r}: the shop has no enabled sales warehouse")
        self._warehouse_id = str(default[0]["id"])
        return self._warehouse_id

    async def _live_skus(self, quantities: Mapping[str, int]) -> dict[str, list[mapping.CatalogSku]]:
        """The live SKUs, read once and again when an unknown SKU is asked for (at most every
        `CATALOG_REFRESH_SECONDS`)."""
        async with self._catalog_lock:
            known = self._catalog
            due = time.monotonic() - self._catalog_read_at >= CATALOG_REFRESH_SECONDS
            if known is None or (set(quantities) - set(known) and due):
                known = mapping.live_skus(await self.client.live_products())
                self._catalog, self._catalog_read_at = known, time.monotonic()
            return known


SPEC = ConnectorSpec(
    type="tiktok",
    roles=frozenset({ConnectorRole.SELLING}),
    selling=TikTokConnector,
    sandbox="connectors.tiktok.sandbox:create_app",
    exception_kinds={
        webhooks.CANCELLATION_REQUESTED: "the buyer asked to cancel after the order was ready to ship: "
        "approved when the order is cancelled, rejected when it goes on, before TikTok's deadline",
    },
)
