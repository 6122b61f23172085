"""NetSuite as a selling channel: the same `netsuite` connector type configured as a second
channel instance with `role: selling`, for the orders a brand enters in its ERP (phone, sales
reps, EDI handled in NetSuite). Settings: `NetSuiteSellingSettings` (the account and its
authentication as for the fulfillment role, and `statuses`, the saved-search statuses whose
orders Orderloop ships, default `SalesOrd:B` Pending Fulfillment). NetSuite sends no webhooks:
set `poll_orders_every`.

Read (`poll_orders`): one SuiteQL query over the query service (paged by `limit`/`offset` until
`hasMore` is false, `Prefer: transient`) for the sales orders modified since the cursor
(`lastmodifieddate`) in those statuses or cancelled (C) / closed (H), with their currency's ISO
code; the orders whose external id is ours (`OL-...`: the ones Orderloop entered as the
fulfillment role) are left out by the query and again by the mapping, so an order we asked the
ERP to ship never comes back as an order to sell. Then each order's record
(`GET /record/v1/salesOrder/{id}?expandSubResources=true`) for its lines and shipping address,
and one SuiteQL query for the `itemid` of the items those lines name. The record service, not
SuiteQL on `transactionline`, gives the lines and the address: it answers both in one call in
the documented record shape (the `item` sublist with `line`, `item`, `quantity`, `rate`,
`quantityFulfilled`, `isClosed`; the `shippingAddress` subrecord), the shape the fulfillment
role already reads and the sandbox serves from the same account store, while the address in
SuiteQL lives in tables (`transactionShippingAddress`) whose joins the sources found do not
document. A cancelled or closed order is reported cancelled.

Written: a shipment becomes one item fulfillment transformed from the sales order
(`POST /record/v1/salesOrder/{id}/!transform/itemFulfillment`: its lines by `orderLine`, one
package per tracking number, status shipped) with an external id derived from our shipment id.
NetSuite takes no idempotency key, so the push first reads `itemFulfillment/eid:<that id>` and
answers the fulfillment found (a retry, or an answer lost after NetSuite made it), and reads it
again when the transform is refused (a push of the same shipment made it in between: NetSuite
refuses a second record with one external id); the upsert
(`PUT .../eid:`) cannot be used here because a fulfillment must be made from its order, which
only the transform does. Cancel (`cancel_order`): the open lines are closed (`isClosed`), as
the fulfillment role closes its own orders; the ERP then shows the order closed.

Not done: inventory. The ERP holds the stock Orderloop's ledger reports (the fulfillment role
reads it by SuiteQL), and the REST record service has no "available to sell" of a channel to
set: writing on-hand would be an inventory adjustment, a ledger movement in the ERP, not a
listing. `push_inventory` is therefore a no-op. Edits of an accepted order made in the ERP are
not delivered (a polled order carries no `updated_at`): our own fulfilment changes the order's
last-modified time, so it cannot tell an edit from the echo of our push.

Sources as in `connectors.netsuite` (its docstring); assumed [?]: the transform's body naming
lines by `orderLine` with `itemReceive` and `quantity` (the fields of the item fulfillment's
item sublist in the records browser), `GET itemFulfillment/eid:...` as for any record with an
external id, and the 204 with `Location` answering the transform as it answers a create."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
import structlog

from connectors.base import (
    InboundEvent,
    MappingError,
    PayloadError,
    PermanentError,
    PolledOrder,
    RejectedError,
    SellingConnector,
)
from connectors.json_values import integer, text, utc_time
from connectors.netsuite import mapping, queries, sales_orders
from connectors.netsuite.client import NetSuiteClient
from orderloop.config import ChannelConfig
from orderloop.model import Order, Shipment

log = structlog.get_logger("orderloop.netsuite.selling")

SALES_ORDER = "salesOrder"
FULFILLMENT = "itemFulfillment"


class NetSuiteSellingConnector(SellingConnector):
    def __init__(self, channel: ChannelConfig, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(channel)
        self.settings = sales_orders.selling_settings_of(channel)
        self.client = NetSuiteClient(channel.base_url, self.settings, channel.credential, http)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        raise PayloadError(
            "NetSuite sends no webhooks to Orderloop: its sales orders are read by the order poll "
            "(set poll_orders_every on the channel)"
        )

    def map_order(self, raw: Mapping[str, Any], *, order_id: str, tenant_id: str, received_at: datetime) -> Order:
        return sales_orders.map_order(
            raw, order_id=order_id, tenant_id=tenant_id, channel_id=self.channel.id, received_at=received_at
        )

    async def poll_orders(self, since: datetime) -> list[PolledOrder]:
        """The sales orders meant for Orderloop modified since `since` (module docstring), each
        with its record, its items' names, and whether the ERP cancelled or closed it."""
        what = "read NetSuite's sales orders"
        query = queries.entered_sales_orders(since, self.settings.letters(), mapping.EXTERNAL_ID_PREFIX)
        found: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for row in await self.client.rows(query, what):
            internal = integer(row.get("id"))
            if internal is None or sales_orders.own_order(text(row.get("externalid"))):
                continue  # the query leaves ours out; a row without an id is not an order
            record = await self.client.get_record(SALES_ORDER, str(internal), f"read NetSuite sales order {internal}")
            if record is not None:
                found.append((row, record))
        item_ids = set().union(*(sales_orders.line_item_ids(record) for _, record in found)) if found else set()
        names: dict[int, str] = {}
        if item_ids:
            for row in await self.client.rows(queries.item_names(item_ids), "read the NetSuite items of sales orders"):
                item, name = integer(row.get("id")), text(row.get("itemid"))
                if item is not None and name is not None:
                    names[item] = name
        polled = []
        for row, record in found:
            raw = sales_orders.payload(record, row, names)
            polled.append(
                PolledOrder(
                    external_id=str(record["id"]),
                    payload=raw,
                    cancelled=sales_orders.is_cancelled(raw),
                    created_at=utc_time(record.get("createdDate")),
                )
            )
        return polled

    async def push_shipment(self, order: Order, shipment: Shipment) -> str | None:
        """One item fulfillment transformed from the sales order, found again by its external id
        on a retry (module docstring); its internal id."""
        eid = sales_orders.fulfillment_external_id(shipment.id)
        existing = await self.client.get_record(FULFILLMENT, f"eid:{eid}", f"find NetSuite item fulfillment {eid}")
        if existing is not None:
            return str(existing["id"])
        try:
            internal = await self._fulfil(order, shipment)
        except RejectedError:
            # Refused: made meanwhile by another push of the same shipment (the order has no
            # units left for it, or NetSuite refuses a second record with that external id),
            # or refused on its own grounds.
            made = await self.client.get_record(FULFILLMENT, f"eid:{eid}", f"find NetSuite item fulfillment {eid}")
            if made is None:
                raise
            return str(made["id"])
        log.info("netsuite.fulfillment_recorded", order=order.external_id, shipment=shipment.id, fulfillment=internal)
        return internal

    async def _fulfil(self, order: Order, shipment: Shipment) -> str:
        """The transform of the order into the shipment's item fulfillment; its internal id."""
        what = f"read NetSuite sales order {order.external_id}"
        record = await self.client.get_record(SALES_ORDER, order.external_id, what)
        if record is None:
            raise RejectedError(f"record shipment {shipment.id}: NetSuite has no sales order {order.external_id}")
        try:
            body = sales_orders.fulfillment_body(order, shipment, record)
        except MappingError as exc:
            raise RejectedError(f"record shipment {shipment.id} in NetSuite: {exc}", body=record) from None
        return await self.client.transform(
            SALES_ORDER, order.external_id, FULFILLMENT, body, f"fulfil NetSuite sales order {order.external_id}"
        )

    async def push_inventory(self, quantities: Mapping[str, int]) -> None:
        """Nothing: NetSuite is the ERP holding the stock, and has no channel quantity to set
        (module docstring)."""
        return None

    async def cancel_order(self, order: Order, reason: str) -> bool:
        """Close the order's open lines (`isClosed`), as the fulfillment role closes its own;
        True once none is open (closed now, or already)."""
        record = await self.client.get_record(
            SALES_ORDER, order.external_id, f"read NetSuite sales order {order.external_id}"
        )
        if record is None:
            return False
        try:
            still_open = [line for line in mapping.order_lines(record) if line.remaining > 0]
        except MappingError as exc:
            raise PermanentError(f"NetSuite sales order {order.external_id}: {exc}", body=record) from exc
        if still_open:
            await self.client.patch(
                SALES_ORDER,
                order.external_id,
                mapping.close_lines_body(still_open),
                f"close the lines of NetSuite sales order {order.external_id} ({reason})",
            )
        return True

    async def aclose(self) -> None:
        await self.client.aclose()
