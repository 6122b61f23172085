"""The fulfillment-channel contract, run against every fulfillment connector and its sandbox:
create is idempotent under retry, a cancel after the vendor shipped is `AlreadyShippedError`
(one before succeeds, retried too), a shipment webhook verifies and maps to our request (a
redelivery to the same shipment, a tampered one not at all; skipped for a vendor that pushes no
shipments), polling finds the same shipments (and the same ones when polled again),
and stock reads match the sandbox's stock; a connector with returns creates one expected return
under retry (our return id its reference), one without says so; a connector whose channel leaves
its reports to be collected (files) hands each shipment and stock level over once, and one whose
channel sends them collects nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import ActivityEnvironment

from connectors.base import AlreadyShippedError, InboundKind, ReturnsNotSupported
from orderloop.activity_models import CancelShippingInput
from orderloop.ledger import Ledger
from orderloop.model import Shipment, ShippingRequest
from orderloop.returns_model import ExpectedReturn, ReturnLine
from tests.connectors.contract.roles import FulfillmentHarness, ReportsFulfillmentHarness, ReturnsFulfillmentHarness
from tests.connectors.contract.steps import (
    RecordingSink,
    activities_of,
    assert_tampered_webhooks_are_refused,
    parsed,
)


def units(lines: list[tuple[str, int]]) -> Counter[str]:
    counted: Counter[str] = Counter()
    for sku, quantity in lines:
        counted[sku] += quantity
    return counted


def needs_shipment_webhooks(fulfillment: FulfillmentHarness) -> None:
    if not fulfillment.pushes_shipments:
        pytest.skip(f"{fulfillment.connector.channel.type} pushes no shipments: the poll cases stand for it")


def requested(request: ShippingRequest) -> Counter[str]:
    return units([(line.sku, line.quantity) for line in request.line_items])


def shipped(shipments: list[Shipment]) -> Counter[str]:
    return units([(line.sku, line.quantity) for s in shipments for line in s.line_items])


async def test_create_is_idempotent_under_retry(fulfillment: FulfillmentHarness) -> None:
    request = fulfillment.shipping_request("C1")

    first = await fulfillment.connector.create_shipping_request(request)
    retried = await fulfillment.connector.create_shipping_request(request)

    assert not first.duplicate
    assert retried.duplicate
    assert retried.vendor_id == first.vendor_id
    assert await fulfillment.vendor_orders(request.id) == 1


async def test_cancel_after_the_vendor_shipped_is_already_shipped(fulfillment: FulfillmentHarness) -> None:
    request = fulfillment.shipping_request("C2")
    receipt = await fulfillment.connector.create_shipping_request(request)
    await fulfillment.ship(request)

    with pytest.raises(AlreadyShippedError):
        await fulfillment.connector.cancel_shipping_request(request, receipt.vendor_id)
    # The cancel activity tells the workflow so (its `cancel_after_ship` path), without a retry.
    result = await ActivityEnvironment().run(
        activities_of(fulfillment.connector).cancel_shipping_request,
        CancelShippingInput(request=request, vendor_id=receipt.vendor_id),
    )
    assert result.already_shipped and not result.cancelled


async def test_cancel_before_the_vendor_ships_succeeds_and_again_under_retry(fulfillment: FulfillmentHarness) -> None:
    request = fulfillment.shipping_request("C7")
    receipt = await fulfillment.connector.create_shipping_request(request)

    await fulfillment.connector.cancel_shipping_request(request, receipt.vendor_id)
    await fulfillment.connector.cancel_shipping_request(request, receipt.vendor_id)

    assert await fulfillment.connector.fetch_shipments(request, receipt.vendor_id) == []


async def test_shipment_webhook_verifies_and_maps_to_our_request(fulfillment: FulfillmentHarness) -> None:
    needs_shipment_webhooks(fulfillment)
    request = fulfillment.shipping_request("C3")
    await fulfillment.connector.create_shipping_request(request)

    webhooks = await fulfillment.ship(request)

    events = [parsed(fulfillment.connector, w) for w in webhooks]
    assert events and all(e.kind is InboundKind.SHIPMENT for e in events)
    shipments = [e.shipment for e in events if e.shipment is not None]
    assert len(shipments) == len(events)
    assert {s.shipping_request_id for s in shipments} == {request.id}
    assert shipped(shipments) == requested(request)
    assert all(e.event_id for e in events)


async def test_redelivered_shipment_webhook_maps_to_the_same_shipment(fulfillment: FulfillmentHarness) -> None:
    needs_shipment_webhooks(fulfillment)
    request = fulfillment.shipping_request("C8")
    await fulfillment.connector.create_shipping_request(request)

    *_, first, again = await fulfillment.ship(request, redelivered=True)

    one, two = parsed(fulfillment.connector, first), parsed(fulfillment.connector, again)
    # The gateway passes shipments on; the order workflow counts each shipment id once.
    assert one.shipment is not None and two.shipment is not None
    assert one.shipment.id == two.shipment.id
    assert one.event_id == two.event_id


async def test_tampered_shipment_webhook_is_a_signature_error(fulfillment: FulfillmentHarness) -> None:
    needs_shipment_webhooks(fulfillment)
    request = fulfillment.shipping_request("C4")
    await fulfillment.connector.create_shipping_request(request)
    [webhook, *_] = await fulfillment.ship(request)

    assert_tampered_webhooks_are_refused(fulfillment, webhook)


async def test_shipments_poll_finds_what_the_vendor_shipped(fulfillment: FulfillmentHarness) -> None:
    request = fulfillment.shipping_request("C5")
    receipt = await fulfillment.connector.create_shipping_request(request)
    assert await fulfillment.connector.fetch_shipments(request, receipt.vendor_id) == []
    webhooks = await fulfillment.ship(request)

    polled = await fulfillment.connector.fetch_shipments(request, receipt.vendor_id)

    assert {s.shipping_request_id for s in polled} == {request.id}
    assert shipped(polled) == requested(request)
    # The webhook and the poller name a shipment alike, so the order workflow counts it once.
    if fulfillment.pushes_shipments:
        pushed = [parsed(fulfillment.connector, w).shipment for w in webhooks]
        assert sorted(s.id for s in polled) == sorted(s.id for s in pushed if s is not None)
    else:
        assert webhooks == []


async def test_shipments_polled_again_are_the_same_shipments(fulfillment: FulfillmentHarness) -> None:
    request = fulfillment.shipping_request("C9")
    receipt = await fulfillment.connector.create_shipping_request(request)
    await fulfillment.ship(request)

    first = await fulfillment.connector.fetch_shipments(request, receipt.vendor_id)
    again = await fulfillment.connector.fetch_shipments(request, receipt.vendor_id)

    # The order workflow counts each shipment id once: a second read must name the same ones.
    assert first and sorted(s.id for s in again) == sorted(s.id for s in first)
    assert shipped(again) == requested(request)


async def test_stock_read_matches_the_sandbox_stock(fulfillment: FulfillmentHarness) -> None:
    request = fulfillment.shipping_request("C6")
    levels = {line.sku: 17 + n for n, line in enumerate(request.line_items)}
    await fulfillment.set_stock(levels)

    rows = await fulfillment.connector.fetch_stock()

    assert {(r.location_ref, r.sku): r.on_hand for r in rows} == {
        (fulfillment.location_id, sku): on_hand for sku, on_hand in levels.items()
    }


def expected_return(fulfillment: FulfillmentHarness, ref: str) -> ExpectedReturn:
    """A return of what the harness's shipping request `ref` ships, to its location."""
    request = fulfillment.shipping_request(ref)
    return ExpectedReturn(
        return_id=f"return/contract/{ref}",
        order_id=request.order_id,
        external_order_id=request.external_order_id,
        channel_id="contract",
        fulfillment_channel_id=fulfillment.connector.channel.id,
        location_id=fulfillment.location_id,
        lines=[
            ReturnLine(id=f"r{i}", order_line_item_id=line.line_id or line.sku, sku=line.sku,
                       quantity_returned=line.quantity)
            for i, line in enumerate(request.line_items)
        ],
        created_at=request.created_at,
    )  # fmt: skip


