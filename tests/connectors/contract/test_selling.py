"""The selling-channel contract, run against every selling connector and its sandbox: a signed
order webhook verifies and parses, a tampered one is refused as the gateway's 401, a redelivery
carries the same delivery id, the order maps to a valid onX order, tracking push is idempotent
per shipment, an inventory push lands, and the order poll reads every page."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from connectors.base import InboundKind, ReturnsNotSupported
from orderloop.contracts.returns import return_workflow_id
from orderloop.returns_model import ReceivedUnits, ReturnCondition, ReturnLine, ReturnReceipt, ReturnRequest
from tests.connectors.contract.roles import SellingHarness
from tests.connectors.contract.steps import (
    RECEIVED_AT,
    TENANT,
    assert_tampered_webhooks_are_refused,
    parsed,
    placed_order,
    requested_return,
    shipment_of,
)

SCHEMAS = Path(__file__).resolve().parents[2] / "onx" / "schemas"


def onx_validator(name: str) -> jsonschema.Draft7Validator:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


async def test_signed_order_webhook_verifies_and_parses_to_an_order_event(selling: SellingHarness) -> None:
    [webhook] = await selling.order_webhook()

    event = parsed(selling.connector, webhook)

    assert event.kind is InboundKind.ORDER_CREATED
    assert event.external_order_id
    assert event.event_id
    assert event.payload == json.loads(webhook.body)


async def test_tampered_order_webhook_is_a_signature_error_the_gateway_answers_401(selling: SellingHarness) -> None:
    [webhook] = await selling.order_webhook()

    assert_tampered_webhooks_are_refused(selling, webhook)


async def test_redelivered_order_webhook_carries_the_same_delivery_id(selling: SellingHarness) -> None:
    first, again = await selling.order_webhook(redelivered=True)
    [other] = await selling.order_webhook()

    one, two, different = (parsed(selling.connector, w) for w in (first, again, other))

    assert one.event_id and one.event_id == two.event_id
    assert one.external_order_id == two.external_order_id
    assert different.event_id != one.event_id
    assert different.external_order_id != one.external_order_id


async def test_order_maps_to_a_valid_onx_order(selling: SellingHarness) -> None:
    order = await placed_order(selling)

    onx_validator("order").validate(order.to_onx())
    assert order.channel_id == selling.connector.channel.id
    assert len(order.line_items) >= 2


async def test_tracking_push_is_idempotent_per_shipment(selling: SellingHarness) -> None:
    order = await placed_order(selling)
    first_parcel, second_parcel = shipment_of(order, "S1", slice(0, 1)), shipment_of(order, "S2", slice(1, None))

    pushed = await selling.connector.push_shipment(order, first_parcel)
    pushed_again = await selling.connector.push_shipment(order, first_parcel)
    assert await selling.tracking_records(order.external_id) == 1
    other = await selling.connector.push_shipment(order, second_parcel)

    assert pushed_again == pushed
    assert other != pushed
    assert await selling.tracking_records(order.external_id) == 2


async def test_inventory_push_is_accepted_and_shown_at_the_channel(selling: SellingHarness) -> None:
    quantities = {sku: 7 + n for n, sku in enumerate(selling.inventory_skus)}

    await selling.connector.push_inventory(quantities)

    published = await selling.published_quantities()
    assert {sku: published.get(sku) for sku in quantities} == quantities
    sold_out = {selling.inventory_skus[0]: 0}
    await selling.connector.push_inventory(sold_out)
    assert (await selling.published_quantities())[selling.inventory_skus[0]] == 0


async def test_order_poll_reads_every_page_and_sees_each_order_once(selling: SellingHarness) -> None:
    placed = await selling.place_orders_beyond_one_page()

    polled = await selling.connector.poll_orders(datetime(2000, 1, 1, tzinfo=UTC))

    ids = [p.external_id for p in polled]
    assert sorted(ids) == sorted(placed)
    # Any method: a vendor may list by POST (TikTok's order search).
    listed = await selling.http.get("/_sandbox/requests", params={"path_prefix": selling.poll_path})
    assert len(listed.json()) >= 2, "the placed orders fit in one page: the poll's paging was not exercised"


def any_return_received() -> tuple[ReturnRequest, ReturnReceipt]:
    line = ReturnLine(id="r1", order_line_item_id="1", sku="SKU-1", quantity_returned=1)
    request = ReturnRequest(
        id="return/contract/1",
        external_id="1",
        channel_id="contract",
        tenant_id=TENANT,
        order_id="order/contract/1",
        external_order_id="1",
        created_at=RECEIVED_AT,
        updated_at=RECEIVED_AT,
        return_line_items=[line],
    )
    units = ReceivedUnits(sku="SKU-1", quantity=1, condition=ReturnCondition.SELLABLE)
    return request, ReturnReceipt(return_id=request.id, lines=[units])


async def test_a_return_request_maps_to_the_orders_lines_and_is_reported_received_once(
    selling: SellingHarness,
) -> None:
    connector = selling.connector
    if not connector.supports_returns:
        with pytest.raises(ReturnsNotSupported):
            await connector.push_return_received(*any_return_received())
        return
    order = await placed_order(selling)
    await connector.push_shipment(order, shipment_of(order, "S1", slice(None)))
    external_return_id, raw = await requested_return(selling, order)
    assert connector.return_order_id(raw) == order.external_id
    return_id = return_workflow_id(connector.channel.id, external_return_id)
    request = connector.map_return(
        raw, return_id=return_id, tenant_id=TENANT, order_id=order.id, received_at=RECEIVED_AT
    )
    first = order.line_items[0]
    assert [(ln.order_line_item_id, ln.sku, ln.quantity_returned) for ln in request.return_line_items] == [
        (first.id, first.sku, first.quantity)
    ]
    receipt = ReturnReceipt(
        return_id=return_id,
        lines=[ReceivedUnits(sku=first.sku, quantity=first.quantity, condition=ReturnCondition.SELLABLE)],
    )

    calls_before = len((await selling.http.get("/_sandbox/requests")).json())
    pushed = await connector.push_return_received(request, receipt)
    pushed_again = await connector.push_return_received(request, receipt)

    assert pushed_again == pushed
    if getattr(selling, "tells_received", True):
        assert await selling.received_notices(external_return_id) == 1  # type: ignore[attr-defined]
        return
    # A channel whose API takes no "received" (its harness says why) is told nothing, twice.
    assert pushed is None
    assert len((await selling.http.get("/_sandbox/requests")).json()) == calls_before
