"""The connector against the ShipBob sandbox, in-process: idempotent create, refusals, cancel
before and after pick, shipments by polling and by webhook (duplicated, out of order), stock per
fulfillment center, and the rate limit."""

from __future__ import annotations

import json

import pytest

from connectors.base import (
    AlreadyShippedError,
    InboundKind,
    PermanentError,
    RateLimitedError,
    RejectedError,
    RetryableError,
    StockRow,
)
from connectors.shipbob.mapping import SHIPMENT_ID_PREFIX
from orderloop.config import ChannelConfig
from orderloop.model import ShipmentLine
from tests.connectors.shipbob.conftest import (
    API_TOKEN,
    SHIPBOB_CHANNEL_ID,
    Harness,
    MakeHarness,
    shipping_request,
)


async def test_create_sends_the_order_with_our_reference_channel_and_center(harness: Harness) -> None:
    request = shipping_request("2001", location="west")
    receipt = await harness.connector.create_shipping_request(request)
    assert not receipt.duplicate
    order = harness.sandbox.by_reference[request.id]
    assert receipt.vendor_id == str(order.id)
    assert order.channel_id == SHIPBOB_CHANNEL_ID
    assert order.shipments[0].center == 10
    assert order.body["shipping_method"] == "2-Day"
    [sent] = harness.requests("POST", "/2026-01/order")
    assert sent.status == 201
    assert sent.headers["authorization"] == f"Bearer {API_TOKEN}"
    assert sent.headers["shipbob_channel_id"] == str(SHIPBOB_CHANNEL_ID)


async def test_retried_create_is_a_duplicate_receipt_and_still_one_order(harness: Harness) -> None:
    request = shipping_request("2002")
    first = await harness.connector.create_shipping_request(request)
    again = await harness.connector.create_shipping_request(request)
    assert again.duplicate and again.vendor_id == first.vendor_id
    assert len(harness.sandbox.orders) == 1
    posts = harness.requests("POST", "/2026-01/order")
    assert [r.status for r in posts] == [201, 422]
    [lookup] = harness.requests("GET", "/2026-01/order")
    assert f"ReferenceIds={request.id.replace('/', '%2F')}" in lookup.query


async def test_bad_address_is_rejected_with_shipbobs_reason(harness: Harness) -> None:
    with pytest.raises(RejectedError, match=r"HTTP 422: recipient\.address\.city: The City field is required") as err:
        await harness.connector.create_shipping_request(shipping_request("2003", city=None))
    assert err.value.status_code == 422
    with pytest.raises(RejectedError, match="zip_code"):
        await harness.connector.create_shipping_request(shipping_request("2004", zip_code_or_postal_code="ABC"))
    assert harness.sandbox.orders == {}


async def test_unknown_product_is_rejected_unless_products_may_be_created(
    make_harness: MakeHarness, channel: ChannelConfig
) -> None:
    harness = await make_harness()
    request = shipping_request("2005", lines=(("NOT-IN-CATALOG", 1),))
    with pytest.raises(RejectedError, match="No product with reference_id 'NOT-IN-CATALOG'"):
        await harness.connector.create_shipping_request(request)
    creating = channel.model_copy(update={"settings": channel.settings | {"create_unknown_products": True}})
    other = await make_harness(creating)
    assert not (await other.connector.create_shipping_request(request)).duplicate
    assert "NOT-IN-CATALOG" in other.sandbox.products


async def test_cancel_before_pick_cancels_and_a_retried_cancel_is_fine(harness: Harness) -> None:
    request = shipping_request("2006")
    receipt = await harness.connector.create_shipping_request(request)
    await harness.connector.cancel_shipping_request(request, receipt.vendor_id)
    order = harness.sandbox.by_reference[request.id]
    assert order.status.value == "Cancelled"
    # The compensation retried: ShipBob refuses (already cancelled), which is success for us.
    await harness.connector.cancel_shipping_request(request, receipt.vendor_id)
    assert [r.status for r in harness.requests("POST", f"/2026-01/order/{order.id}:cancel")] == [200, 422]
    # Without the vendor id the order is found by our request id.
    other = shipping_request("2007")
    await harness.connector.create_shipping_request(other)
    await harness.connector.cancel_shipping_request(other, None)
    assert harness.sandbox.by_reference[other.id].status.value == "Cancelled"


