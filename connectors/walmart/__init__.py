"""Walmart Marketplace (US) as a selling channel: released purchase orders polled
(`GET /v3/orders/released`, `nextCursor` pages) and pushed by the ORDER_UPDATES notification
(HMAC-verified, read back before it is acted on), each purchase order one Orderloop order with
its lines keyed by `lineNumber`; shipped units confirmed per line (`POST /v3/orders/{id}/shipping`
with Walmart's carrier name, method code and tracking), after acknowledging the purchase order
(`POST /v3/orders/{id}/acknowledge`) where it is still Created; lines cancelled with a reason
(`/cancel`); available quantities set per SKU (`PUT /v3/inventory`, at the channel's ship node).

Configuration (`orderloop.yaml`): credentials `client_id` and `client_secret` (the seller's API
key pair from Developer Portal; the secret also keys the notification HMAC); `base_url`
`https://marketplace.walmartapis.com`; settings as `client.WalmartSettings` (`ship_methods`,
`carriers`, `ship_node`, `webhook_auth_header`, ...).

What the sources say (found with `search`, December 2026):
- Token: developer.walmart.com/us-marketplace/docs/get-an-access-token: `POST /v3/token`, Basic
  auth, `grant_type=client_credentials`, `expires_in: 900`; headers `WM_SEC.ACCESS_TOKEN`,
  `WM_QOS.CORRELATION_ID` (a new GUID per call), `WM_SVC.NAME` on every call.
- Orders: highsidelabs/walmart-api-php (generated from Walmart's specs), docs/Apis/MP/US/OrdersApi.md
  and docs/Models/MP/US/Orders/*: the paths, `list.meta{totalCount, limit, nextCursor}` ("to be
  used as query parameter for getting the next set", so it is appended to the path as Walmart
  returns it), `list.elements.order[]`, the line statuses, `carrierName{carrier | otherCarrier}`
  (otherCarrier needs the tracking URL) and the carrier list in `mapping.WALMART_CARRIERS`; the
  error object `{code, field, description, info, severity, category, causes}` (GatewayError).
  The shipping body's nesting `orderShipment.orderLines.orderLine[].orderLineStatuses.
  orderLineStatus[]{status, statusQuantity, trackingInfo{shipDateTime, carrierName, methodCode,
  trackingNumber, trackingURL}}` follows those models (API_FACTS 5.2 had the inner part [?]).
- Notifications: developer.walmart.com/us-marketplace/docs/order-management-event (ORDER_UPDATES
  V1, `source{eventType, eventTime, eventId}`, `payload.meta.subEventType`, `payload.order`) and
  .../reference/createsubscription: with `authMethod: HMAC` "Walmart passes an authentication header
  to the eventUrl using authHeaderName as the header key and HMACSHA256 of the complete response
  as the value, with clientSecret as the key". The encoding is not given [?]: base64 and hex
  are both accepted. The "performance" webhooks' `WM_SEC.SIGNATURE` scheme
  (docs/security-and-authenticity, over method, path, timestamp and body hash) is a different
  family of events and not used for order notifications.
- Rate limits: developer.walmart.com/us-marketplace/docs/rate-limiting: per-API token buckets,
  429 when exceeded; the headers `X-Current-Token-Count` and `X-Next-Replenishment-Time` are
  documented for the DSV and Supplier APIs (doc/us/us-dsv/us-dsv-rate-limit) and assumed for
  Marketplace [?], the replenishment time as epoch milliseconds [?].
- Deadlines: acknowledge within 4 hours of the order [S, third-party SDK docs]; a line not shipped
  with valid tracking by estimatedShipDate + 4 calendar days is auto-cancelled
  (docs/purchase-order-po-line-auto-canceled-event; an older notice said + 8).

Returns (`connectors.walmart.returns`, Walmart's Returns API; see its docstring for the sources):
a customer's return comes in by the RETURN_CREATED notification (read back before the gateway
acts: `GET /v3/returns?returnOrderId=`) and by `poll_returns` (`GET /v3/returns` with
`returnCreationStartDate`, `meta.nextCursor` pages); its lines map to the purchase order's lines
by `purchaseOrderLineNumber`. "Return received" is the refund of the received lines (`POST
/v3/returns/{returnOrderId}/refund`), after reading the return back so units Walmart shows
refunded are never asked for again. Walmart has no separate "received" call: its refund is how a
seller closes a return it received.

Acknowledgement: Walmart wants each purchase order acknowledged within 4 hours of the order
(`acknowledge_within`). The order workflow (revision 5 on) calls `acknowledge_order` once the
order is mapped, before anything is routed; a refusal, or Walmart unreachable for 15 minutes,
holds the order in the channel exception `ack_overdue` with the window's end as its deadline
(`retry` acknowledges again). `push_shipment` still acknowledges a purchase order with Created
lines before its first ship-lines call (orders started before revision 5 rely on it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
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
from connectors.http import body_of
from connectors.json_values import text
from connectors.walmart import mapping, returns, webhooks
from connectors.walmart.client import WalmartClient, WalmartSettings, walmart_reason
from orderloop.config import ChannelConfig, ConfigError
from orderloop.model import ConnectorRole, Order, Shipment
from orderloop.returns_model import ReturnReceipt, ReturnRequest

log = structlog.get_logger("orderloop.walmart")


class WalmartConnector(MappedReturns):
    def __init__(self, channel: ChannelConfig, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(channel)
        self.settings = WalmartSettings.of(channel)
        self.ship_methods = served_methods(channel, self.settings)
        self.client = WalmartClient(
            channel.base_url,
            lambda: channel.credential("client_id"),
            lambda: channel.credential("client_secret"),
            self.settings,
            http,
        )

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        secret = self.channel.credential("client_secret")
        return webhooks.parse_webhook(secret, self.settings.webhook_auth_header, headers, body)

    async def confirm_event(self, event: InboundEvent) -> InboundEvent:
        """A return request becomes the return order as Walmart's Returns API has it (the
        notification names neither SKUs nor line numbers); an order event"""
        if event.kind is InboundKind.RETURN_REQUESTED:
            return await self._confirm_return(event)
        return await self._confirm_order(event)

    async def _confirm_return(self, event: InboundEvent) -> InboundEvent:
        if event.detail:
            log.warning("walmart.return_notification_names_more", channel=self.channel.id, detail=event.detail)
        if not event.external_return_id:
            return event
        found = await self.client.return_order(event.external_return_id)
        if found is None:
            return event  # kept as it is: the mapping refuses it with the reason, in the return's workflow
        return replace(
            event, payload=found, external_order_id=returns.return_order_id(found) or event.external_order_id
        )

    async def _confirm_order(self, event: InboundEvent) -> InboundEvent:
        """An order event carries the purchase order as Walmart's API has it now (the
        notification's order block lacks what an order needs, and may be stale): one whose every
        line is cancelled by now is a cancel (so a purchase order cancelled before Orderloop saw
        it never starts), and one Walmart fulfils itself (WFS) is ignored: Orderloop ships none."""
        if event.kind not in (InboundKind.ORDER_CREATED, InboundKind.ORDER_UPDATED) or not event.external_order_id:
            return event
        po = await self.client.order(event.external_order_id)
        if mapping.fulfilled_by_walmart(po):
            detail = "a purchase order Walmart fulfils (WFS): nothing for Orderloop to ship"
            return replace(event, kind=InboundKind.IGNORED, payload=po, detail=detail)
        if mapping.all_cancelled(po):
            detail = "every line cancelled at Walmart"
            return replace(event, kind=InboundKind.ORDER_CANCELLED, payload=po, detail=detail)
        return replace(event, payload=po)

    def map_order(self, raw: Mapping[str, Any], *, order_id: str, tenant_id: str, received_at: datetime) -> Order:
        return mapping.map_order(
            raw,
            order_id=order_id,
            tenant_id=tenant_id,
            channel_id=self.channel.id,
            received_at=received_at,
            ship_methods=self.ship_methods,
        )

    acknowledge_within = timedelta(hours=4)

    async def acknowledge_order(self, order: Order) -> str | None:
        """Acknowledge the purchase order once Orderloop accepted it: read first, so one Walmart
        shows acknowledged (or shipped) already asks for nothing."""
        po = await self.client.order(order.external_id)
        if not mapping.needs_acknowledgement(po):
            return None
        await self.acknowledge(order.external_id)
        return f"purchase order {order.external_id} acknowledged"

    async def acknowledge(self, purchase_order_id: str) -> dict[str, Any]:
        """Acknowledge the purchase order (idempotent: Walmart answers an acknowledged one with
        it as it is)."""
        po = await self.client.acknowledge(purchase_order_id)
        log.info("walmart.acknowledged", channel=self.channel.id, purchase_order_id=purchase_order_id)
        return po

    async def push_shipment(self, order: Order, shipment: Shipment) -> str | None:
        """Ship the shipment's units per line with its tracking. Once shipped a line cannot be
        changed, so a retried push reads the purchase order first: units Walmart shows Shipped
        under this tracking number are what an earlier attempt recorded, and only the rest is
        sent (nothing, when everything is). Returns `{purchase order}/{tracking number}`."""
        po_id = order.external_id
        what = f"push shipment {shipment.id} to Walmart purchase order {po_id}"
        if not shipment.tracking_numbers:
            raise PermanentError(f"{what}: Walmart ships a line only with a tracking number, and the 3PL gave none")
        tracking = shipment.tracking_numbers[0]
        carrier = mapping.walmart_carrier(shipment.shipping_carrier, self.settings.carriers)
        other = None
        if carrier is None:
            if not (self.settings.allow_other_carrier and shipment.shipping_carrier and shipment.tracking_url):
                raise PermanentError(
                    f"{what}: carrier {shipment.shipping_carrier!r} is not one Walmart lists: name it in "
                    "settings.carriers (or allow_other_carrier with a tracking URL)"
                )
            other = shipment.shipping_carrier
        po = await self.client.order(po_id)
        try:
            plan = mapping.lines_to_ship(po, shipment, tracking)
        except MappingError as exc:
            raise PermanentError(f"{what}: {exc}") from None
        if plan:
            if mapping.needs_acknowledgement(po):
                await self.acknowledge(po_id)
            body = mapping.shipping_body(
                plan,
                shipment,
                tracking_number=tracking,
                carrier=carrier,
                other_carrier=other,
                method_code=order.shipping_code,
            )
            await self.client.ship_lines(po_id, body)
        log.info(
            "walmart.shipment_pushed",
            channel=self.channel.id,
            purchase_order_id=po_id,
            shipment_id=shipment.id,
            lines=[p.line_number for p in plan],
            already_recorded=not plan,
        )
        return f"{po_id}/{tracking}"

    async def cancel_lines(
        self, order: Order, lines: Mapping[str, int], reason: mapping.CancelReason
    ) -> dict[str, Any] | None:
        """Cancel units of lines (line number -> units) as the seller, with Walmart's reason; only
        what is still open at Walmart is asked for (a retry finds it cancelled). Ready for the
        workflow's channel-cancel hook (`cancel_order`)."""
        po = await self.client.order(order.external_id)
        by_number = {str(text(ln.get("lineNumber"))): ln for ln in mapping.order_lines(po)}
        open_lines = {n: min(q, mapping.open_quantity(by_number[n])) for n, q in lines.items() if n in by_number}
        wanted = {n: q for n, q in open_lines.items() if q > 0}
        if not wanted:
            return None
        return await self.client.cancel_lines(order.external_id, mapping.cancel_body(wanted, reason))

    async def cancel_order(self, order: Order, reason: str) -> bool:
        """Orderloop cancelled the order (an auto-resolve rule): every line's open units are
        cancelled as the seller, with `SELLER_CANCEL_OUT_OF_STOCK` when the reason is stock (the
        usual rule: out of stock for days) and `CUSTOMER_REQUESTED_SELLER_TO_CANCEL` otherwise
        (Walmart lists no general reason). Lines Walmart has cancelled or shipped already are
        left; True once Walmart holds nothing open."""
        stock = any(word in reason.lower() for word in ("stock", "unroutable"))
        why = mapping.CancelReason.SELLER_CANCEL_OUT_OF_STOCK if stock else mapping.CancelReason.CUSTOMER_REQUESTED
        await self.cancel_lines(order, {line.id: line.quantity for line in order.line_items if line.id}, why)
        return True

    async def push_inventory(self, quantities: Mapping[str, int]) -> None:
        """Set each SKU's quantity; one Walmart does not carry (400/404) is skipped with a log line
        so one odd item never blocks the others."""
        for sku, available in sorted(quantities.items()):
            response = await self.client.set_inventory(sku, mapping.inventory_body(sku, available))
            if not response.is_success:
                log.warning(
                    "walmart.inventory_refused",
                    channel=self.channel.id,
                    sku=sku,
                    reason=walmart_reason(body_of(response)),
                )

    async def poll_orders(self, since: datetime) -> list[PolledOrder]:
        """Released purchase orders created since `since`, and every purchase order modified since
        then (the cancels of accepted ones), each once."""
        seen: dict[str, PolledOrder] = {}
        for po in [*await self.client.released_orders(since), *await self.client.modified_orders(since)]:
            external_id = mapping.external_order_id(po)
            if external_id is None or external_id in seen:
                continue
            created = mapping.epoch_ms(po.get("orderDate"))
            seen[external_id] = PolledOrder(
                external_id=external_id,
                payload=po,
                cancelled=mapping.all_cancelled(po),
                created_at=created,
                updated_at=mapping.updated_at(po) or created,
            )
        return list(seen.values())

    # --- returns ---

    returns_mapping: ClassVar[ReturnsMapping] = returns

    async def poll_returns(self, since: datetime) -> list[PolledReturn]:
        """Return orders created since `since` (every page), each once."""
        found: dict[str, PolledReturn] = {}
        for raw in await self.client.returns(returnCreationStartDate=since):
            external_id = returns.external_return_id(raw)
            if external_id is not None and external_id not in found:
                found[external_id] = PolledReturn(external_id, raw, returns.return_order_id(raw))
        return list(found.values())

    async def push_return_received(self, request: ReturnRequest, receipt: ReturnReceipt) -> str | None:
        """Refund the received units of the return's lines (`refund_conditions`). Idempotent: the
        return is read first and units Walmart shows refunded are left out, so a retry (or a second
        push) asks for nothing. Returns the return order id."""
        return_id = request.external_id
        what = f"refund Walmart return {return_id}"
        found = await self.client.return_order(return_id)
        if found is None:
            raise RejectedError(f"{what}: Walmart has no return order {return_id}")
        plan = returns.plan_refund(found, request, receipt, self.settings.refund_conditions)
        if plan:
            customer_order = text(found.get("customerOrderId"))
            if customer_order is None:
                raise PermanentError(f"{what}: the return order names no customerOrderId")
            await self.client.refund_return(return_id, returns.refund_body(customer_order, plan))
        log.info(
            "walmart.return_refunded",
            channel=self.channel.id,
            return_order_id=return_id,
            lines={p.return_line_number: p.quantity for p in plan},
            already_refunded=not plan,
        )
        return return_id

    async def aclose(self) -> None:
        await self.client.aclose()


