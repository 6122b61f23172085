"""The WMS connector against the WMS sandbox: a shipping request is created once however often the
call is retried, refusals and late cancels come back as the errors the workflow handles,
shipments and stock are read whole, and the webhooks the WMS signs are accepted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
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
from connectors.wms import WmsConnector
from orderloop.config import ChannelConfig
from tests.connectors.wms.conftest import ADDRESS, API_TOKEN_VAR, REQUEST_ID, WebhookReceiver, Wms, shipping_request


async def ship(wms: Wms, ref: str, parts: int = 1) -> dict[str, Any]:
    response = await wms.http.post(f"/_sandbox/ship/{ref}", params={"parts": parts})
    assert response.status_code == 200, response.text
    shipped: dict[str, Any] = response.json()
    return shipped


async def set_stock(wms: Wms, stock: dict[str, Any]) -> None:
    response = await wms.http.post("/_sandbox/stock", json=stock)
    assert response.status_code == 200, response.text


async def arm_fault(wms: Wms, **spec: Any) -> None:
    response = await wms.http.post("/_sandbox/faults", json=spec)
    assert response.status_code == 200, response.text


# --- creating -----------------------------------------------------------------------------------


async def test_retried_create_returns_the_same_request_and_creates_no_other(wms: Wms) -> None:
    request = shipping_request()

    first = await wms.connector.create_shipping_request(request)
    again = await wms.connector.create_shipping_request(request)

    assert first.duplicate is False
    assert again.duplicate is True and again.vendor_id == first.vendor_id
    held = await wms.requests_held()
    assert [(r["id"], r["externalId"]) for r in held] == [(first.vendor_id, REQUEST_ID)]
    sent = await wms.recorded("POST", "/shipping-requests")
    assert [r["headers"]["idempotency-key"] for r in sent] == [request.idempotency_key] * 2


async def test_same_request_sent_under_another_key_is_the_same_request(wms: Wms) -> None:
    first = await wms.connector.create_shipping_request(shipping_request())

    again = await wms.connector.create_shipping_request(shipping_request(idempotency_key="another-key"))

    assert (again.vendor_id, again.duplicate) == (first.vendor_id, True)
    assert len(await wms.requests_held()) == 1


async def test_wms_holds_the_request_as_we_sent_it(wms: Wms) -> None:
    receipt = await wms.connector.create_shipping_request(shipping_request())

    held = await wms.connector.client.get_request(REQUEST_ID)

    assert held["id"] == receipt.vendor_id
    assert held["lineItems"] == [
        {"id": "li_1", "sku": "TSHIRT-BLK-M", "quantity": 2},
        {"id": "li_2", "sku": "MUG-11OZ", "quantity": 1},
    ]
    assert held["shippingAddress"] == ADDRESS.to_onx()
    assert (held["locationId"], held["shippingCode"], held["status"]) == ("east", "UPS_GROUND", "accepted")


async def test_create_refused_during_an_outage_creates_one_request_when_retried(wms: Wms) -> None:
    await arm_fault(wms, status=503, count=1, retry_after=5)

    with pytest.raises(RetryableError) as error:
        await wms.connector.create_shipping_request(shipping_request())
    receipt = await wms.connector.create_shipping_request(shipping_request())

    assert error.value.retry_after == 5.0 and not isinstance(error.value, RateLimitedError)
    assert receipt.duplicate is False
    assert len(await wms.requests_held()) == 1


async def test_address_without_street_is_rejected_with_the_wms_reason(wms: Wms) -> None:
    no_street = ADDRESS.model_copy(update={"address1": None, "address2": None})

    with pytest.raises(RejectedError) as error:
        await wms.connector.create_shipping_request(shipping_request(shipping_address=no_street))

    reason = "shippingAddress is missing address1: the carrier cannot produce a label"
    assert reason in str(error.value)
    assert error.value.status_code == 422
    assert error.value.body == {"error": "shipping request refused", "reason": reason}
    assert await wms.requests_held() == []


async def test_sku_unknown_at_the_location_is_rejected_naming_it(wms: Wms) -> None:
    await wms.http.post("/_sandbox/config", json={"reject_unknown_skus": True, "stock": {"east": {"TSHIRT-BLK-M": 9}}})

    with pytest.raises(RejectedError, match="unknown SKU\\(s\\) at location east: MUG-11OZ"):
        await wms.connector.create_shipping_request(shipping_request())


async def test_rate_limited_wms_gives_its_retry_after(wms: Wms) -> None:
    await arm_fault(wms, status=429, count=1, retry_after=12)

    with pytest.raises(RateLimitedError) as error:
        await wms.connector.create_shipping_request(shipping_request())

    assert error.value.retry_after == 12.0
    assert await wms.requests_held() == []


async def test_wrong_api_token_is_a_permanent_error(wms: Wms, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(API_TOKEN_VAR, "revoked-token")

    with pytest.raises(PermanentError) as error:
        await wms.connector.create_shipping_request(shipping_request())

    assert not isinstance(error.value, RejectedError | RetryableError)
    assert error.value.status_code == 401


# --- cancelling ---------------------------------------------------------------------------------


async def test_cancel_before_shipping_cancels_the_request(wms: Wms) -> None:
    request = shipping_request()
    receipt = await wms.connector.create_shipping_request(request)

    await wms.connector.cancel_shipping_request(request, receipt.vendor_id)

    assert [r["status"] for r in await wms.requests_held()] == ["cancelled"]
    # Cancelled means it never leaves the warehouse.
    assert (await wms.http.post(f"/_sandbox/ship/{receipt.vendor_id}")).status_code == 409


async def test_cancel_without_the_wms_id_finds_the_request_by_ours(wms: Wms) -> None:
    request = shipping_request()
    await wms.connector.create_shipping_request(request)

    await wms.connector.cancel_shipping_request(request, None)

    assert [r["status"] for r in await wms.requests_held()] == ["cancelled"]
    sent = await wms.recorded("POST", "/shipping-requests/order/storefront/SF-1001/sr1/cancel")
    assert len(sent) == 1


async def test_cancel_after_shipping_is_already_shipped(wms: Wms) -> None:
    request = shipping_request()
    receipt = await wms.connector.create_shipping_request(request)
    await ship(wms, receipt.vendor_id)

    with pytest.raises(AlreadyShippedError) as error:
        await wms.connector.cancel_shipping_request(request, receipt.vendor_id)

    assert error.value.status_code == 409
    assert "already_shipped" in str(error.value)
    assert [r["status"] for r in await wms.requests_held()] == ["shipped"]


async def test_cancel_after_the_first_of_two_parts_shipped_is_already_shipped(wms: Wms) -> None:
    request = shipping_request()
    receipt = await wms.connector.create_shipping_request(request)
    # The second part waits for a ship timer that never fires during the test.
    await wms.http.post("/_sandbox/config", json={"auto_ship": True, "ship_delay": 3600})
    await ship(wms, receipt.vendor_id, parts=2)

    with pytest.raises(AlreadyShippedError) as error:
        await wms.connector.cancel_shipping_request(request, receipt.vendor_id)

    assert error.value.body["requestStatus"] == "partially_shipped"
    assert len(error.value.body["shipmentIds"]) == 1


async def test_cancel_of_a_request_the_wms_never_had_is_permanent(wms: Wms) -> None:
    with pytest.raises(PermanentError) as error:
        await wms.connector.cancel_shipping_request(shipping_request(), None)

    assert not isinstance(error.value, AlreadyShippedError)
    assert error.value.status_code == 404


# --- shipments and stock ------------------------------------------------------------------------


async def test_two_part_shipment_is_fetched_as_two_partial_shipments_covering_the_request(wms: Wms) -> None:
    request = shipping_request()
    receipt = await wms.connector.create_shipping_request(request)
    await ship(wms, receipt.vendor_id, parts=2)

    shipments = await wms.connector.fetch_shipments(request, receipt.vendor_id)

    assert len(shipments) == 2
    assert {s.shipping_request_id for s in shipments} == {REQUEST_ID}
    assert {s.fulfillment_channel_id for s in shipments} == {"wms"}
    assert all(s.tracking_numbers and s.tracking_url and s.location_id == "east" for s in shipments)
    shipped: dict[str, int] = {}
    for s in shipments:
        for line in s.line_items:
            assert line.line_id is not None
            shipped[line.line_id] = shipped.get(line.line_id, 0) + line.quantity
    assert shipped == {line.line_id: line.quantity for line in request.line_items}
    # Neither part alone is the whole request.
    assert all(sum(line.quantity for line in s.line_items) < 3 for s in shipments)


async def test_shipments_are_found_by_our_request_id_when_the_wms_id_is_unknown(wms: Wms) -> None:
    request = shipping_request()
    receipt = await wms.connector.create_shipping_request(request)
    await ship(wms, receipt.vendor_id)

    shipments = await wms.connector.fetch_shipments(request, None)

    assert [sum(line.quantity for line in s.line_items) for s in shipments] == [3]


async def test_request_not_shipped_yet_has_no_shipments(wms: Wms) -> None:
    request = shipping_request()
    receipt = await wms.connector.create_shipping_request(request)

    assert await wms.connector.fetch_shipments(request, receipt.vendor_id) == []


async def test_fetch_stock_reads_every_page(wms: Wms) -> None:
    # One more SKU than the connector's page of 500, at a named location.
    stock = {f"SKU-{n:04d}": n for n in range(501)}
    await set_stock(wms, {"east": stock})

    rows = await wms.connector.fetch_stock()

    assert {row.sku: row.on_hand for row in rows} == stock
    assert {row.location_ref for row in rows} == {"east"}
    pages = await wms.recorded("GET", "/stock-levels")
    assert len(pages) == 2 and "cursor=500" in pages[1]["query"]


async def test_stock_levels_in_small_pages_are_read_to_the_last_one(wms: Wms) -> None:
    await set_stock(wms, {"A": 1, "B": 2, "C": 3, "D": 4, "E": 5})

    items = await wms.connector.client.stock_levels(page_size=2)

    assert [(item["sku"], item["onHand"]) for item in items] == [("A", 1), ("B", 2), ("C", 3), ("D", 4), ("E", 5)]
    pages = await wms.recorded("GET", "/stock-levels")
    assert [page["query"] for page in pages] == ["limit=2", "limit=2&cursor=2", "limit=2&cursor=4"]


async def test_fetched_stock_shows_units_committed_to_open_requests(wms: Wms) -> None:
    await set_stock(wms, {"east": {"TSHIRT-BLK-M": 10, "MUG-11OZ": 4}})
    await wms.connector.create_shipping_request(shipping_request())

    rows = await wms.connector.fetch_stock()

    assert sorted(rows, key=lambda row: row.sku) == [
        StockRow(sku="MUG-11OZ", on_hand=4, available=3, committed=1, inbound=0, location_ref="east"),
        StockRow(sku="TSHIRT-BLK-M", on_hand=10, available=8, committed=2, inbound=0, location_ref="east"),
    ]


# --- webhooks the WMS sends ---------------------------------------------------------------------


async def test_signed_shipment_webhook_from_the_wms_is_accepted(wms: Wms, receiver: WebhookReceiver) -> None:
    request = shipping_request()
    receipt = await wms.connector.create_shipping_request(request)
    shipped = await ship(wms, receipt.vendor_id, parts=2)
    await wms.webhooks_sent()

    events = [wms.connector.parse_webhook(d.headers, d.body) for d in receiver.received]

    assert [e.kind for e in events] == [InboundKind.SHIPMENT, InboundKind.SHIPMENT]
    assert [e.shipment.id for e in events if e.shipment] == [s["id"] for s in shipped["shipments"]]
    assert {e.shipment.shipping_request_id for e in events if e.shipment} == {REQUEST_ID}
    assert len({e.event_id for e in events}) == 2
    assert [e.shipment for e in events] == await wms.connector.fetch_shipments(request, receipt.vendor_id)


async def test_stock_change_at_the_wms_is_reported_as_a_signed_inventory_webhook(
    wms: Wms, receiver: WebhookReceiver
) -> None:
    await set_stock(wms, {"east": {"POSTER-A2": 40}, "HOODIE-GRY-L": 7})
    await wms.webhooks_sent()

    [delivery] = receiver.received
    event = wms.connector.parse_webhook(delivery.headers, delivery.body)

    assert event.kind is InboundKind.INVENTORY
    assert sorted(event.stock, key=lambda row: row.sku) == [
        StockRow(sku="HOODIE-GRY-L", on_hand=7, available=7, committed=0, inbound=0, location_ref=None),
        StockRow(sku="POSTER-A2", on_hand=40, available=40, committed=0, inbound=0, location_ref="east"),
    ]


# --- answers the mapping cannot read ------------------------------------------------------------


def answering(body: dict[str, Any]) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, json=body)


async def test_unreadable_shipment_listing_is_a_permanent_error_naming_the_request(channel: ChannelConfig) -> None:
    listing = {"shipments": [{"id": "SHP-000001", "orderId": REQUEST_ID, "lineItems": [{"sku": "MUG-11OZ"}]}]}
    async with httpx.AsyncClient(transport=httpx.MockTransport(answering(listing))) as http:
        connector = WmsConnector(channel, http=http)
        with pytest.raises(PermanentError) as error:
            await connector.fetch_shipments(shipping_request(), "SR-000001")

    assert f"shipments of {REQUEST_ID}: fulfillment lineItems[0].quantity" in str(error.value)
    assert error.value.body == listing["shipments"]


async def test_unreadable_stock_level_is_a_permanent_error(channel: ChannelConfig) -> None:
    levels = {"items": [{"sku": "MUG-11OZ", "onHand": "300"}], "next_cursor": None}
    async with httpx.AsyncClient(transport=httpx.MockTransport(answering(levels))) as http:
        connector = WmsConnector(channel, http=http)
        with pytest.raises(PermanentError, match="stock levels: stock level for 'MUG-11OZ': onHand must be an integer"):
            await connector.fetch_stock()
