"""ShipBob, a 3PL fulfillment channel: Orderloop creates one ShipBob order per shipping request
(our request id is the order's unique `reference_id`, so a retried create is recognised, never
shipped twice), cancels it before pick, learns shipments from `order.shipped` webhooks or by
polling the order's shipments, and reads inventory levels per fulfillment center.

Configuration (`orderloop.yaml`): credentials `api_token` (a ShipBob personal access token) and
`webhook_secret` (the `whsec_...` secret of the webhook subscription); settings as described by
`ShipBobSettings` (`channel_id` required; `fulfillment_centers` maps our locations to centers).

Returns (`connectors.shipbob.returns`): `create_return` creates the return order at the
location's fulfillment center with our return id as its `reference_id` (a retried create that
ShipBob refuses as a duplicate finds the existing return instead of a second one); the
`return.completed` webhook and `fetch_return_receipt` give the receipt, each unit's condition
from what ShipBob's staff did with it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from connectors import request_checks
from connectors.base import (
    AlreadyShippedError,
    ConnectorSpec,
    ExpectedReturnReceipt,
    FulfillmentConnector,
    InboundEvent,
    InboundKind,
    MappingError,
    PermanentError,
    RejectedError,
    RetryableError,
    ShippingReceipt,
    ShippingRequirements,
    StockRow,
)
from connectors.http import body_of
from connectors.shipbob import mapping, returns, webhooks
from connectors.shipbob.client import ShipBobClient, shipbob_reason
from connectors.shipbob.mapping import OrderStatus, ShipmentStatus
from orderloop.activity_models import RequestCheck
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole, Shipment, ShippingRequest
from orderloop.returns_model import ExpectedReturn, ReturnReceipt


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

    async def create_shipping_request(
        self, request: ShippingRequest, requirements: ShippingRequirements | None = None
    ) -> ShippingReceipt:
        try:
            body = mapping.order_body(request, self.settings, requirements)
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

        def judge(order: dict[str, Any]) -> RequestCheck:
            if order.get("status") == OrderStatus.CANCELLED:
                return request_checks.cancelled(str(order["status"]))
            return request_checks.checked(request, request_checks.quantities_of(order.get("products"), "reference_id"))

        order_id = vendor_id or await self._order_id(request.id)
        return await request_checks.read_back(request, order_id, self.client.get_order, judge, "ShipBob")

    async def fetch_stock(self) -> list[StockRow]:
        raw = await self.client.inventory_by_fulfillment_center()
        try:
            return mapping.stock_rows(raw, self.settings)
        except MappingError as exc:
            raise PermanentError(f"ShipBob inventory levels: {exc}") from exc

    # --- returns ---

    supports_returns = True

    async def confirm_event(self, event: InboundEvent) -> InboundEvent:
        """A return webhook's receipt, from the return order read back (with each inventory
        item's SKU); IGNORED when ShipBob shows nothing processed yet."""
        if event.kind is not InboundKind.RETURN_RECEIVED or event.return_receipt is not None:
            return event
        vendor_id = str(webhooks.return_resource(event.payload).get("id") or "")
        order = await self.client.get_return(vendor_id)
        receipt = await self._receipt(order, event.event_id)
        if receipt is None:
            return InboundEvent(
                kind=InboundKind.IGNORED,
                event_id=event.event_id,
                payload=event.payload,
                detail=f"ShipBob return {vendor_id} shows nothing processed (status {order.get('status')})",
            )
        return InboundEvent(
            kind=InboundKind.RETURN_RECEIVED,
            event_id=event.event_id,
            payload=event.payload,
            return_receipt=receipt,
            occurred_at=receipt.received_at,
            detail=event.detail,
        )

    async def create_return(self, expected: ExpectedReturn) -> ExpectedReturnReceipt:
        """`POST /return` with our return id as `reference_id`. ShipBob refuses a reference used
        before (422): the return an earlier attempt created is then looked up and answered."""
        existing = await self._find_return(expected.return_id)
        if existing is not None:
            return ExpectedReturnReceipt(vendor_id=str(existing["id"]), duplicate=True)
        ids = returns.inventory_ids_by_sku(await self.client.inventory_by_fulfillment_center())
        try:
            body = returns.return_body(expected, self.settings, ids)
        except MappingError as exc:
            raise RejectedError(f"return {expected.return_id}: {exc}") from exc
        try:
            created = await self.client.create_return(body)
        except RejectedError as exc:
            if exc.status_code != 422:
                raise
            found = await self._find_return(expected.return_id)
            if found is None:
                raise
            return ExpectedReturnReceipt(vendor_id=str(found["id"]), duplicate=True)
        return ExpectedReturnReceipt(vendor_id=str(created["id"]))

    async def fetch_return_receipt(self, return_id: str, vendor_id: str | None) -> ReturnReceipt | None:
        order = await self.client.get_return(vendor_id) if vendor_id else await self._find_return(return_id)
        if order is None:
            return None
        return await self._receipt(order, None)

    async def _receipt(self, order: dict[str, Any], event_id: str | None) -> ReturnReceipt | None:
        skus = {
            inventory_id: sku
            for sku, inventory_id in returns.inventory_ids_by_sku(
                await self.client.inventory_by_fulfillment_center()
            ).items()
        }
        try:
            return returns.receipt_from_return(order, self.settings, skus, event_id)
        except MappingError as exc:
            raise PermanentError(f"ShipBob return {order.get('id')}: {exc}", body=order) from exc

    async def _find_return(self, reference_id: str) -> dict[str, Any] | None:
        found = await self.client.returns_by_reference(reference_id)
        return found[0] if found else None

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
