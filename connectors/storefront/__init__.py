"""The generic custom storefront, a selling channel: its webhooks carry onX orders signed with
Orderloop's scheme, and Orderloop pushes fulfillments (tracking) and available quantities back
over its small REST API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from connectors import onx_returns
from connectors.base import ConnectorSpec, InboundEvent, PolledOrder, SellingConnector
from connectors.json_values import utc_time
from connectors.storefront import mapping, webhooks
from connectors.storefront.client import StorefrontClient
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole, Order, Shipment
from orderloop.returns_model import ReturnReceipt, ReturnRequest


class StorefrontConnector(SellingConnector):
    # Return requests arrive as onX returns (`return.requested`); "received" is posted back.
    supports_returns = True

    def __init__(self, channel: ChannelConfig, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(channel)
        self.client = StorefrontClient(channel.base_url, lambda: channel.credential("api_token"), http)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        return webhooks.parse_webhook(self.channel.credential("webhook_secret"), headers, body, self.channel.id)

    def map_order(self, raw: Mapping[str, Any], *, order_id: str, tenant_id: str, received_at: datetime) -> Order:
        return mapping.map_order(
            raw, order_id=order_id, tenant_id=tenant_id, channel_id=self.channel.id, received_at=received_at
        )

    async def push_shipment(self, order: Order, shipment: Shipment) -> str | None:
        # The shipment id is stable across activity retries, so the storefront records it once.
        result = await self.client.create_fulfillment(
            order.external_id, mapping.fulfillment_body(order, shipment), idempotency_key=shipment.id
        )
        fulfillment_id = result.get("id")
        return str(fulfillment_id) if fulfillment_id is not None else None

    async def push_inventory(self, quantities: Mapping[str, int]) -> None:
        if quantities:
            await self.client.set_inventory(mapping.inventory_body(quantities))

    async def poll_orders(self, since: datetime) -> list[PolledOrder]:
        polled = []
        for raw in await self.client.orders_since(since):
            # The same id the order webhook yields, so a polled order maps to the same workflow.
            external_id = mapping.external_order_id(raw)
            if external_id is not None:
                polled.append(
                    PolledOrder(
                        external_id,
                        raw,
                        cancelled=raw.get("status") == "cancelled",
                        created_at=utc_time(raw.get("createdAt")),
                        updated_at=utc_time(raw.get("updatedAt")),
                    )
                )
        return polled

    def map_return(
        self, raw: Mapping[str, Any], *, return_id: str, tenant_id: str, order_id: str, received_at: datetime
    ) -> ReturnRequest:
        return onx_returns.map_return(
            raw,
            return_id=return_id,
            tenant_id=tenant_id,
            channel_id=self.channel.id,
            order_id=order_id,
            received_at=received_at,
        )

    def return_order_id(self, raw: Mapping[str, Any]) -> str | None:
        return onx_returns.return_order_id(raw)

    async def push_return_received(self, request: ReturnRequest, receipt: ReturnReceipt) -> str | None:
        # Our return id is the Idempotency-Key: a retried push records one notice.
        result = await self.client.return_received(
            request.external_id, onx_returns.received_notice_body(request, receipt), idempotency_key=request.id
        )
        notice = result.get("id")
        return str(notice) if notice is not None else None

    async def aclose(self) -> None:
        await self.client.aclose()


SPEC = ConnectorSpec(
    type="storefront",
    roles=frozenset({ConnectorRole.SELLING}),
    selling=StorefrontConnector,
    sandbox="connectors.storefront.sandbox:create_app",
)
