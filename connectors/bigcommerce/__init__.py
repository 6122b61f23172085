"""BigCommerce as a selling channel, over its REST Management API: thin order webhooks in
(Standard Webhooks, confirmed by reading the order back), an updated-since poll as the backstop,
and back out a shipment per parcel and absolute stock levels at one inventory location.

Channel configuration: `base_url` is `https://api.bigcommerce.com` (the sandbox: its own
address); credentials `access_token` (the API account's or app's `X-Auth-Token`) and
`client_secret` (the app's client secret, which signs webhooks); `settings` are described by
`BigCommerceSettings` (`store_hash`, `shippable_statuses`, `location_id`, ...).

Endpoints used (facts from the bigcommerce/docs repository @24f580c, 2026-04-01:
`reference/orders.v2.oas2.yml`, `reference/inventory.v3.yml`,
`docs/api-docs/getting-started/api-rate-limits.mdx`, `docs/integrations/webhooks/
https-webhook-overview.mdx`, `docs/start/about/status-codes.mdx`):

- `GET /v2/orders/{id}`, `/v2/orders/{id}/products`, `/v2/orders/{id}/shipping_addresses`: the
  order a webhook names, before the gateway acts (`confirm_event`), and each polled order.
- `GET /v2/orders?min_date_modified=&sort=id:asc&page=&limit=`: the poll (v2 answers 204 No
  Content for a page past the end, as it does for an order without shipments).
- `GET` and `POST /v2/orders/{id}/shipments`: the tracking push. BigCommerce takes no idempotency
  key (none is documented), so the push reads the order's shipments first and creates none when
  one carries our shipment id in its `comments` (or the parcel's tracking number). Each shipment
  names the `order_address_id` of its products: an order shipping to several addresses is one
  fulfilment part per address (see `mapping`), so a parcel never holds two addresses' products.
- `PUT /v3/inventory/adjustments/absolute`: stock by SKU at `settings.location_id`, at most 2,000
  items per request (its documented limit).

Statuses: an order is started only in one of `shippable_statuses` (default 11 Awaiting
Fulfillment, 9 Awaiting Shipment). A webhook or a poll finding it in another one starts nothing:
the gateway answers the delivery `ignored` with the reason (0 Incomplete, 6 Declined, 12 Manual
Verification Required name BigCommerce's reason), the connector logs `bigcommerce.order_held`,
and the event (or the polled order) carries the hold, which the ledger lists
(`orderloop orders held`) until the order starts or is cancelled; the later
`store/order/statusUpdated` (or the poll) starts it once its
status says it can ship. Status 5 (Cancelled) cancels the order (its hold window, or the 3PL's
cancel). Status 13 (Disputed) is the order's `payment_disputed` channel exception: before send
it holds the order (the seller goes on with `retry`, or cancels), after send it opens beside the
shipments, and for an order Orderloop does not run (closed, never received) it is reported to
the playbook's sinks; the dispute itself is answered at the payment provider, not here.

Returns: not supported, because BigCommerce's API carries none. Its REST Management API has no
returns or RMA resource (v2 or v3: the store's return requests live only in the control panel's
legacy Returns feature; "RMA/Returns through API ... No API exists", bigcommerce/api issue #107,
open since 2018, and BigCommerce points merchants to partner return apps, bigcommerce/catalyst
issue #2052), so no return request can reach Orderloop from it. Orders V3's refunds
(`/v3/orders/{id}/payment_actions/refunds`) move money, not goods, and a refund with no return to
answer has nothing to be driven by. The connector keeps the role's defaults, explicitly:
`supports_returns = False`, `push_return_received` raises `ReturnsNotSupported`.

Not found in BigCommerce's docs, settled here: the exact body of a 422 from the absolute
adjustment for an unknown SKU (the sandbox names the refused items in `errors` as
`items.{index}`; the connector drops those and sends the rest again), and whether a hook firing
twice keeps its `webhook-id` (the `hash` is documented to stay the same, so it is the key).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
import structlog

from connectors.base import (
    ChannelHold,
    ConnectorSpec,
    InboundEvent,
    InboundKind,
    MappingError,
    PermanentError,
    PolledOrder,
    RejectedError,
    SellingConnector,
)
from connectors.bigcommerce import mapping, webhooks
from connectors.bigcommerce.client import BigCommerceClient, BigCommerceSettings
from connectors.bigcommerce.mapping import HELD_REASONS, OrderStatusId
from orderloop.config import ChannelConfig
from orderloop.contracts import ChannelException
from orderloop.model import ConnectorRole, Order, Shipment

log = structlog.get_logger("orderloop.bigcommerce")

_ORDER_EVENTS = frozenset({InboundKind.ORDER_CREATED, InboundKind.ORDER_UPDATED, InboundKind.ORDER_CANCELLED})
# Statuses of an order that left the warehouse (or was paid back): nothing to route any more.
_AFTER_SHIPPING = frozenset(
    {
        OrderStatusId.SHIPPED,
        OrderStatusId.PARTIALLY_SHIPPED,
        OrderStatusId.COMPLETED,
        OrderStatusId.REFUNDED,
        OrderStatusId.PARTIALLY_REFUNDED,
    }
)
_REFUSED_ITEM = re.compile(r"^items\.(\d+)")


# The channel exception of an order BigCommerce moved to status 13 Disputed.
PAYMENT_DISPUTED = "payment_disputed"


class BigCommerceConnector(SellingConnector):
    # No returns resource in BigCommerce's API (module docstring): the returns role's defaults.
    supports_returns = False

    def __init__(self, channel: ChannelConfig, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(channel)
        self.settings = BigCommerceSettings.of(channel)
        self.client = BigCommerceClient(
            channel.base_url, lambda: channel.credential("access_token"), self.settings, http
        )

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        return webhooks.parse_webhook(self.channel.credential("client_secret"), headers, body, self.settings.store_hash)

    async def confirm_event(self, event: InboundEvent) -> InboundEvent:
        """The order a thin webhook names, read back: the event then carries the order document
        (what the workflow maps), its kind follows the order's status now (a hook may arrive
        late or twice), and an order that may not ship yet starts nothing (`IGNORED` with why)."""
        if event.kind not in _ORDER_EVENTS or event.external_order_id is None:
            return event
        order_id = event.external_order_id
        try:
            order = await self.client.order(order_id)
        except PermanentError as exc:
            if exc.status_code != 404:
                raise
            return self._ignored(event, f"order {order_id} is not in the store (archived or deleted)", {})
        document = await self._document(order)
        status = mapping.status_of(document)
        occurred_at = mapping.bigcommerce_datetime(document.get("date_modified")) or event.occurred_at
        if status is OrderStatusId.CANCELLED:
            detail = event.detail or "cancelled in BigCommerce (status 5)"
            return InboundEvent(
                kind=InboundKind.ORDER_CANCELLED,
                event_id=event.event_id,
                external_order_id=order_id,
                payload=document,
                occurred_at=occurred_at,
                detail=detail,
            )
        if status is OrderStatusId.DISPUTED:
            return self._disputed(event, document, occurred_at)
        reason = self.not_routable(document)
        if reason is not None:
            return self._ignored(event, reason, document, self.channel_hold(document))
        kind = InboundKind.ORDER_CREATED if event.kind is InboundKind.ORDER_CREATED else InboundKind.ORDER_UPDATED
        return InboundEvent(
            kind=kind, event_id=event.event_id, external_order_id=order_id, payload=document, occurred_at=occurred_at
        )

    def not_routable(self, document: Mapping[str, Any]) -> str | None:
        """Why an order is not to be started (or edited) now, logged; None when it may ship."""
        reason = mapping.hold_reason(document, self.settings.shippable_statuses)
        if reason is None:
            return None
        status = mapping.status_of(document)
        order_id = mapping.external_order_id(document)
        if status is OrderStatusId.DISPUTED:
            log.warning("bigcommerce.order_disputed", channel=self.channel.id, order_id=order_id)
            return f"the BigCommerce order is {mapping.status_label(document)}: the buyer disputes the payment"
        if status in _AFTER_SHIPPING:
            return f"the BigCommerce order is {mapping.status_label(document)}: nothing to route"
        logger = log.warning if status in HELD_REASONS else log.info
        logger("bigcommerce.order_held", channel=self.channel.id, order_id=order_id, status=status, reason=reason)
        return reason

    def channel_hold(self, order: Mapping[str, Any]) -> ChannelHold | None:
        """The store's hold of an order that may not ship yet (0 Incomplete, 6 Declined, 12 Manual
        Verification Required, 7 Awaiting Payment, ...: any status outside `shippable_statuses`),
        with BigCommerce's reason; None for one that may ship, is cancelled, disputed or past
        shipping (nothing will start it, so it is no hold)."""
        status = mapping.status_of(order)
        if status in (OrderStatusId.CANCELLED, OrderStatusId.DISPUTED) or status in _AFTER_SHIPPING:
            return None
        reason = mapping.hold_reason(order, self.settings.shippable_statuses)
        return None if reason is None else ChannelHold(reason=reason, status=mapping.status_label(order))

    def map_order(self, raw: Mapping[str, Any], *, order_id: str, tenant_id: str, received_at: datetime) -> Order:
        return mapping.map_order(
            raw,
            order_id=order_id,
            tenant_id=tenant_id,
            channel_id=self.channel.id,
            received_at=received_at,
            shippable_statuses=self.settings.shippable_statuses,
        )

    async def push_shipment(self, order: Order, shipment: Shipment) -> str | None:
        """Record the parcel as one BigCommerce shipment, unless an earlier attempt did (read back
        and matched: BigCommerce takes no idempotency key). Returns the shipment id."""
        order_id = order.external_id
        what = f"push shipment {shipment.id} to BigCommerce order {order_id}"
        recorded = mapping.recorded_shipment(await self.client.shipments(order_id), shipment)
        if recorded is not None:
            log.info("bigcommerce.shipment_already_recorded", order_id=order_id, shipment_id=shipment.id)
            return str(recorded.get("id"))
        try:
            body = mapping.shipment_body(order, shipment, self.settings.shipping_providers)
        except MappingError as exc:
            raise RejectedError(f"{what}: {exc}") from None
        created = await self.client.create_shipment(order_id, body, what)
        log.info(
            "bigcommerce.shipment_pushed", order_id=order_id, shipment_id=shipment.id, bc_shipment=created.get("id")
        )
        return str(created.get("id"))

    async def push_inventory(self, quantities: Mapping[str, int]) -> None:
        """Absolute levels at the channel's location, in batches of `inventory_batch` items. The
        items BigCommerce refuses (422: a SKU it does not carry) are logged and the rest sent
        again, so one odd product never blocks the others."""
        items = mapping.inventory_items(quantities, self.settings.location_id)
        size = self.settings.inventory_batch
        for start in range(0, len(items), size):
            if start:
                await self.client.pace()
            await self._set_batch(items[start : start + size])

    async def _set_batch(self, batch: list[dict[str, Any]]) -> None:
        what = f"set {len(batch)} inventory level(s) at location {self.settings.location_id}"
        try:
            await self.client.set_inventory(batch, what)
            return
        except RejectedError as exc:
            refused = _refused_items(exc.body, len(batch))
            if not refused:
                raise
            log.warning(
                "bigcommerce.inventory_refused",
                channel=self.channel.id,
                skus=[batch[i]["sku"] for i in sorted(refused)],
                reason=str(exc),
            )
        rest = [item for i, item in enumerate(batch) if i not in refused]
        if rest:
            await self.client.set_inventory(rest, what)

    async def poll_orders(self, since: datetime) -> list[PolledOrder]:
        """Orders modified since `since`, page by page (BigCommerce deactivates a hook after 48 h
        of failed deliveries, so this must be enough on its own): a cancelled one as a cancel,
        a routable one with its products and addresses, a held one (not yet shippable) with its
        hold and the order alone (no products or addresses read for it); the others (disputed,
        past shipping) are skipped and logged."""
        polled: list[PolledOrder] = []
        held = skipped = 0
        async for page in self.client.orders_modified_since(since):
            for order in page:
                external_id = mapping.external_order_id(order)
                if external_id is None:
                    continue
                status = mapping.status_of(order)
                if status is not OrderStatusId.CANCELLED and self.not_routable(order) is not None:
                    hold = self.channel_hold(order)
                    if hold is None:
                        skipped += 1
                        continue
                    held += 1
                    polled.append(
                        PolledOrder(
                            external_id=external_id,
                            payload=order,
                            created_at=mapping.bigcommerce_datetime(order.get("date_created")),
                            updated_at=mapping.bigcommerce_datetime(order.get("date_modified")),
                            hold=hold,
                        )
                    )
                    continue
                document = order if status is OrderStatusId.CANCELLED else await self._document(order)
                polled.append(
                    PolledOrder(
                        external_id=external_id,
                        payload=document,
                        cancelled=status is OrderStatusId.CANCELLED,
                        created_at=mapping.bigcommerce_datetime(order.get("date_created")),
                        updated_at=mapping.bigcommerce_datetime(order.get("date_modified")),
                    )
                )
        log.info(
            "bigcommerce.orders_polled",
            channel=self.channel.id,
            routable=len(polled) - held,
            held=held,
            not_routable=held + skipped,
        )
        return polled

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _document(self, order: dict[str, Any]) -> dict[str, Any]:
        order_id = str(order.get("id"))
        products = await self.client.order_products(order_id)
        addresses = await self.client.shipping_addresses(order_id)
        return mapping.order_document(order, products, addresses)

    def _disputed(self, event: InboundEvent, document: dict[str, Any], occurred_at: datetime | None) -> InboundEvent:
        """The buyer disputes the payment (status 13): the order's `payment_disputed` case. The
        seller answers the dispute at the payment provider, not through BigCommerce's API, so
        no deadline comes with it and nothing is told back."""
        order_id = mapping.external_order_id(document) or event.external_order_id
        log.warning("bigcommerce.order_disputed", channel=self.channel.id, order_id=order_id)
        case = ChannelException(
            kind=PAYMENT_DISPUTED,
            message=f"the buyer disputes the payment of order {order_id} ({mapping.status_label(document)})",
            reference=f"{order_id}/disputed/{document.get('date_modified') or ''}",
            detail={"statusId": OrderStatusId.DISPUTED.value, "paymentMethod": document.get("payment_method")},
        )
        return InboundEvent(
            kind=InboundKind.ORDER_EXCEPTION,
            event_id=event.event_id,
            external_order_id=order_id,
            payload=document,
            occurred_at=occurred_at,
            detail=case.message,
            channel_exception=case,
        )

    def _ignored(
        self, event: InboundEvent, reason: str, document: dict[str, Any], hold: ChannelHold | None = None
    ) -> InboundEvent:
        return InboundEvent(
            kind=InboundKind.IGNORED,
            event_id=event.event_id,
            external_order_id=event.external_order_id,
            payload=document or event.payload,
            occurred_at=event.occurred_at,
            detail=reason,
            hold=hold,
        )


def _refused_items(body: Any, count: int) -> set[int]:
    """Indexes of the items a 422 names (`errors: {"items.3.sku": ...}`)."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, dict):
        return set()
    found = {int(m.group(1)) for key in errors if (m := _REFUSED_ITEM.match(str(key)))}
    return {i for i in found if i < count}


SPEC = ConnectorSpec(
    type="bigcommerce",
    roles=frozenset({ConnectorRole.SELLING}),
    selling=BigCommerceConnector,
    sandbox="connectors.bigcommerce.sandbox:create_app",
    exception_kinds={
        PAYMENT_DISPUTED: "the buyer disputes the payment (status 13 Disputed): hold or cancel what is not shipped; "
        "the dispute itself is answered at the payment provider",
    },
)
