"""Steps the contract cases share, built on the harness moves: an order as the workflow holds
it (from its webhook, mapped), a parcel of some of its lines, the channel activities over one
connector, and the generic ways a webhook is tampered with on the way (body changed after
signing, signature header dropped; a wrong signature is the harness's `sign_wrongly`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from activities.channel_calls import ChannelActivities
from connectors.base import Connector, Delivery, InboundEvent, InboundKind, SignatureError
from orderloop.contracts.scheduled_jobs import SnapshotReport
from orderloop.model import Order, Shipment, ShipmentLine, StockRow
from tests.connectors.contract.roles import (
    PolledOrdersSellingHarness,
    PolledReturnsSellingHarness,
    ReturnsSellingHarness,
    SellingHarness,
    VendorHarness,
)
from tests.connectors.webhook_receiver import ReceivedWebhook

TENANT = "contract-tenant"
RECEIVED_AT = datetime(2026, 11, 23, 9, 31, 5, tzinfo=UTC)


def tampered_body(webhook: ReceivedWebhook) -> ReceivedWebhook:
    """The same headers over a body with one field added (still valid JSON)."""
    document: Any = json.loads(webhook.body)
    document["contract_tampered"] = True
    return ReceivedWebhook(webhook.headers, json.dumps(document).encode())


def without(webhook: ReceivedWebhook, header: str) -> ReceivedWebhook:
    headers = httpx.Headers(webhook.headers)
    del headers[header]
    return ReceivedWebhook(headers, webhook.body)


def activities_of(connector: Connector) -> ChannelActivities:
    """The channel activities as a worker runs them, with this connector as their only channel."""
    return ChannelActivities({connector.channel.id: connector})


def assert_tampered_webhooks_are_refused(harness: VendorHarness, webhook: ReceivedWebhook) -> None:
    """Body changed (where the signature covers it), signature missing, signature wrong: each the
    error the gateway answers 401."""
    changed = (tampered_body(webhook),) if harness.signs_body else ()
    for tampered in (*changed, without(webhook, harness.signature_header), harness.sign_wrongly(webhook)):
        with pytest.raises(SignatureError) as refused:
            parsed(harness.connector, tampered)
        assert refused.value.status_code == 401


def parsed(connector: Connector, webhook: ReceivedWebhook) -> InboundEvent:
    return connector.parse_webhook(webhook.headers, webhook.body)


async def placed_order(selling: SellingHarness) -> Order:
    """A sandbox order as the order workflow holds it: from its webhook, confirmed as the gateway
    confirms it (a vendor whose webhook is a trigger or thin reads the order back), mapped; for
    a channel that sends no order webhook (`PolledOrdersSellingHarness`), as its poll reads it."""
    if isinstance(selling, PolledOrdersSellingHarness):
        external_id, payload = await polled_order(selling)
    else:
        [webhook] = await selling.order_webhook()
        event = await selling.connector.confirm_event(parsed(selling.connector, webhook))
        assert event.external_order_id is not None
        external_id, payload = event.external_order_id, event.payload
    return selling.connector.map_order(
        payload,
        order_id=f"order/{selling.connector.channel.id}/{external_id}",
        tenant_id=TENANT,
        received_at=RECEIVED_AT,
    )


async def polled_order(selling: SellingHarness) -> tuple[str, dict[str, Any]]:
    """The order the harness places, as the connector's `poll_orders` reads it (exactly once)."""
    assert isinstance(selling, PolledOrdersSellingHarness)
    since = datetime.now(UTC) - timedelta(minutes=5)
    external_id = await selling.enter_polled_order()
    polled = [p for p in await selling.connector.poll_orders(since) if p.external_id == external_id]
    assert len(polled) == 1, f"the poll found {len(polled)} orders {external_id}"
    assert not polled[0].cancelled
    return external_id, polled[0].payload


def shipment_of(order: Order, shipment_id: str, lines: slice) -> Shipment:
    return Shipment(
        id=shipment_id,
        shipping_request_id=f"{order.id}/sr1",
        fulfillment_channel_id="contract-3pl",
        location_id="east",
        line_items=[ShipmentLine(sku=ln.sku, quantity=ln.quantity, line_id=ln.id) for ln in order.line_items[lines]],
        tracking_numbers=[f"1ZCONTRACT{shipment_id}"],
        shipping_carrier="UPS",
        shipped_at=datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC),
    )


async def requested_return(selling: SellingHarness, order: Order) -> tuple[str, dict[str, Any]]:
    """The customer asks to return the shipped units of the order's first line: the channel's
    return id and its return JSON as the connector delivers it to the intake, from its return
    webhook (confirmed as the gateway confirms it) or, for a channel without one, from its
    `poll_returns`."""
    connector = selling.connector
    if isinstance(selling, ReturnsSellingHarness):
        [webhook] = await selling.return_webhook(order)
        event = await connector.confirm_event(parsed(connector, webhook))
        assert event.kind is InboundKind.RETURN_REQUESTED and event.external_return_id
        return event.external_return_id, event.payload
    assert isinstance(selling, PolledReturnsSellingHarness), "a connector with returns gives its harness their moves"
    since = datetime.now(UTC) - timedelta(minutes=5)
    await selling.buyer_return(order)
    polled = [p for p in await connector.poll_returns(since) if p.external_order_id == order.external_id]
    assert len(polled) == 1, f"the poll found {len(polled)} returns of order {order.external_id}"
    return polled[0].external_id, polled[0].payload


class RecordingSink:
    """The `ReportSink` of a contract case: what a connector's `collect_reports` hands over."""

    def __init__(self) -> None:
        self.shipments: list[Shipment] = []
        self.stock_rows: list[StockRow] = []

    async def shipment(self, shipment: Shipment) -> Delivery:
        self.shipments.append(shipment)
        return Delivery.DELIVERED

    async def stock(self, rows: list[StockRow]) -> SnapshotReport:
        self.stock_rows.extend(rows)
        return SnapshotReport(channel_id="contract")

    def progress(self, detail: str) -> None:
        pass
