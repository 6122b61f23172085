"""The generic in-house WMS, a fulfillment channel: Orderloop creates shipping requests over its
REST API (our request id as `externalId` and `Idempotency-Key`), cancels them, and receives
shipments as onX fulfillments on a webhook signed with Orderloop's scheme; the shipment poll
also reads each request back, since a cancel or an edit made in the WMS's own UI sends no webhook."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from pydantic import ValidationError

from connectors import onx_returns, request_checks
from connectors.base import (
    ConnectorSpec,
    ExpectedReturnReceipt,
    FulfillmentConnector,
    InboundEvent,
    MappingError,
    PermanentError,
    ShippingReceipt,
    ShippingRequirements,
    StockRow,
)
from connectors.wms import mapping, webhooks
from connectors.wms.client import WmsClient
from orderloop.activity_models import RequestCheck
from orderloop.config import ChannelConfig
from orderloop.model import Address, ConnectorRole, Shipment, ShippingRequest
from orderloop.returns_model import ExpectedReturn, ReturnLabel, ReturnReceipt


class WmsConnector(FulfillmentConnector):
    # Expected returns by our return id; the receipt comes as `return.received`.
    supports_returns = True

    def __init__(self, channel: ChannelConfig, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(channel)
        self.client = WmsClient(channel.base_url, lambda: channel.credential("api_token"), http)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        return webhooks.parse_webhook(self.channel.credential("webhook_secret"), headers, body, self.channel.id)

    async def create_shipping_request(
        self, request: ShippingRequest, requirements: ShippingRequirements | None = None
    ) -> ShippingReceipt:
        body = mapping.request_body(request, requirements)
        created, is_new = await self.client.create_request(body, request.idempotency_key)
        return ShippingReceipt(vendor_id=str(created["id"]), duplicate=not is_new)

    async def cancel_shipping_request(self, request: ShippingRequest, vendor_id: str | None) -> None:
        # The WMS finds a request by its own id or by our request id (its externalId).
        await self.client.cancel_request(vendor_id or request.id)

    async def fetch_shipments(self, request: ShippingRequest, vendor_id: str | None) -> list[Shipment]:
        raw = await self.client.shipments(vendor_id or request.id)
        try:
            return [mapping.shipment_from_fulfillment(item, self.channel.id) for item in raw]
        except MappingError as exc:
            raise PermanentError(f"shipments of {request.id}: {exc}", body=raw) from exc

    async def check_shipping_request(self, request: ShippingRequest, vendor_id: str | None) -> RequestCheck:
        """Cancelled or changed in the WMS's own UI (it sends no webhook for either), or gone."""
        ref = vendor_id or request.id
        try:
            found = await self.client.get_request(ref)
        except PermanentError as exc:
            if exc.status_code == 404:
                return request_checks.missing(ref)
            raise
        if found.get("status") == "cancelled":
            return request_checks.cancelled(str(found["status"]))
        try:
            address = Address.model_validate(found.get("shippingAddress") or {})
        except ValidationError:
            address = None
        return request_checks.checked(request, request_checks.quantities_of(found.get("lineItems")), address)

    async def fetch_stock(self) -> list[StockRow]:
        raw = await self.client.stock_levels()
        try:
            return [mapping.stock_row(item) for item in raw]
        except MappingError as exc:
            raise PermanentError(f"stock levels: {exc}") from exc

    async def create_return(self, expected: ExpectedReturn) -> ExpectedReturnReceipt:
        created, is_new = await self.client.create_return(
            onx_returns.expected_return_body(expected), expected.return_id
        )
        labels = created.get("labels") or []
        label = ReturnLabel.model_validate(labels[0]) if labels else None
        return ExpectedReturnReceipt(vendor_id=str(created["id"]), label=label, duplicate=not is_new)

    async def fetch_return_receipt(self, return_id: str, vendor_id: str | None) -> ReturnReceipt | None:
        found = await self.client.get_return(vendor_id or return_id)
        if found.get("status") != "received":
            return None
        try:
            return onx_returns.receipt_from_onx(found, None)
        except MappingError as exc:
            raise PermanentError(f"return {return_id}: {exc}", body=found) from exc

    async def aclose(self) -> None:
        await self.client.aclose()


SPEC = ConnectorSpec(
    type="wms",
    roles=frozenset({ConnectorRole.FULFILLMENT}),
    fulfillment=WmsConnector,
    sandbox="connectors.wms.sandbox:create_app",
)