async def test_cancel_of_a_request_shipbob_never_got_does_nothing(harness: Harness) -> None:
    await harness.connector.cancel_shipping_request(shipping_request("2008"), None)
    assert harness.requests("POST") == []


@pytest.mark.parametrize("stage", ["Picked", "Packed"])
async def test_cancel_after_pick_is_already_shipped(harness: Harness, stage: str) -> None:
    request = shipping_request(f"2009-{stage}")
    receipt = await harness.connector.create_shipping_request(request)
    await harness.control("POST", f"pick/{request.id}", params={"stage": stage})
    with pytest.raises(AlreadyShippedError, match=f"already {stage.lower()}"):
        await harness.connector.cancel_shipping_request(request, receipt.vendor_id)
    assert harness.sandbox.by_reference[request.id].status.value == "Processing"


async def test_cancel_after_shipping_is_already_shipped_also_when_partly_shipped(harness: Harness) -> None:
    request = shipping_request("2010")
    receipt = await harness.connector.create_shipping_request(request)
    await harness.control("POST", f"ship/{request.id}")
    with pytest.raises(AlreadyShippedError, match=r"Failure: shipment \d+: .* already shipped"):
        await harness.connector.cancel_shipping_request(request, receipt.vendor_id)
    partly = shipping_request("2011")
    await harness.connector.create_shipping_request(partly)
    await harness.control("POST", f"ship/{partly.id}", params={"parts": 2, "count": 1})
    with pytest.raises(AlreadyShippedError, match="PartialSuccess"):
        await harness.connector.cancel_shipping_request(partly, None)


async def test_fetch_shipments_after_the_sandbox_ships(harness: Harness) -> None:
    request = shipping_request("2012")
    receipt = await harness.connector.create_shipping_request(request)
    assert await harness.connector.fetch_shipments(request, receipt.vendor_id) == []
    await harness.control("POST", f"ship/{request.id}", params={"parts": 2})
    shipments = await harness.connector.fetch_shipments(request, receipt.vendor_id)
    assert len(shipments) == 2
    assert {s.shipping_request_id for s in shipments} == {request.id}
    assert all(s.id.startswith(SHIPMENT_ID_PREFIX) and s.location_id == "east" for s in shipments)
    assert all(len(s.tracking_numbers) == 1 and s.shipping_carrier == "USPS" and s.tracking_url for s in shipments)
    shipped: dict[str, int] = {}
    for shipment in shipments:
        for line in shipment.line_items:
            shipped[line.sku] = shipped.get(line.sku, 0) + line.quantity
    assert shipped == {"TSHIRT-BLK-M": 2, "MUG-11OZ": 1}
    # Polling again gives the same shipments (same ids), by vendor id or by our request id.
    assert await harness.connector.fetch_shipments(request, None) == shipments


async def test_partial_shipment_is_polled_as_it_happens(harness: Harness) -> None:
    request = shipping_request("2013")
    receipt = await harness.connector.create_shipping_request(request)
    await harness.control("POST", f"ship/{request.id}", params={"parts": 2, "count": 1})
    [first] = await harness.connector.fetch_shipments(request, receipt.vendor_id)
    assert first.line_items == [ShipmentLine(sku="TSHIRT-BLK-M", quantity=1)]
    await harness.control("POST", f"ship/{request.id}")
    both = await harness.connector.fetch_shipments(request, receipt.vendor_id)
    assert len(both) == 2 and both[0].id == first.id
    assert both[1].line_items == [
        ShipmentLine(sku="TSHIRT-BLK-M", quantity=1),
        ShipmentLine(sku="MUG-11OZ", quantity=1),
    ]


