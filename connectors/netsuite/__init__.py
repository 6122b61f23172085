"""NetSuite as an ERP-managed fulfillment channel (and, configured as a second channel with
`role: selling`, as the selling channel of the orders entered in the ERP: `selling`): the
warehouse works from the ERP, so Orderloop
enters each shipping request as a sales order (or a transfer order to the fulfilment location,
where the brand's setup says so) through NetSuite's REST record service, upserted by an external
id derived from our request id (`PUT /record/v1/salesOrder/eid:<id>`), so a retried create is
the same record; it reads back the item fulfillments created from that order by SuiteQL (paged,
by their last-modified time) with their package tracking, each one shipment once; it cancels by
closing the order's open lines (`isClosed`) and reads stock per location by SuiteQL.

Configuration (`orderloop.yaml`): credentials for token-based authentication (`consumer_key`,
`consumer_secret` of the integration record, `token_id`, `token_secret` of the access token) or,
with `settings.auth: m2m`, OAuth 2.0 client credentials (`client_id`, `certificate_id`,
`private_key`: the PEM of the certificate uploaded to NetSuite); settings as `NetSuiteSettings`
(`account_id`, `locations` mapping our locations to NetSuite location internal ids, `customer`,
`record`, `concurrency_limit`). NetSuite sends no webhooks: set `poll_fulfillments_every` (the
channel-wide poll: `poll_shipments`, one SuiteQL by last-modified time from the stored cursor)
and `poll_shipments_every` (each waiting order asks for its own, and its request check reports an
over-fulfilment).

Channel-specific exceptions: NetSuite refusing the order for master data (an unknown item,
customer or location: 400 `USER_ERROR` / `INVALID_KEY_OR_REF`) is `shipping_request_rejected`
with NetSuite's message; a fulfilment for an item or a quantity the order did not have is never
applied: the poll reports the request CHANGED (`fulfillment_changed` on the order, naming the
fulfilment and what it exceeds) and leaves that fulfilment out of the shipments.

What the sources say (found with `search`, December 2026; Oracle's NetSuite help center
docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/...):
- External ids: section_156334828635 ("Using External IDs": `eid:` prefix anywhere an internal id
  goes in a URL; letters, numbers, `_` and `-`; `externalId` in a body); upsert:
  section_156335203191 ("Using the Upsert Operation": only `PUT` with an external id in the URL;
  creates or updates). The 204 answer with the record's `Location` header is NetSuite's answer to
  a create/update (REST "Creating a Record Instance"); assumed the same for the upsert [?].
- SuiteQL: `POST /services/rest/query/v1/suiteql`, body `{"q": ...}`, `Prefer: transient`,
  `?limit=&offset=`, answer `{links, count, hasMore, items, offset, totalResults}` (kinuski-dev/
  misc-python api-netsuite-oauth1/oracle-netsuite-api-suiteql-notes.md, and the SuiteQL clients
  the code search found; limit at most 1000).
- Errors: section_156570709583 ("Error Handling in REST Web Services"): `status`,
  `o:errorDetails[]` of `detail`, `o:errorCode` (and optional `o:errorPath`, `o:urlPath`); 4xx
  user errors, 5xx system errors. The codes USER_ERROR, INVALID_KEY_OR_REF, INVALID_LOGIN,
  NONEXISTENT_ID are NetSuite's published code names; which status each comes with is as the
  REST docs' examples show (400, 400, 401, 404).
- Concurrency: bridgehead_1525252812 and subsect_1559222360 (governance per account; the limit
  covers web services and RESTlets together; `GET /services/rest/system/v1/governanceLimits`
  tells an integration its limit, article_0625010817). REST's 429 with
  `CONCURRENCY_LIMIT_EXCEEDED` is as the brief names it; a `Retry-After` on it is not documented
  [?]: the client reads one when given, else waits `CONCURRENCY_BACKOFF`.
- TBA: OAuth 1.0a, HMAC-SHA256, `realm` = account id (Oracle's TBA pages and the public TBA
  signers the code search found: DukaDima/netsuite-oauth-sha256, felipechang/suiteauth-go).
- M2M: section_162755359851 (token endpoint `/services/rest/auth/oauth2/v1/token`,
  `grant_type=client_credentials`, `client_assertion_type=...jwt-bearer`), section_162790605110
  (assertion header `typ`, `alg` PS256/ES256..., `kid` = certificate id; payload `iss` = client id,
  `scope`, `aud` = token endpoint, `iat`, `exp` at most 60 min after), access tokens of 60 min.
- Item fulfillments: SOAP/REST `itemFulfillment` with the `package` sublist
  (`packageTrackingNumber`, `packageWeight`, `packageDescr`; NetSweet/netsuite
  item_fulfillment_package.rb); SuiteQL `transaction.type = 'ItemShip'`,
  `transactionline.createdfrom`, `transactionline.quantity` negative on fulfillments, status C =
  shipped [?: the letter codes are as NetSuite's saved-search status values].
- Inventory: `inventoryitemlocations` (`item`, `location`, `quantityonhand`,
  `quantitycommitted`, `quantityavailable`) [? columns as the records catalog names them].
Not found, assumed [?]: item references by `{"externalId": sku}` in a transaction body (the
"Using External IDs" page allows external ids in bodies; a reference object taking one is
assumed); closing lines by `PATCH` of the `item` sublist with each line's `line` and `isClosed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog

from connectors import request_checks
from connectors.base import (
    AlreadyShippedError,
    ConnectorSpec,
    FulfillmentConnector,
    InboundEvent,
    MappingError,
    PayloadError,
    PermanentError,
    RejectedError,
    ShippingReceipt,
    ShippingRequirements,
    StockRow,
)
from connectors.json_values import integer
from connectors.netsuite import mapping, queries
from connectors.netsuite.client import NetSuiteClient
from connectors.netsuite.selling import NetSuiteSellingConnector
from orderloop.activity_models import RequestCheck, RequestCondition
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole, Shipment, ShippingRequest

log = structlog.get_logger("orderloop.netsuite")

FULFILLMENT_RECORD = "itemFulfillment"
# Every fulfilment of an order, whenever it was modified (to check an order's total).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# Fulfillments modified this long before the request was made still count (clock skew between
# NetSuite and us; a fulfillment cannot precede its order).
CLOCK_MARGIN = timedelta(days=1)


class NetSuiteConnector(FulfillmentConnector):
    def __init__(self, channel: ChannelConfig, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(channel)
        self.settings = mapping.settings_of(channel)
        self.record = str(self.settings.record)
        self.client = NetSuiteClient(channel.base_url, self.settings, channel.credential, http)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        raise PayloadError(
            "NetSuite sends no webhooks to Orderloop: its fulfilments are read by the shipment poll "
            "(set poll_shipments_every on the channel)"
        )

    async def create_shipping_request(
        self, request: ShippingRequest, requirements: ShippingRequirements | None = None
    ) -> ShippingReceipt:
        """`requirements` are ignored beyond the ship method the channel's `ship_methods` maps:
        a NetSuite order carries no packaging notes field this connector verified."""
        try:
            body = mapping.order_body(request, self.settings)
        except MappingError as exc:
            raise RejectedError(f"shipping request {request.id}: {exc}") from exc
        eid = mapping.external_id(request.id)
        existing = await self.client.get_record(self.record, f"eid:{eid}", f"find NetSuite {self.record} {eid}")
        if existing is not None:
            return ShippingReceipt(vendor_id=str(existing["id"]), duplicate=True)
        internal = await self.client.upsert(self.record, eid, body, f"upsert NetSuite {self.record} {eid}")
        return ShippingReceipt(vendor_id=internal)

    async def cancel_shipping_request(self, request: ShippingRequest, vendor_id: str | None) -> None:
        """Close the lines still open. Nothing fulfilled: cancelled. Part fulfilled: the rest is
        closed and `AlreadyShippedError` says what shipped (its shipments come by the poll)."""
        record = await self._record(request, vendor_id)
        if record is None:
            return  # never reached NetSuite: nothing to cancel
        lines = self._lines(record)
        fulfilled = sum(line.fulfilled for line in lines)
        still_open = [line for line in lines if line.remaining > 0]
        if still_open:
            await self.client.patch(
                self.record,
                str(record["id"]),
                mapping.close_lines_body(still_open),
                f"close the lines of NetSuite {self.record} {record['id']}",
            )
        if fulfilled:
            closed = f"; its {sum(line.remaining for line in still_open)} open units were closed" if still_open else ""
            raise AlreadyShippedError(
                f"cancel NetSuite {self.record} {record['id']}: {fulfilled} units are fulfilled already{closed}",
                body=record,
            )

    async def fetch_shipments(self, request: ShippingRequest, vendor_id: str | None) -> list[Shipment]:
        order_id = await self._order_id(request, vendor_id)
        if order_id is None:
            return []
        lines = await self._fulfillment_lines(order_id, request.created_at - CLOCK_MARGIN)
        refused, _ = mapping.overshipped(mapping.ordered_units(request), lines)
        shipments = []
        for fid, group in mapping.by_fulfillment(lines).items():
            if fid in refused:
                continue  # reported by the request check, never applied
            what = f"read NetSuite item fulfillment {fid}"
            record = await self.client.get_record(FULFILLMENT_RECORD, str(fid), what)
            if record is None:
                continue  # deleted since the query
            try:
                shipments.append(
                    mapping.shipment_of(request.id, request.location_id, group, record, self.settings, self.channel.id)
                )
            except MappingError as exc:
                raise PermanentError(f"{what}: {exc}", body=record) from exc
        return shipments

    async def check_shipping_request(self, request: ShippingRequest, vendor_id: str | None) -> RequestCheck:
        """Gone, closed in NetSuite with nothing fulfilled (cancelled there), fulfilled beyond
        what it had (an over-ship, never applied), or its lines changed by hand."""
        record = await self._record(request, vendor_id)
        if record is None:
            return request_checks.missing(f"NetSuite {self.record} {vendor_id or mapping.external_id(request.id)}")
        lines = self._lines(record)
        if lines and all(line.closed for line in lines) and not any(line.fulfilled for line in lines):
            return request_checks.cancelled("every line closed")
        lines_since = await self._fulfillment_lines(int(record["id"]), request.created_at - CLOCK_MARGIN)
        _, over = mapping.overshipped(mapping.ordered_units(request), lines_since)
        if over:
            return RequestCheck(
                condition=RequestCondition.CHANGED,
                detail=f"NetSuite fulfilled what the order did not have: {'; '.join(over)}",
            )
        return request_checks.checked(request, [(line.sku, line.quantity) for line in lines])

    async def poll_shipments(self, since: datetime) -> list[Shipment]:
        """The fulfilments modified since `since` on every order we entered (one SuiteQL query by
        last-modified time, paged); for each order involved its record and all its fulfilments,
        so one beyond what it had is left out (the per-request check reports it), then each new
        fulfilment's packages."""
        what = "read NetSuite's recent fulfilments"
        changed: dict[int, set[int]] = {}
        request_ids: dict[int, str] = {}
        for line in self._mapped(await self.client.rows(queries.recent_fulfillment_lines(since), what), what):
            request_id = mapping.request_id_of(line.order_ref)
            if line.order_id is None or request_id is None:
                continue
            changed.setdefault(line.order_id, set()).add(line.fulfillment_id)
            request_ids[line.order_id] = request_id
        shipments: list[Shipment] = []
        for order_id, fulfillment_ids in changed.items():
            record = await self.client.get_record(self.record, str(order_id), f"read NetSuite {self.record} {order_id}")
            if record is None:
                continue
            lines = await self._fulfillment_lines(order_id, EARLIEST)
            refused, over = mapping.overshipped(mapping.record_units(self._lines(record)), lines)
            if over:
                log.warning("netsuite.overfulfilled", order=order_id, request=request_ids[order_id], found=over)
            location_ref = record.get("location")
            location = self.settings.location_map.location_of(
                integer(location_ref.get("id")) if isinstance(location_ref, dict) else None
            )
            for fid, group in mapping.by_fulfillment(lines).items():
                if fid not in fulfillment_ids or fid in refused:
                    continue
                fulfilment = await self.client.get_record(
                    FULFILLMENT_RECORD, str(fid), f"read NetSuite item fulfillment {fid}"
                )
                if fulfilment is not None:
                    shipments.append(
                        mapping.shipment_of(
                            request_ids[order_id], location, group, fulfilment, self.settings, self.channel.id
                        )
                    )
        return shipments

    async def fetch_stock(self) -> list[StockRow]:
        query = queries.inventory(self.settings.location_map.warehouses())
        rows = await self.client.rows(query, "read NetSuite inventory per location")
        try:
            return mapping.stock_rows(rows, self.settings)
        except MappingError as exc:
            raise PermanentError(f"NetSuite inventory: {exc}") from exc

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _record(self, request: ShippingRequest, vendor_id: str | None) -> dict[str, Any] | None:
        key = vendor_id if vendor_id and vendor_id.isdigit() else f"eid:{mapping.external_id(request.id)}"
        return await self.client.get_record(self.record, key, f"read NetSuite {self.record} {key}")

    async def _order_id(self, request: ShippingRequest, vendor_id: str | None) -> int | None:
        if vendor_id and vendor_id.isdigit():
            return int(vendor_id)
        record = await self._record(request, vendor_id)
        return None if record is None else int(record["id"])

    async def _fulfillment_lines(self, order_id: int, since: datetime) -> list[mapping.FulfillmentLine]:
        what = f"read the fulfillments of NetSuite {self.record} {order_id}"
        return self._mapped(await self.client.rows(queries.fulfillment_lines(order_id, since), what), what)

    @staticmethod
    def _mapped(rows: list[dict[str, Any]], what: str) -> list[mapping.FulfillmentLine]:
        try:
            return mapping.fulfillment_lines(rows)
        except MappingError as exc:
            raise PermanentError(f"{what}: {exc}") from exc

    def _lines(self, record: dict[str, Any]) -> list[mapping.OrderLine]:
        try:
            return mapping.order_lines(record)
        except MappingError as exc:
            raise PermanentError(f"NetSuite {self.record} {record.get('id')}: {exc}", body=record) from exc


SPEC = ConnectorSpec(
    type="netsuite",
    roles=frozenset({ConnectorRole.FULFILLMENT, ConnectorRole.SELLING}),
    fulfillment=NetSuiteConnector,
    selling=NetSuiteSellingConnector,
    sandbox="connectors.netsuite.sandbox:create_app",
)
