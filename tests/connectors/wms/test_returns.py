"""The WMS's returns role against its sandbox: an expected return is created once by our return
id (with its label), received with each unit's condition, reported by a signed `return.received`
the connector reads as a receipt; sellable units go back on the WMS's shelf, with no stock
webhook (Orderloop restocks from the receipt)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.base import InboundKind, PayloadError
from orderloop.returns_model import ExpectedReturn, ReturnCondition, ReturnLine
from tests.connectors.wms.conftest import API_TOKEN, WebhookReceiver, Wms
from tests.connectors.wms.test_webhooks import signed

RETURN_ID = "return/storefront/R-77"


def expected(quantity: int = 2) -> ExpectedReturn:
    return ExpectedReturn(
        return_id=RETURN_ID,
        order_id="order/storefront/1001",
        external_order_id="1001",
        channel_id="storefront",
        fulfillment_channel_id="wms",
        location_id="east",
        lines=[ReturnLine(id="r1", order_line_item_id="1", sku="POSTER-A2", quantity_returned=quantity)],
        created_at=datetime(2026, 12, 3, 10, 0, tzinfo=UTC),
    )


async def test_an_expected_return_is_created_once_and_its_receipt_reported(wms: Wms, receiver: WebhookReceiver) -> None:
    first = await wms.connector.create_return(expected())
    again = await wms.connector.create_return(expected())
    assert (first.duplicate, again.duplicate, again.vendor_id) == (False, True, first.vendor_id)
    assert first.label is not None and first.label.tracking_number.startswith("1ZRMA")
    assert await wms.connector.fetch_return_receipt(RETURN_ID, first.vendor_id) is None
    before = {(r["locationId"], r["sku"]): r["onHand"] for r in (await wms.http.get("/_sandbox/stock")).json()}

    lines = [
        {"sku": "POSTER-A2", "quantity": 1, "condition": "sellable"},
        {"sku": "POSTER-A2", "quantity": 1, "condition": "damaged"},
    ]
    received = await wms.http.post(f"/_sandbox/returns/{first.vendor_id}/receive", json={"lines": lines})
    assert received.status_code == 200, received.text
    await wms.webhooks_sent()

    assert receiver.topics() == ["return.received"]
    delivery = receiver.received[0]
    event = wms.connector.parse_webhook(delivery.headers, delivery.body)
    assert event.kind is InboundKind.RETURN_RECEIVED and event.return_receipt is not None
    receipt = event.return_receipt
    assert (receipt.return_id, receipt.location_id, receipt.event_id) == (RETURN_ID, "east", event.event_id)
    assert [(u.sku, u.quantity, u.condition) for u in receipt.lines] == [
        ("POSTER-A2", 1, ReturnCondition.SELLABLE),
        ("POSTER-A2", 1, ReturnCondition.DAMAGED),
    ]
    polled = await wms.connector.fetch_return_receipt(RETURN_ID, None)
    assert polled is not None and polled.lines == receipt.lines
    after = {(r["locationId"], r["sku"]): r["onHand"] for r in (await wms.http.get("/_sandbox/stock")).json()}
    assert after[("east", "POSTER-A2")] == before.get(("east", "POSTER-A2"), 0) + 1
    twice = await wms.http.post(f"/_sandbox/returns/{first.vendor_id}/receive", json={"lines": lines})
    assert twice.status_code == 409


async def test_the_sandbox_refuses_a_return_without_a_key_or_lines(wms: Wms) -> None:
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    no_key = await wms.http.post("/returns", json={"externalId": "x", "returnLineItems": []}, headers=auth)
    assert no_key.status_code == 400 and "Idempotency-Key" in no_key.json()["error"]
    empty = await wms.http.post(
        "/returns", json={"externalId": "x", "returnLineItems": []}, headers={**auth, "Idempotency-Key": "k"}
    )
    assert empty.status_code == 422 and empty.json()["reason"] == "returnLineItems must be a non-empty array"
    bad = await wms.http.post(
        f"/_sandbox/returns/{(await wms.connector.create_return(expected(1))).vendor_id}/receive",
        json={"lines": [{"sku": "POSTER-A2", "quantity": 1, "condition": "shiny"}]},
    )
    assert bad.status_code == 422 and "condition must be one of" in bad.json()["error"]


def test_a_receipt_with_an_unknown_condition_is_refused(wms: Wms) -> None:
    body = (
        b'{"externalId": "return/storefront/R-1", "returnLineItems": [{"sku": "A", "quantityReturned": 1,'
        b' "inspection": {"conditionCategory": "shiny"}}]}'
    )
    with pytest.raises(PayloadError, match="conditionCategory 'shiny' is not one of sellable, damaged"):
        wms.connector.parse_webhook(signed("return.received", body), body)