async def test_create_return_is_idempotent_under_retry(fulfillment: FulfillmentHarness) -> None:
    expected = expected_return(fulfillment, "R1")
    if not fulfillment.connector.supports_returns:
        with pytest.raises(ReturnsNotSupported):
            await fulfillment.connector.create_return(expected)
        return
    assert isinstance(fulfillment, ReturnsFulfillmentHarness), "a connector with returns gives its harness their moves"
    # What comes back was shipped first (a vendor may keep returns on the order that shipped
    # them: ShipHero's `return_create` takes the order's id).
    request = fulfillment.shipping_request("R1")
    await fulfillment.connector.create_shipping_request(request)
    await fulfillment.ship(request)

    first = await fulfillment.connector.create_return(expected)
    retried = await fulfillment.connector.create_return(expected)

    assert not first.duplicate
    assert retried.duplicate
    assert retried.vendor_id == first.vendor_id
    assert await fulfillment.vendor_returns(expected.return_id) == 1


@pytest_asyncio.fixture
async def journal(tmp_path: Path) -> AsyncIterator[Ledger]:
    """The ledger's file journal, on a SQLite file of the case's own."""
    opened = await Ledger.open(f"sqlite:///{tmp_path / 'journal.db'}")
    yield opened
    await opened.close()


async def test_collected_shipments_map_to_our_request_once(fulfillment: FulfillmentHarness, journal: Ledger) -> None:
    sink = RecordingSink()
    if not isinstance(fulfillment, ReportsFulfillmentHarness):
        # Its channel sends its reports (webhooks, or answers fetch_shipments): nothing to collect.
        report = await fulfillment.connector.collect_reports(journal, sink)
        assert (report.files, sink.shipments, sink.stock_rows) == ([], [], [])
        return
    request = fulfillment.shipping_request("C9")
    await fulfillment.connector.create_shipping_request(request)
    assert await fulfillment.vendor_orders(request.id) == 1
    await fulfillment.ship(request)

    first = await fulfillment.connector.collect_reports(journal, sink)
    again = await fulfillment.connector.collect_reports(journal, sink)

    assert {s.shipping_request_id for s in sink.shipments} == {request.id}
    assert shipped(sink.shipments) == requested(request)
    assert first.rows_applied == len(request.line_items) and first.rows_rejected == 0
    assert again.files == [] and len(first.files) == 1
    assert await fulfillment.collected() == first.files


async def test_collected_stock_matches_the_partners_stock(fulfillment: FulfillmentHarness, journal: Ledger) -> None:
    if not isinstance(fulfillment, ReportsFulfillmentHarness):
        pytest.skip("its stock is read by fetch_stock (test_stock_read_matches_the_sandbox_stock)")
    request = fulfillment.shipping_request("C10")
    levels = {line.sku: 23 + n for n, line in enumerate(request.line_items)}
    await fulfillment.set_stock(levels)
    sink = RecordingSink()

    await fulfillment.connector.collect_reports(journal, sink)

    assert {(r.location_ref or fulfillment.location_id, r.sku): r.on_hand for r in sink.stock_rows} == {
        (fulfillment.location_id, sku): on_hand for sku, on_hand in levels.items()
    }
