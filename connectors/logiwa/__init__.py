"""Logiwa, a 3PL warehouse system, as a fulfillment channel: Orderloop creates one shipment order
per shipping request with `InsertShipmentOrder` (our request id is its `Code`, so a retried create
finds the order instead of making another), cancels it with `CancelShipmentOrder` until picking
starts, learns shipments by polling `WarehouseOrderSearch` (the primary source) and from webhooks
it confirms there first, and reads stock with `InventoryItemSearch`.

Configuration (`orderloop.yaml`): credentials `username`, `password` (the API user Logiwa
provisions) and `webhook_token` (the secret the brand sets as a custom header on its Logiwa
webhook subscriptions); settings as `LogiwaSettings` (`depositor_code`, `warehouses` required;
`tier` must agree with the channel's `rate_limit_per_second`, which paces its queue). Set
`poll_shipments_every`: Logiwa does not guarantee webhook delivery.

What the sources say (found with `search`, October 2026; the Integration API publishes no
OpenAPI and its reference pages render by JavaScript):
- Token, paths, errors, limits: api-evangelist/logiwa (harvest of developer.logiwa.com:
  authentication/, errors/, rate-limits/, asyncapi/logiwa-webhooks.yml). Password grant at
  `https://{env}api.logiwa.com/token` -> `access_token, token_type, expires_in, .issued,
  .expires` (about two weeks); a bad password is HTTP 200 `{"error": "invalid_grant"}`; an
  expired token HTTP 401 `{"Message": "Authorization has been denied for this request."}`;
  refusals HTTP 200 `{"Success": false, "Errors": [text]}` (no codes; an opaque log id at worst);
  throttling HTTP 403 "... Please retry after {t} milliseconds later." with no header; tiers
  Standard 1/s & 60/min, Enterprise 1 per 113 ms & 530/min, Premium 1 per 50 ms & 1,200/min.
- Method names (`InsertShipmentOrder`, `WarehouseOrderSearch`, `CancelShipmentOrder`,
  `InventoryItemSearch`), the order record's fields (`ID, Code, CustomerOrderNo,
  WarehouseOrderStatusCode, IsPickingStarted, CarrierTrackingNumber, ActualShipDate,
  DetailInfo[ShippedCuQuantity, ...]`), the search filter (`Code, IsGetOrderDetails, PageSize,
  SelectedPageIndex`) and the date format `MM.dd.yyyy HH:mm:ss`: PrimePenguin/LogiwaSharp
  (Consts.cs, Dto/GetOrderResponse.cs, Dto/OrderRequestFilter.cs, LogiwaService.cs).
- Webhooks: configured in the WMS UI (callback URL only) or Logiwa IO's webhook platform
  (webhook.logiwa.com, whose subscriptions carry custom headers: where the token goes); no
  signature, no retry policy, no ordering or delivery guarantee. Topic payload fields from the
  harvest's event catalog.
Not found, assumed [?]: InsertShipmentOrder's body fields (we use the order record's own names,
`Details[InventoryItemCode, InventoryItemPackType, PackQuantity]`), CancelShipmentOrder's body
(`ID`, `Code`), the status codes' spelling (`mapping.OrderStatus`), the item code field of
`DetailInfo` (`InventoryItemInfo`) and of "Order Shipment Info" (`Details[InventoryItemCode,
CuQuantity]`), and InventoryItemSearch's stock fields (`StockQuantity`,
`AvailableStockQuantity`, `WarehouseCode`). Open question 6 (Integration API or Logiwa IO REST):
this connector speaks the Integration API, the one with public reference pages.

Returns: not carried (`supports_returns` stays False, so the return workflow skips the expected
return and waits for an operator's `receive`; `create_return` answers `ReturnsNotSupported`).
What was found (issue 19, December 2026): Logiwa receives customer returns as receipt orders
flagged `IsReturn` (PrimePenguin/LogiwaSharp `Dto/GetReceiptOrderResponse.cs`: `IsReturn`,
`WarehouseOrdReturnReasonID`/`Description`; `Dto/OrderReceiptRequestFilter.cs` and
`LogiwaService.cs` read them with `ReceiptAllSearch`, `IsReturn = true`), and its webhooks include
"RO Status Update" and "Receipt Info" (the api-evangelist/logiwa event catalog, API_FACTS section
8). No source names a method that creates a return receipt order, nor its body: the Integration
API's methods found (`InsertShipmentOrder`, `WarehouseOrderSearch`, `CancelShipmentOrder`,
`InventoryItemSearch`, `InsertInventoryItem`, `ReceiptAllSearch`, `WarehouseOrderUpdate`,
`ListingInventoryReport`, `LookUp`) announce none, and the receipt's per-unit condition is not
among the fields read back. Without a documented way to announce the expected return with our
return id, the role waits for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import httpx

from connectors.base import (
    AlreadyShippedError,
    ConnectorSpec,
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
from connectors.logiwa import mapping, webhooks
from connectors.logiwa.client import LogiwaClient
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole, Shipment, ShippingRequest


class LogiwaConnector(FulfillmentConnector):
    def __init__(self, channel: ChannelConfig, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(channel)
        self.settings = mapping.settings_of(channel)
        self.client = LogiwaClient(
            channel.base_url,
            self.settings.token_url,
            lambda: channel.credential("username"),
            lambda: channel.credential("password"),
            http,
        )

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        return webhooks.parse_webhook(
            self.channel.credential("webhook_token"), headers, body, self.settings, self.channel.id
        )

    async def confirm_event(self, event: InboundEvent) -> InboundEvent:
        """A webhook is a hint: the order record decides. A shipment is the record's (its lines,
        tracking and date, not the body's), a cancellation stands only if the record is cancelled."""
        if event.kind is InboundKind.SHIPMENT and event.shipment is not None:
            record = await self._record(event.shipment.shipping_request_id)
            if record is None or not mapping.is_shipped(record):
                return self._unconfirmed(event, record)
            try:
                shipment = mapping.shipment_from_record(record, self.settings, self.channel.id)
            except MappingError as exc:
                raise PermanentError(f"order record of {event.shipment.shipping_request_id}: {exc}") from exc
            return replace(event, shipment=shipment, detail="Order Shipment Info, confirmed by WarehouseOrderSearch")
        if event.kind is InboundKind.SHIPMENT_CANCELLED and event.shipping_request_id:
            record = await self._record(event.shipping_request_id)
            if record is None or not mapping.is_cancelled(record):
                return self._unconfirmed(event, record)
            return replace(event, detail=f"{event.detail}; confirmed by WarehouseOrderSearch")
        return event

    async def create_shipping_request(
        self, request: ShippingRequest, requirements: ShippingRequirements | None = None
    ) -> ShippingReceipt:
        """`requirements` are ignored for now: this connector takes Logiwa's carrier from its
        `carriers` settings, and API_FACTS 8 (a third-party harvest of Logiwa's docs) verifies no
        packaging-notes field; routing still leaves a warehouse out whose `carriers` cannot meet
        them."""
        try:
            body = mapping.order_body(request, self.settings)
        except MappingError as exc:
            raise RejectedError(f"shipping request {request.id}: {exc}") from exc
        what = f"create Logiwa order {request.id}"
        try:
            created = await self.client.insert_shipment_orders([body], what)
        except RejectedError:
            # Logiwa refuses a Code it has: an earlier attempt got through, so this is that order.
            existing = await self._record(request.id)
            if existing is not None:
                return ShippingReceipt(vendor_id=str(existing["ID"]), duplicate=True)
            raise
        return ShippingReceipt(vendor_id=await self._created_id(created, request.id))

    async def cancel_shipping_request(self, request: ShippingRequest, vendor_id: str | None) -> None:
        record = await self._record(request.id)
        if record is None or mapping.is_cancelled(record):
            return  # never reached Logiwa, or cancelled already (a retried compensation)
        if mapping.is_picked(record):
            raise self._too_late(request.id, record)
        try:
            await self.client.cancel_order(int(record["ID"]), request.id)
        except PermanentError as exc:
            # Picking may have started between the read and the cancel: the record says.
            again = await self._record(request.id)
            if again is not None and mapping.is_cancelled(again):
                return
            if again is not None and mapping.is_picked(again):
                raise self._too_late(request.id, again) from exc
            raise

    async def fetch_shipments(self, request: ShippingRequest, vendor_id: str | None) -> list[Shipment]:
        record = await self._record(request.id)
        if record is None or not mapping.is_shipped(record):
            return []
        try:
            return [mapping.shipment_from_record(record, self.settings, self.channel.id)]
        except MappingError as exc:
            raise PermanentError(f"shipments of {request.id}: {exc}", body=record) from exc

    async def fetch_stock(self) -> list[StockRow]:
        raw = await self.client.inventory(self.settings.depositor_code)
        try:
            return mapping.stock_rows(raw, self.settings)
        except MappingError as exc:
            raise PermanentError(f"Logiwa inventory: {exc}") from exc

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _record(self, code: str) -> dict[str, Any] | None:
        found = await self.client.orders_by_code(code, self.settings.depositor_code)
        return found[0] if found else None

    async def _created_id(self, created: dict[str, Any], code: str) -> str:
        """Logiwa's id of the order just created: from the answer's `Data`, else read back."""
        for row in created.get("Data") or []:
            if isinstance(row, dict) and row.get("Code") == code and row.get("ID") is not None:
                return str(row["ID"])
        record = await self._record(code)
        if record is None:
            raise RetryableError(f"create Logiwa order {code}: accepted but not found by WarehouseOrderSearch yet")
        return str(record["ID"])

    @staticmethod
    def _too_late(code: str, record: dict[str, Any]) -> AlreadyShippedError:
        return AlreadyShippedError(
            f"cancel Logiwa order {code}: it is {mapping.status_of(record) or 'being picked'}; Logiwa cancels "
            "only before picking starts",
            status_code=200,
            body=record,
        )

    @staticmethod
    def _unconfirmed(event: InboundEvent, record: dict[str, Any] | None) -> InboundEvent:
        found = "no such order" if record is None else f"the order is {mapping.status_of(record) or 'unknown'}"
        return replace(
            event,
            kind=InboundKind.IGNORED,
            shipment=None,
            shipping_request_id=None,
            detail=f"{event.detail}: not confirmed by WarehouseOrderSearch ({found})",
        )


SPEC = ConnectorSpec(
    type="logiwa",
    roles=frozenset({ConnectorRole.FULFILLMENT}),
    fulfillment=LogiwaConnector,
    sandbox="connectors.logiwa.sandbox:create_app",
)
