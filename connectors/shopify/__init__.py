"""Shopify as a selling channel, over the REST Admin API: order webhooks in (HMAC-verified), and
back out the tracking of each shipment (fulfillments against the order's fulfillment orders)
and the available quantity of each SKU at one Shopify location.

Channel configuration: credentials `access_token` (the Admin API access token) and
`webhook_secret` (the app's client secret, which signs webhooks); `base_url` is the shop,
`https://{shop}.myshopify.com`; `settings` are described by `ShopifySettings` (`api_version`,
`location_id`, `notify_customer`, `shippable_financial_statuses`, ...).

Returns (`connectors.shopify.returns`, over the GraphQL Admin API: `connectors.shopify.graphql`;
scopes `read_returns`, `write_returns`): `returns/request` and `returns/approve` webhooks start a
return (their lines name line items by id only: `confirm_event` completes them with the SKUs of
the order read back); `push_return_received` approves a still-requested return (which creates its
reverse fulfillment orders) and disposes the received units on them (restocked at the channel's
location, not restocked, missing), so the merchant can refund them. A retried push reads the
dispositions first and records only what is missing. Return requests are not polled: Shopify's
REST orders list, which the order poller reads, carries no returns.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

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
    RejectedError,
    ReturnsMapping,
)
from connectors.json_values import utc_time
from connectors.shopify import graphql, mapping, returns, webhooks
from connectors.shopify.client import ShopifyClient, ShopifySettings
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole, Order, Shipment
from orderloop.returns_model import ReturnReceipt, ReturnRequest

log = structlog.get_logger("orderloop.shopify")


def shop_domain_of(base_url: str) -> str | None:
    """`{shop}.myshopify.com` when `base_url` is a shop's own address (not a sandbox)."""
    host = (urlsplit(base_url).hostname or "").lower()
    return host if host.endswith(".myshopify.com") else None