async def test_fetch_stock_maps_fulfillment_centers_to_our_locations(harness: Harness) -> None:
    await harness.control(
        "POST",
        "stock",
        params={"replace": "true"},
        json={"8": {"MUG-11OZ": 40}, "10": {"MUG-11OZ": 7}, "99": {"MUG-11OZ": 3}},
    )
    request = shipping_request("2014", lines=(("MUG-11OZ", 2),))
    await harness.connector.create_shipping_request(request)
    rows = await harness.connector.fetch_stock()
    assert sorted(rows, key=lambda r: r.location_ref or "") == [
        StockRow(sku="MUG-11OZ", on_hand=40, available=38, committed=2, inbound=0, location_ref="east"),
        StockRow(sku="MUG-11OZ", on_hand=3, available=3, committed=0, inbound=0, location_ref="shipbob-fc-99"),
        StockRow(sku="MUG-11OZ", on_hand=7, available=7, committed=0, inbound=0, location_ref="west"),
    ]
    await harness.control("POST", f"ship/{request.id}")
    east = [r for r in await harness.connector.fetch_stock() if r.location_ref == "east"]
    assert east == [StockRow(sku="MUG-11OZ", on_hand=38, available=38, committed=0, inbound=0, location_ref="east")]


async def test_seed_stock_serves_the_demo_skus_in_every_center(harness: Harness) -> None:
    rows = await harness.connector.fetch_stock()
    skus = {"TSHIRT-BLK-M", "TSHIRT-WHT-M", "MUG-11OZ", "POSTER-A2", "HOODIE-GRY-L"}
    assert {(r.sku, r.location_ref) for r in rows} == {(s, loc) for s in skus for loc in ("east", "west")}
    assert all(r.on_hand > 0 for r in rows)


async def test_inventory_pages_are_followed_by_their_next_url(harness: Harness) -> None:
    items = await harness.connector.client.inventory_by_fulfillment_center(page_size=2)
    assert [i["sku"] for i in items] == sorted(i["sku"] for i in items) and len(items) == 5
    pages = harness.requests("GET", "/2026-01/inventory-level/locations")
    assert len(pages) == 3 and "Cursor=4" in pages[-1].query


async def test_429_storm_gives_rate_limited_with_the_sandboxes_retry_after(make_harness: MakeHarness) -> None:
    harness = await make_harness(rate_limit=3, rate_window=30)
    for _ in range(3):
        await harness.connector.fetch_stock()
    assert harness.connector.client.remaining_calls == 0
    with pytest.raises(RateLimitedError, match="Rate limit is exceeded") as err:
        await harness.connector.create_shipping_request(shipping_request("2015"))
    [limited] = [r for r in harness.requests() if r.status == 429]
    assert err.value.retry_after is not None and 25 <= err.value.retry_after <= 30
    assert limited.body["reference_id"] == "order/storefront/2015/sr1"
    with pytest.raises(RateLimitedError):
        await harness.connector.fetch_shipments(shipping_request("2015"), "100000001")
    assert harness.sandbox.orders == {}


