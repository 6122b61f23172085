"""ShipBob, a 3PL fulfillment channel: Orderloop creates one ShipBob order per shipping request
(our request id is the order's unique `reference_id`, so a retried create is recognised, never
shipped twice), cancels it before pick, learns shipments from `order.shipped` webhooks or by
polling the order's shipments, and reads inventory levels per fulfillment center.

Configuration (`orderloop.yaml`): credentials `api_token` (a ShipBob personal access token) and
`webhook_secret` (the `whsec_...` secret of the webhook subscription); settings as described by
`ShipBobSettings` (`channel_id` required; `fulfillment_centers` maps our locations to centers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from connectors import request_checks
from connectors.base import (
    AlreadyShippedError,
    ConnectorSpec,
    FulfillmentConnector,
    InboundEvent,
    MappingError,
    PermanentError,
    RejectedError,
    RetryableError,
    ShippingReceipt,
    StockRow,
)
from connectors.http import body_of
from connectors.shipbob import mapping, webhooks
from connectors.shipbob.client import ShipBobClient, shipbob_reason
from connectors.shipbob.mapping import OrderStatus, ShipmentStatus
from orderloop.activity_models import RequestCheck
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole, Shipment, ShippingRequest


class ShipBobConnector(FulfillmentConnector):
    def __init__(self, channel: ChannelConfig, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(channel)
        self.settings = mapping.settings_of(channel)
        self.client = ShipBobClient(
            channel.base_url,
            lambda: channel.credential("api_token"),
            self.settings.channel_id,
            self.settings.api_version,
            http,
        )

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        return webhooks.parse_webhook(
            self.channel.credential("webhook_secret"), headers, body, self.settings, self.channel.id
        )

    async def create_shipping_request(self, request: ShippingRequest) -> ShippingReceipt:
        try:
            body = mapping.order_body(request, self.settings)
        except MappingError as exc:
            raise PermanentError(f"shipping request {request.id}: {exc}") from exc
        try:
            created = await self.client.create_order(body)
        except RejectedError as exc:
            if exc.status_code != 422:
                raise
            # A duplicate reference_id is refused with 422: the order exists (an earlier attempt
            # got through), so this is the same request, not a refusal.
            existing = await self._find_order(request.id)
            if existing is not None:
                return ShippingReceipt(vendor_id=str(existing["id"]), duplicate=True)
            if "duplicate" in str(exc).lower():
                raise RetryableError(
                    f"create ShipBob order {request.id}: ShipBob reports a duplicate reference_id "
                    "but does not list the order yet"
                ) from exc
            raise
        return ShippingReceipt(vendor_id=str(created["id"]))

    async def cancel_shipping_request(self, request: ShippingRequest, vendor_id: str | None) -> None:
        order_id = vendor_id or await self._order_id(request.id)
        if order_id is None:
            return  # never reached ShipBob: nothing to cancel
        response = await self.client.cancel_order(order_id)
        if response.status_code == 422:
            await self._explain_refused_cancel(order_id, shipbob_reason(body_of(response)))
            return
        result = response.json()
        refused = [r for r in result.get("canceled_shipment_results") or [] if not r.get("is_success")]
        if refused or result.get("status") == "Failure":
            reasons = "; ".join(f"shipment {r.get('shipment_id')}: {r.get('reason') or 'refused'}" for r in refused)
            raise AlreadyShippedError(
                f"cancel ShipBob order {order_id}: {result.get('status')}: {reasons or 'refused'}",
                status_code=response.status_code,
                body=result,
            )

    async def fetch_shipments(self, request: ShippingRequest, vendor_id: str | None) -> list[Shipment]:
        order_id = vendor_id or await self._order_id(request.id)
        if order_id is None:
            return []
        raw = await self.client.order_shipments(order_id)
        try:
            return [
                mapping.shipment_from_shipbob(item, self.settings, self.channel.id, reference_id=request.id)
                for item in raw
                if mapping.is_shipped(item)
            ]
        except MappingError as exc:
            raise PermanentError(f"shipments of {request.id}: {exc}", body=raw) from exc

    async def check_shipping_request(self, request: ShippingRequest, vendor_id: str | None) -> RequestCheck:
        """Cancelled or its products changed in ShipBob's dashboard, or gone (its address is not
        compared: ShipBob reports an address it corrects with `order.shipment.address.updated`)."""
        order_id = vendor_id or await self._order_id(request.id)
        if order_id is None:
            return request_checks.missing(request.id)
        try:
            order = await self.client.get_order(order_id)
        except PermanentError as exc:
            if exc.status_code == 404:
                return request_checks.missing(f"ShipBob order {order_id}")
            raise
        if order.get("status") == OrderStatus.CANCELLED:
            return request_checks.cancelled(str(order["status"]))
        return request_checks.checked(request, request_checks.quantities_of(order.get("products"), "reference_id"))

    async def fetch_stock(self) -> list[StockRow]:
        raw = await self.client.inventory_by_fulfillment_center()
        try:
            return mapping.stock_rows(raw, self.settings)
        except MappingError as exc:
            raise PermanentError(f"ShipBob inventory levels: {exc}") from exc

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _find_order(self, reference_id: str) -> dict[str, Any] | None:
        found = await self.client.orders_by_reference(reference_id)
        return found[0] if found else None

    async def _order_id(self, reference_id: str) -> str | None:
        order = await self._find_order(reference_id)
        return None if order is None else str(order["id"])

    async def _explain_refused_cancel(self, order_id: str, reason: str) -> None:
        """ShipBob refused the cancel (422). Already cancelled (a retried compensation) is done;
        otherwise a shipment is past the point of cancelling (picked, packed or shipped)."""
        order = await self.client.get_order(order_id)
        shipments = [s for s in order.get("shipments") or [] if isinstance(s, dict)]
        if order.get("status") == OrderStatus.CANCELLED or (
            shipments and all(s.get("status") == ShipmentStatus.CANCELLED for s in shipments)
        ):
            return
        statuses = ", ".join(f"{s.get('id')}: {s.get('status')}" for s in shipments) or "no shipments"
        raise AlreadyShippedError(
            f"cancel ShipBob order {order_id}: HTTP 422: {reason} (shipments {statuses})", status_code=422, body=order
        )


SPEC = ConnectorSpec(
    type="shipbob",
    roles=frozenset({ConnectorRole.FULFILLMENT}),
    fulfillment=ShipBobConnector,
    sandbox="connectors.shipbob.sandbox:create_app",
)