class ShopifyConnector(MappedReturns):
    def __init__(self, channel: ChannelConfig, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(channel)
        self.settings = ShopifySettings.of(channel)
        self.client = ShopifyClient(channel.base_url, lambda: channel.credential("access_token"), self.settings, http)
        self.shop_domain = self.settings.shop_domain or shop_domain_of(channel.base_url)
        self._location_id = self.settings.location_id
        # SKU -> inventory item ids, read from the catalogue; see `_inventory_items`.
        self._items: dict[str, list[int]] | None = None
        self._items_read_at = 0.0
        self._missing: set[str] = set()
        self._catalog_lock = asyncio.Lock()

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        return webhooks.parse_webhook(
            self.channel.credential("webhook_secret"), headers, body, self.shop_domain, self.channel.id
        )

    def map_order(self, raw: Mapping[str, Any], *, order_id: str, tenant_id: str, received_at: datetime) -> Order:
        return mapping.map_order(
            raw,
            order_id=order_id,
            tenant_id=tenant_id,
            channel_id=self.channel.id,
            received_at=received_at,
            shippable_statuses=self.settings.shippable_financial_statuses,
        )

    async def push_shipment(self, order: Order, shipment: Shipment) -> str | None:
        """Fulfil the shipped units of the order's open fulfillment orders, with the tracking.

        Shopify takes no idempotency key here, so a retried push first reads the order's
        fulfillments: those carrying this shipment's tracking number are what an earlier attempt
        created, and only what they do not cover is created now. A shipment without a tracking
        number cannot be told from another parcel with the same lines, so it is never taken for
        one: its retry after a lost answer can record the units again while units remain (and
        is refused with 422, the order's `tracking_rejected`, once none do). Returns the
        fulfillment id (ids, comma-separated, when the units sit at several Shopify locations)."""
        order_id = order.external_id
        what = f"push shipment {shipment.id} to Shopify order {order_id}"
        recorded = mapping.recorded_fulfillments(await self.client.fulfillments(order_id), shipment)
        fulfillment_orders = await self.client.fulfillment_orders(order_id)
        try:
            plans = mapping.plan_fulfillments(
                order, shipment, fulfillment_orders, recorded, prefer_location=self.settings.location_id
            )
        except MappingError as exc:
            raise RejectedError(f"{what}: {exc}") from None
        if len(shipment.tracking_numbers) > 1:
            # Shopify keeps one tracking number per fulfillment.
            log.info("shopify.extra_tracking_numbers", shipment_id=shipment.id, unsent=shipment.tracking_numbers[1:])
        ids = [str(f["id"]) for f in recorded]
        for plan in plans:
            created = await self.client.create_fulfillment(plan.body(shipment, self.settings.notify_customer), what)
            ids.append(str(created["id"]))
        log.info(
            "shopify.shipment_pushed",
            order_id=order_id,
            shipment_id=shipment.id,
            fulfillment_ids=ids,
            created=len(plans),
            already_recorded=len(recorded),
        )
        return ",".join(ids) or None

    async def push_inventory(self, quantities: Mapping[str, int]) -> None:
        """Set "available" per SKU at the channel's Shopify location. A SKU no variant carries
        is skipped with a log line, as is one Shopify refuses (404, 422: e.g. a variant whose
        inventory is not tracked), so one odd product never blocks the others."""
        if not quantities:
            return
        location_id = await self._location()
        items = await self._inventory_items(quantities)
        for sku, available in sorted(quantities.items()):
            item_ids = items.get(sku)
            if not item_ids:
                log.info("shopify.inventory_sku_unknown", channel=self.channel.id, sku=sku)
                continue
            for item_id in item_ids:
                body = mapping.inventory_level_body(location_id, item_id, available)
                what = f"set available of {sku} (inventory item {item_id}) at location {location_id}"
                try:
                    await self.client.set_inventory_level(body, what)
                except PermanentError as exc:
                    if exc.status_code not in (404, 422):
                        raise
                    log.warning("shopify.inventory_refused", channel=self.channel.id, sku=sku, reason=str(exc))
                    if exc.status_code == 404:
                        # The variant is gone: read the catalogue again next time.
                        self._items = None

    async def poll_orders(self, since: datetime) -> list[PolledOrder]:
        """Orders updated since `since` (any status), every page of `orders.json`."""
        polled = []
        for raw in await self.client.orders_since(since):
            external_id = mapping.external_order_id(raw)
            if external_id is not None:
                polled.append(
                    PolledOrder(
                        external_id=external_id,
                        payload=raw,
                        cancelled=bool(raw.get("cancelled_at")),
                        created_at=utc_time(raw.get("created_at")),
                        updated_at=utc_time(raw.get("updated_at")),
                    )
                )
        return polled

    # --- returns ---

    returns_mapping: ClassVar[ReturnsMapping] = returns

    async def confirm_event(self, event: InboundEvent) -> InboundEvent:
        """A return request's lines completed with their line items' SKUs, from the order."""
        if event.kind is not InboundKind.RETURN_REQUESTED or not returns.needs_line_items(event.payload):
            return event
        order_id = event.external_order_id or returns.return_order_id(event.payload)
        if order_id is None:
            return event  # the mapping refuses it, with the reason, in the return's workflow
        try:
            order = await self.client.order(order_id)
        except PermanentError as exc:
            if exc.status_code != 404:
                raise
            return event  # an order Shopify no longer has: kept as it is, reported by the workflow
        return InboundEvent(
            kind=event.kind,
            event_id=event.event_id,
            external_order_id=event.external_order_id,
            external_return_id=event.external_return_id,
            payload=returns.with_line_items(event.payload, order),
            occurred_at=event.occurred_at,
            detail=event.detail,
        )

    async def push_return_received(self, request: ReturnRequest, receipt: ReturnReceipt) -> str | None:
        """Dispose the received units on the return's reverse fulfillment orders (approving the
        return first while Shopify still has it requested). Idempotent: what is disposed already
        is read first and left out, so a retry never records a unit twice. Returns the return's
        GraphQL id."""
        gid = f"{returns.RETURN_GID}{request.external_id}"
        what = f"report return {request.external_id} received to Shopify"
        found = await self.client.graphql(graphql.RETURN, {"id": gid}, what)
        if found is None:
            raise RejectedError(f"{what}: Shopify has no return {gid}")
        if found.get("status") == "REQUESTED":
            await self.client.graphql(graphql.RETURN_APPROVE, {"input": {"id": gid, "notifyCustomer": False}}, what)
            found = await self.client.graphql(graphql.RETURN, {"id": gid}, what) or found
        if found.get("status") in ("DECLINED", "CANCELED"):
            raise RejectedError(f"{what}: the return is {str(found['status']).lower()} in Shopify")
        try:
            inputs = returns.plan_dispositions(
                returns.rfo_nodes(found), receipt, await self._location(), self.settings.restock_returns
            )
        except MappingError as exc:
            raise RejectedError(f"{what}: {exc}") from None
        if inputs:
            await self.client.graphql(graphql.RFO_DISPOSE, {"dispositionInputs": inputs}, what)
        log.info("shopify.return_received_pushed", return_id=request.id, shopify_return=gid, dispositions=len(inputs))
        return str(found.get("id") or gid)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _location(self) -> int:
        if self._location_id is not None:
            return self._location_id
        locations = await self.client.locations()
        active = [loc for loc in locations if loc.get("active", True) and isinstance(loc.get("id"), int)]
        if len(active) != 1:
            names = ", ".join(f"{loc.get('id')} ({loc.get('name')})" for loc in active) or "none"
            raise PermanentError(
                f"channel {self.channel.id!r}: settings.location_id is not set and the shop has {len(active)} active "
                f"locations ({names}): set location_id to the one Orderloop publishes availability to"
            )
        self._location_id = int(active[0]["id"])
        return self._location_id

    async def _inventory_items(self, skus: Iterable[str]) -> dict[str, list[int]]:
        """The SKU map, read once and again when a SKU not seen missing before is asked for (a
        product added in Shopify); SKUs already missing re-read it at most every
        `catalog_refresh_seconds`."""
        async with self._catalog_lock:
            now = time.monotonic()
            known = self._items
            unknown = {sku for sku in skus if known is None or sku not in known}
            due = now - self._items_read_at >= self.settings.catalog_refresh_seconds
            if known is None or (unknown - self._missing) or (unknown and due):
                known = mapping.inventory_items_by_sku(await self.client.variants())
                self._items, self._items_read_at = known, now
                self._missing = (self._missing | unknown) - set(known)
            return known


SPEC = ConnectorSpec(
    type="shopify",
    roles=frozenset({ConnectorRole.SELLING}),
    selling=ShopifyConnector,
    sandbox="connectors.shopify.sandbox:create_app",
)