async def test_wrong_token_is_permanent_and_a_503_is_retryable(
    make_harness: MakeHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = await make_harness()
    await harness.control("POST", "faults", json={"status": 503, "count": 1, "retry_after": 2})
    with pytest.raises(RetryableError, match="HTTP 503") as err:
        await harness.connector.fetch_stock()
    assert err.value.retry_after == 2
    monkeypatch.setenv("ORDERLOOP_TEST_SHIPBOB_API_TOKEN", "revoked-token")
    with pytest.raises(PermanentError, match="HTTP 401") as denied:
        await harness.connector.fetch_stock()
    assert denied.value.status_code == 401


async def test_sandbox_webhooks_verify_with_the_connector_and_match_polling(make_harness: MakeHarness) -> None:
    harness = await make_harness(auto_ship=True, ship_delay=0.01)
    request = shipping_request("2016")
    receipt = await harness.connector.create_shipping_request(request)
    [delivery] = await harness.receiver.wait_for(1)
    event = harness.connector.parse_webhook(delivery.headers, delivery.body)
    assert event.kind is InboundKind.SHIPMENT
    assert event.event_id == delivery.headers["webhook-id"]
    assert delivery.headers["x-webhook-topic"] == "order.shipped"
    assert event.shipment is not None and event.shipment.shipping_request_id == request.id
    # The webhook saw "LabeledCreated"; polling now sees "Completed": the same shipment either way.
    assert json.loads(delivery.body)["status"] == "LabeledCreated"
    assert await harness.connector.fetch_shipments(request, receipt.vendor_id) == [event.shipment]


async def test_duplicate_deliveries_carry_one_event_id(make_harness: MakeHarness) -> None:
    harness = await make_harness(duplicate_deliveries=True)
    request = shipping_request("2017")
    await harness.connector.create_shipping_request(request)
    await harness.control("POST", f"ship/{request.id}")
    first, second = await harness.receiver.wait_for(2)
    events = [harness.connector.parse_webhook(d.headers, d.body) for d in (first, second)]
    assert events[0].event_id == events[1].event_id
    assert events[0].shipment == events[1].shipment
    # A redelivery on demand: same webhook-id, freshly signed.
    await harness.control("POST", f"webhooks/{events[0].event_id}/redeliver")
    third = (await harness.receiver.wait_for(3))[2]
    assert harness.connector.parse_webhook(third.headers, third.body).event_id == events[0].event_id


async def test_out_of_order_deliveries_still_give_correct_shipments(harness: Harness) -> None:
    await harness.control("POST", "webhooks/hold")
    request = shipping_request("2018")
    await harness.connector.create_shipping_request(request)
    await harness.control("POST", f"ship/{request.id}", params={"parts": 2})
    await harness.control("POST", f"deliver/{request.id}")
    held = await harness.control("GET", "webhooks/held")
    assert [h["topic"] for h in held] == ["order.shipped"] * 2 + ["order.shipment.delivered"] * 2
    # Signed when sent, not when held.
    assert {h["headers"] for h in held} == {None}
    released = await harness.control("POST", "webhooks/release", params={"order": "reverse"})
    assert [w["webhook_id"] for w in released["released"]] == [h["webhook_id"] for h in reversed(held)]
    deliveries = await harness.receiver.wait_for(4)
    events = [harness.connector.parse_webhook(d.headers, d.body) for d in deliveries]
    assert [e.event_id for e in events] == [h["webhook_id"] for h in reversed(held)]
    assert [e.kind for e in events] == [InboundKind.FULFILLMENT_UPDATE] * 2 + [InboundKind.SHIPMENT] * 2
    # The second parcel's `shipped` arrives first and the first's last: each is still its own
    # shipment with its own lines, equal to what polling reports.
    late_first, early_second = events[3].shipment, events[2].shipment
    polled = await harness.connector.fetch_shipments(request, None)
    assert [late_first, early_second] == polled
    assert late_first is not None and late_first.line_items == [ShipmentLine(sku="TSHIRT-BLK-M", quantity=1)]


async def test_the_hold_knob_keeps_holding_after_a_release(make_harness: MakeHarness) -> None:
    harness = await make_harness(hold_deliveries=True)
    request = shipping_request("2020")
    await harness.connector.create_shipping_request(request)
    await harness.control("POST", f"ship/{request.id}")
    [held] = await harness.control("GET", "webhooks/held")
    await harness.control("POST", "webhooks/release")
    [delivery] = await harness.receiver.wait_for(1)
    assert harness.connector.parse_webhook(delivery.headers, delivery.body).event_id == held["webhook_id"]
    await harness.control("POST", f"deliver/{request.id}")
    assert [h["topic"] for h in await harness.control("GET", "webhooks/held")] == ["order.shipment.delivered"]
    assert len(harness.receiver.deliveries) == 1


async def test_cancel_sends_shipment_cancelled(make_harness: MakeHarness) -> None:
    harness = await make_harness()
    request = shipping_request("2019")
    receipt = await harness.connector.create_shipping_request(request)
    await harness.connector.cancel_shipping_request(request, receipt.vendor_id)
    [delivery] = await harness.receiver.wait_for(1)
    event = harness.connector.parse_webhook(delivery.headers, delivery.body)
    assert event.kind is InboundKind.SHIPMENT_CANCELLED
    assert event.shipping_request_id == request.id
