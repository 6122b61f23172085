"""The B2B ordering portal, a selling channel for wholesale buyers (the brand's own portal, or a
B2B app in front of its shop). There is no public vendor behind it: the portal speaks onX-style
JSON, and this package defines its API, v1, and emulates it (`sandbox`). Sources for what it
follows: the onX order schema of onX's MCP reference server (`customerPONumber`,
`paymentTerms`, `shipAfterDate`, `shipCancelByDate`; `markforAddress.locationIdentifier` as the
issue names it), and the Standard Webhooks specification (standardwebhooks.com) for signing.

- Orders arrive as signed webhooks (`webhooks`): `order.created`, `order.updated` (the buyer
  amended the PO), `order.cancelled`; `poll_orders` reads `GET /v1/orders` for a lost one.
- Every portal order is `wholesale` (`mapping`): PO number, buyer account, terms, ship window,
  ship-complete, mark-for, case packs. A line off its case pack waits in `case_pack_violation`;
  the window and cancel-by date are the order's SLA (see docs/wholesale.md).
- Back to the portal: each line's decision once the order is allocated
  (`confirms_allocation`: `POST /v1/orders/{id}/acknowledgement`, once per order), tracking
  per shipment, the invoice PDF for the buyer (`POST /v1/orders/{id}/documents`), a cancel by
  Orderloop, and the available-to-sell per buyer account: `settings.accounts` maps each
  account id to its `buffer` (units held back) and `share` (percent of what the channel may
  sell); an account not listed is sent nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from connectors.b2b import mapping, webhooks
from connectors.b2b.client import B2BPortalClient
from connectors.base import ConnectorSpec, InboundEvent, PolledOrder, SellingConnector
from connectors.json_values import utc_time
from orderloop.config import ChannelConfig
from orderloop.documents.pdf import invoice
from orderloop.model import ConnectorRole, LineDecision, Order, Shipment


class B2BPortalConnector(SellingConnector):
    confirms_allocation = True

    def __init__(self, channel: ChannelConfig, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(channel)
        self.client = B2BPortalClient(channel.base_url, lambda: channel.credential("api_token"), http)
        # Checked when the channel is built, so a bad `settings.accounts` fails at start-up.
        self.accounts = mapping.account_shares(channel.settings)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        return webhooks.parse_webhook(self.channel.credential("webhook_secret"), headers, body)

    def map_order(self, raw: Mapping[str, Any], *, order_id: str, tenant_id: str, received_at: datetime) -> Order:
        return mapping.map_order(
            raw, order_id=order_id, tenant_id=tenant_id, channel_id=self.channel.id, received_at=received_at
        )

    async def confirm_allocation(self, order: Order, lines: list[LineDecision]) -> str | None:
        # One acknowledgement per order: its id is the key, so a retry replays the first answer.
        response = await self.client.acknowledge(
            order.external_id, mapping.acknowledgement_body(order, lines), idempotency_key=order.id
        )
        if response.headers.get("Idempotent-Replayed") == "true":
            return None
        counts = {status: sum(1 for line in lines if line.status == status) for status in ("accepted", "changed")}
        rejected = len(lines) - sum(counts.values())
        return f"acknowledged: {counts['accepted']} accepted, {counts['changed']} changed, {rejected} rejected"

    async def push_shipment(self, order: Order, shipment: Shipment) -> str | None:
        """Tracking, then the shipment's invoice as a PDF for the buyer (both keyed by the
        shipment id: a retried push records neither twice)."""
        result = await self.client.create_fulfillment(
            order.external_id, mapping.fulfillment_body(order, shipment), idempotency_key=shipment.id
        )
        number = invoice_number(order, shipment)
        issued = shipment.shipped_at or order.updated_at
        await self.client.upload_document(
            order.external_id,
            "invoice",
            f"{number}.pdf",
            invoice(order, shipment, number, issued),
            idempotency_key=f"invoice/{shipment.id}",
        )
        fulfillment_id = result.get("id")
        return str(fulfillment_id) if fulfillment_id is not None else None

    async def cancel_order(self, order: Order, reason: str) -> bool:
        await self.client.cancel(order.external_id, reason, idempotency_key=f"{order.id}/cancel")
        return True

    async def push_inventory(self, quantities: Mapping[str, int]) -> None:
        if not quantities:
            return
        for account, share in self.accounts.items():
            await self.client.set_account_inventory(
                account, mapping.inventory_body(mapping.account_quantities(quantities, share))
            )

    async def poll_orders(self, since: datetime) -> list[PolledOrder]:
        polled = []
        for raw in await self.client.orders_since(since):
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

    async def aclose(self) -> None:
        await self.client.aclose()


def invoice_number(order: Order, shipment: Shipment) -> str:
    """One invoice per shipment: the order's id and the shipment's."""
    return f"INV-{order.external_id}-{shipment.id.rsplit('/', 1)[-1]}"


SPEC = ConnectorSpec(
    type="b2b",
    roles=frozenset({ConnectorRole.SELLING}),
    selling=B2BPortalConnector,
    sandbox="connectors.b2b.sandbox:create_app",
)
