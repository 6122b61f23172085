"""ShipHero, a 3PL / WMS fulfillment channel over its public GraphQL API: Orderloop creates one
ShipHero order per shipping request (`order_create`, our request id as `partner_order_id`; a
retried create first finds the order by it, so nothing ships twice), cancels it before pick
(`order_cancel`; refused once picked or shipped: `AlreadyShippedError`), learns parcels from
Shipment Update webhooks (one per package) or by polling `shipments(order_id)`, and reads stock
from `warehouse_products` per warehouse.

Returns (`connectors.shiphero.returns`): `create_return` creates the RMA with `return_create` on
the ShipHero order that shipped the returned lines (found by its `order_number` and
`partner_order_id`), our return id as its `partner_id`; a retried create first lists the order's
returns and answers the one with that `partner_id`. The Return Update webhook (once the status is
a finished one) and `fetch_return_receipt` give the receipt, read back with `return(id)`: units
ShipHero restocked are sellable, the others damaged or wrong items by their condition, units
never received missing.

Configuration (`orderloop.yaml`): credentials `refresh_token` (of the account's third-party
developer user; or `username` and `password`, exchanged at `/auth/token`) and `webhook_secret`
(the `shared_signature_secret` `webhook_create` returned); settings as `ShipHeroSettings`
(`warehouses` maps our locations to ShipHero warehouse ids, `shop_name`, `customer_account_id`,
the credit bucket).

What the API is, and where it was found (issue 19, `API_FACTS.md` section 7 and 11.4):
- Endpoints `POST /graphql`, `POST /auth/token` {username, password} and `POST /auth/refresh`
  {refresh_token} -> {access_token, expires_in: 2419200 (28 days), scope, token_type}
  (developer.shiphero.com/getting-started; the refresh call and its answer as quoted in several
  public integrations found by `search`, e.g. guides next to ShipHero droplets).
- The cancel mutation is `order_cancel` (api-evangelist/shiphero `graphql/shiphero-schema.graphql`,
  derived from ShipHero's schema reference, settles open question 11.4). That derived schema gives
  it an `id` argument; ShipHero's reference takes `data: CancelOrderInput` {order_id, reason,
  void_on_platform}, which is what this connector sends. The derived schema also puts `first` and
  `after` on the query; ShipHero's examples put them on the result's `data` field, as here.
- Errors: HTTP 200 with `errors[{message, operation, field, request_id, code}]` (ShipHero's
  error glossary). The numeric codes Orderloop keys on (30 not enough credits, 5 not found, 401
  unauthorized) were not found in a stored source; the client therefore also reads the message
  (credits, "not found") and the sandbox emits these codes.
- Credits: 4,004 max, 60 restored a second, charged on returned data, plus a hard 7,000 requests
  per 5 minutes answered 429 with Retry-After (api-evangelist/shiphero `rate-limits.yml`, [S]).
  A throttled answer says "Try again in N seconds" and carries `time_remaining`,
  `remaining_credits`, `required_credits` (community threads; the client reads the message too).
- Webhooks: `X-ShipHero-HMAC-SHA256` = base64 HMAC-SHA256 of the raw body (settles 11.4:
  base64, confirmed by public receivers found by `search`), `X-Shiphero-Message-ID` per
  delivery, the answer `{"code": "200", "Status": "Success"}`, 5 retries, not guaranteed
  (developer.shiphero.com/webhooks). Shipment Update carries `package_number`/`total_packages`;
  one webhook per package is the issue's reading, which the sandbox follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

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
    ShippingReceipt,
    ShippingRequirements,
    StockRow,
)
from connectors.pacing import CreditBucket
from connectors.shiphero import mapping, returns, webhooks
from connectors.shiphero.client import NotFoundError, ShipHeroClient
from connectors.shiphero.mapping import FulfillmentStatus
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole, Shipment, ShippingRequest
from orderloop.returns_model import ExpectedReturn, ReturnReceipt

CANCEL_REASON = "Cancelled by Orderloop"


class ShipHeroConnector(FulfillmentConnector):
    def __init__(self, channel: ChannelConfig, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(channel)
        self.settings = mapping.settings_of(channel)
        bucket = CreditBucket(
            self.settings.credits, self.settings.credits_per_second, max_wait=self.settings.max_pacing_wait
        )
        self.client = ShipHeroClient(channel.base_url, self._refresh_token, self._login, bucket, http)

    def _refresh_token(self) -> str | None:
        return self.channel.credential("refresh_token") if "refresh_token" in self.channel.credentials else None

    def _login(self) -> tuple[str, str] | None:
        if "username" not in self.channel.credentials:
            return None
        return self.channel.credential("username"), self.channel.credential("password")

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        return webhooks.parse_webhook(
            self.channel.credential("webhook_secret"), headers, body, self.settings, self.channel.id
        )

    def acknowledgement(self, status_code: int) -> tuple[int, dict[str, Any]] | None:
        """ShipHero counts a delivery as received only on 200 with its own body."""
        return (200, dict(webhooks.ACKNOWLEDGEMENT)) if 200 <= status_code < 300 else None

    async def create_shipping_request(
        self, request: ShippingRequest, requirements: ShippingRequirements | None = None
    ) -> ShippingReceipt:
        """`requirements` are not passed yet: ShipHero's `order_create` carries a carrier and a
        method in `shipping_lines` (API_FACTS 7.2), but its sandbox and mapping take the method
        from `shipping_methods` only; routing still leaves a warehouse out whose `carriers` cannot
        meet them."""
        try:
            data = mapping.order_input(request, self.settings)
        except MappingError as exc:
            raise PermanentError(f"shipping request {request.id}: {exc}") from exc
        existing = await self._find_order(request.id)
        if existing is not None:
            return ShippingReceipt(vendor_id=str(existing["id"]), duplicate=True)
        created = await self.client.create_order(data)
        return ShippingReceipt(vendor_id=str(created["id"]))

    async def cancel_shipping_request(self, request: ShippingRequest, vendor_id: str | None) -> None:
        order_id = vendor_id or await self._order_id(request.id)
        if order_id is None:
            return  # never reached ShipHero: nothing to cancel
        try:
            await self.client.cancel_order(order_id, CANCEL_REASON, self.settings.customer_account_id)
        except NotFoundError:
            return
        except RejectedError as exc:
            # Refused: already canceled (a retried compensation) is done; otherwise the order is
            # past the point of cancelling (picked, packed or shipped).
            order = await self.client.order(order_id)
            if order is None or order.get("fulfillment_status") == FulfillmentStatus.CANCELED:
                return
            raise AlreadyShippedError(
                f"{exc} (fulfillment_status {order.get('fulfillment_status')})", status_code=422, body=exc.body
            ) from exc

    async def fetch_shipments(self, request: ShippingRequest, vendor_id: str | None) -> list[Shipment]:
        order_id = vendor_id or await self._order_id(request.id)
        if order_id is None:
            return []
        raw = await self.client.shipments(order_id)
        try:
            return [
                parcel
                for shipment in raw
                for parcel in mapping.shipments_from_polled(shipment, request.id, self.settings, self.channel.id)
            ]
        except MappingError as exc:
            raise PermanentError(f"shipments of {request.id}: {exc}", body=raw) from exc

    async def fetch_stock(self) -> list[StockRow]:
        warehouses: list[str | None] = list(self.settings.warehouses.values()) or [None]
        products = [p for w in warehouses for p in await self.client.warehouse_products(w)]
        try:
            return mapping.stock_rows(products, self.settings)
        except MappingError as exc:
            raise PermanentError(f"ShipHero warehouse products: {exc}") from exc

    # --- returns ---

    supports_returns = True

    async def confirm_event(self, event: InboundEvent) -> InboundEvent:
        """A Return Update's receipt or progress, from the return read back (its partner_id and
        each line's condition); IGNORED when ShipHero shows no finished receipt."""
        if event.kind is InboundKind.RETURN_PROGRESS and event.return_progress is None:
            return await self._confirm_progress(event)
        if event.kind is not InboundKind.RETURN_RECEIVED or event.return_receipt is not None:
            return event
        vendor_id = webhooks.return_uuid(event.payload) or ""
        found = await self.client.return_(vendor_id)
        receipt = None if found is None else self._receipt(found, event.event_id)
        if receipt is None:
            status = None if found is None else found.get("status")
            return InboundEvent(
                kind=InboundKind.IGNORED,
                event_id=event.event_id,
                payload=event.payload,
                detail=f"ShipHero return {vendor_id} shows no finished receipt (status {status})",
            )
        return InboundEvent(
            kind=InboundKind.RETURN_RECEIVED,
            event_id=event.event_id,
            payload=event.payload,
            return_receipt=receipt,
            occurred_at=receipt.received_at,
            detail=event.detail,
        )

    async def _confirm_progress(self, event: InboundEvent) -> InboundEvent:
        vendor_id = webhooks.return_uuid(event.payload) or ""
        found = await self.client.return_(vendor_id)
        progress = returns.progress_from_return(found, event.payload, event.event_id)
        if progress is None:
            return InboundEvent(
                kind=InboundKind.IGNORED,
                event_id=event.event_id,
                payload=event.payload,
                detail=f"ShipHero return {vendor_id} is not one of Orderloop's (no partner_id)",
            )
        return InboundEvent(
            kind=InboundKind.RETURN_PROGRESS,
            event_id=event.event_id,
            payload=event.payload,
            return_progress=progress,
            detail=event.detail,
        )

    async def create_return(self, expected: ExpectedReturn) -> ExpectedReturnReceipt:
        """`return_create` on the ShipHero order that shipped the lines, `partner_id` = our
        return id. ShipHero does not refuse a second return with the same `partner_id`, so the
        order's returns are read first and one already there is answered as the duplicate."""
        orders = await self.client.orders_by_number(expected.external_order_id, self.settings.shop_name)
        try:
            order = returns.order_for_return(orders, expected)
        except MappingError as exc:
            raise RejectedError(f"return {expected.return_id}: {exc}") from exc
        existing = await self._find_return(expected.return_id, str(order["id"]))
        if existing is not None:
            return ExpectedReturnReceipt(vendor_id=str(existing["id"]), duplicate=True)
        try:
            data = returns.return_input(expected, order, self.settings)
        except MappingError as exc:
            raise RejectedError(f"return {expected.return_id}: {exc}") from exc
        created = await self.client.create_return(data)
        return ExpectedReturnReceipt(vendor_id=str(created["id"]))

    async def fetch_return_receipt(self, return_id: str, vendor_id: str | None) -> ReturnReceipt | None:
        found = await self.client.return_(vendor_id) if vendor_id else await self._find_return(return_id, None)
        return None if found is None else self._receipt(found, None)

    def _receipt(self, found: dict[str, Any], event_id: str | None) -> ReturnReceipt | None:
        try:
            return returns.receipt_from_return(found, self.settings, event_id)
        except MappingError as exc:
            raise PermanentError(f"ShipHero return {found.get('id')}: {exc}", body=found) from exc

    async def _find_return(self, return_id: str, order_id: str | None) -> dict[str, Any] | None:
        """The ShipHero return whose `partner_id` is our return id (among the order's returns,
        or every return of the account when the order is not known)."""
        found = [r for r in await self.client.returns(order_id) if r.get("partner_id") == return_id]
        return found[0] if found else None

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _find_order(self, request_id: str) -> dict[str, Any] | None:
        found = await self.client.orders_by_partner_id(request_id, self.settings.shop_name)
        live = [o for o in found if o.get("fulfillment_status") != FulfillmentStatus.CANCELED]
        candidates = live or found
        return candidates[0] if candidates else None

    async def _order_id(self, request_id: str) -> str | None:
        order = await self._find_order(request_id)
        return None if order is None else str(order["id"])


SPEC = ConnectorSpec(
    type="shiphero",
    roles=frozenset({ConnectorRole.FULFILLMENT}),
    fulfillment=ShipHeroConnector,
    sandbox="connectors.shiphero.sandbox:create_app",
)