def served_methods(channel: ChannelConfig, settings: WalmartSettings) -> dict[str, list[str]]:
    """The Walmart ship methods the channel serves, each with the Walmart carriers it may use:
    the channel's `requirements.ship_methods` when it declares them (the same table routing
    checks locations against), else `settings.ship_methods`. A carrier Walmart does not list
    is refused here: `carrierName.carrier` must match one of Walmart's names exactly."""
    if channel.requirements is None or not channel.requirements.ship_methods:
        return dict(settings.ship_methods)
    served = {code: list(channel.shipping_requirements(code).carriers) for code in channel.requirements.ship_methods}
    unknown = sorted({c for carriers in served.values() for c in carriers if mapping.walmart_carrier(c, {}) is None})
    if unknown:
        raise ConfigError(
            f"channel {channel.id!r}: requirements name carrier(s) Walmart does not list: {', '.join(unknown)} "
            "(see connectors/walmart/mapping.py WALMART_CARRIERS)"
        )
    return served


SPEC = ConnectorSpec(
    type="walmart",
    roles=frozenset({ConnectorRole.SELLING}),
    selling=WalmartConnector,
    sandbox="connectors.walmart.sandbox:create_app",
    exception_kinds={
        "ack_overdue": "Walmart did not take the purchase order's acknowledgement (due within 4 hours of the "
        "order): retry acknowledges again",
    },
)
