"""The Walmart connector against the sandbox: acknowledge before the first ship-lines call, one
ship-lines call per parcel however often it is pushed, carriers as Walmart lists them, seller
cancels with a reason, notifications read back before they are acted on, the poll, inventory."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base import InboundKind, PermanentError
from connectors.walmart import WalmartConnector
from connectors.walmart.mapping import CancelReason
from connectors.walmart.sandbox import create_app
from orderloop.model import Order, Shipment, ShipmentLine
from tests.connectors.contract.sandbox_session import open_sandbox
from tests.connectors.walmart.conftest import ORDER, RECEIVED_AT, TENANT, Walmart, make_channel
from tests.connectors.webhook_receiver import ReceivedWebhook


async def order_of(walmart: Walmart, po: str) -> Order:
    raw = await walmart.connector.client.order(po)
    return walmart.connector.map_order(raw, order_id=f"order/walmart/{po}", tenant_id=TENANT, received_at=RECEIVED_AT)


def parcel(
    order: Order, shipment_id: str, lines: list[tuple[str, int]], carrier: str = "UPS", **extra: Any
) -> Shipment:
    return Shipment(
        id=shipment_id,
        shipping_request_id=f"{order.id}/sr1",
        line_items=[ShipmentLine(sku=order.line(n).sku, quantity=q, line_id=n) for n, q in lines],
        tracking_numbers=[f"1Z{shipment_id}"],
        shipping_carrier=carrier,
        shipped_at=datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC),
        **extra,
    )


def sub_event(webhook: ReceivedWebhook) -> str:
    return str(json.loads(webhook.body)["payload"]["meta"]["subEventType"])


def line_states(po: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    return {
        line["lineNumber"]: [
            (s["status"], s["statusQuantity"]["amount"]) for s in line["orderLineStatuses"]["orderLineStatus"]
        ]
        for line in po["orderLines"]["orderLine"]
    }


async def test_first_push_acknowledges_then_ships_and_a_retry_sends_nothing(walmart: Walmart) -> None:
    po = await walmart.place()
    order = await order_of(walmart, po)
    first = parcel(order, "S1", [("1", 2)])

    pushed = await walmart.connector.push_shipment(order, first)
    again = await walmart.connector.push_shipment(order, first)

    assert pushed == again == f"{po}/1ZS1"
    assert walmart.calls("POST", f"/v3/orders/{po}/acknowledge") == 1
    assert walmart.calls("POST", f"/v3/orders/{po}/shipping") == 1
    states = line_states(await walmart.connector.client.order(po))
    assert states == {"1": [("Shipped", "2")], "2": [("Acknowledged", "1")]}


async def test_a_line_shipped_in_two_parcels_is_two_ship_calls_and_never_acknowledged_twice(walmart: Walmart) -> None:
    po = await walmart.place()
    order = await order_of(walmart, po)

    await walmart.connector.push_shipment(order, parcel(order, "S1", [("1", 1)]))
    await walmart.connector.push_shipment(order, parcel(order, "S2", [("1", 1), ("2", 1)], carrier="fedex"))

    assert walmart.calls("POST", f"/v3/orders/{po}/acknowledge") == 1
    assert walmart.calls("POST", f"/v3/orders/{po}/shipping") == 2
    records = await walmart.session.control("GET", f"/_sandbox/shipments/{po}")
    assert [(r["tracking"]["carrierName"], r["lines"]) for r in records] == [
        ({"carrier": "UPS"}, {"1": 1}),
        ({"carrier": "FedEx"}, {"1": 1, "2": 1}),
    ]
    assert {r["tracking"]["methodCode"] for r in records} == {"Standard"}


async def test_a_carrier_walmart_does_not_list_goes_as_other_carrier_with_its_tracking_url(walmart: Walmart) -> None:
    po = await walmart.place()
    order = await order_of(walmart, po)
    local = parcel(order, "S1", [("1", 2)], carrier="Bob's Courier", tracking_url="https://bob.example/t/1ZS1")

    await walmart.connector.push_shipment(order, local)

    [record] = await walmart.session.control("GET", f"/_sandbox/shipments/{po}")
    assert record["tracking"]["carrierName"] == {"otherCarrier": "Bob's Courier"}
    assert record["tracking"]["trackingURL"] == "https://bob.example/t/1ZS1"


async def test_an_unlisted_carrier_without_tracking_url_is_refused_before_any_call(walmart: Walmart) -> None:
    po = await walmart.place()
    order = await order_of(walmart, po)
    mark = len(walmart.seller.recorder.requests)

    with pytest.raises(PermanentError, match='carrier "Bob\'s Courier" is not one Walmart lists'):
        await walmart.connector.push_shipment(order, parcel(order, "S1", [("1", 2)], carrier="Bob's Courier"))
    assert len(walmart.seller.recorder.requests) == mark


async def test_a_shipment_without_tracking_number_is_refused(walmart: Walmart) -> None:
    po = await walmart.place()
    order = await order_of(walmart, po)
    untracked = parcel(order, "S1", [("1", 2)]).model_copy(update={"tracking_numbers": []})

    with pytest.raises(PermanentError, match="only with a tracking number"):
        await walmart.connector.push_shipment(order, untracked)


async def test_the_sandbox_refuses_to_ship_unacknowledged_or_already_shipped_units(walmart: Walmart) -> None:
    po = await walmart.place()
    order = await order_of(walmart, po)
    body = {
        "orderShipment": {
            "orderLines": {
                "orderLine": [
                    {
                        "lineNumber": "1",
                        "orderLineStatuses": {
                            "orderLineStatus": [
                                {
                                    "status": "Shipped",
                                    "statusQuantity": {"unitOfMeasurement": "EACH", "amount": "2"},
                                    "trackingInfo": {
                                        "shipDateTime": 1795443065000,
                                        "carrierName": {"carrier": "UPS"},
                                        "methodCode": "Standard",
                                        "trackingNumber": "1ZX",
                                    },
                                }
                            ]
                        },
                    }
                ]
            }
        }
    }
    with pytest.raises(PermanentError, match="line 1 is not acknowledged"):
        await walmart.connector.client.ship_lines(po, body)
    await walmart.connector.push_shipment(order, parcel(order, "S1", [("1", 2)]))

    with pytest.raises(PermanentError, match=r"line 1: 2 units to ship, 0 open \(a shipped line cannot be updated\)"):
        await walmart.connector.client.ship_lines(po, body)


async def test_cancel_lines_cancels_what_is_open_with_the_reason_once(walmart: Walmart) -> None:
    po = await walmart.place()
    order = await order_of(walmart, po)

    await walmart.connector.cancel_lines(order, {"2": 1}, CancelReason.CUSTOMER_REQUESTED)
    again = await walmart.connector.cancel_lines(order, {"2": 1}, CancelReason.CUSTOMER_REQUESTED)

    assert again is None
    assert walmart.calls("POST", f"/v3/orders/{po}/cancel") == 1
    po_now = await walmart.connector.client.order(po)
    assert line_states(po_now)["2"] == [("Cancelled", "1")]
    [status] = po_now["orderLines"]["orderLine"][1]["orderLineStatuses"]["orderLineStatus"]
    assert status["cancellationReason"] == "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"


async def test_an_orderloop_cancel_cancels_every_open_line_with_the_stock_reason(walmart: Walmart) -> None:
    po = await walmart.place()
    order = await order_of(walmart, po)

    told = await walmart.connector.cancel_order(order, "out of stock for 3 days")
    again = await walmart.connector.cancel_order(order, "out of stock for 3 days")

    assert told and again
    assert walmart.calls("POST", f"/v3/orders/{po}/cancel") == 1
    po_now = await walmart.connector.client.order(po)
    reasons = {
        status["cancellationReason"]
        for line in po_now["orderLines"]["orderLine"]
        for status in line["orderLineStatuses"]["orderLineStatus"]
    }
    assert reasons == {"SELLER_CANCEL_OUT_OF_STOCK"}
    assert {status for states in line_states(po_now).values() for status, _ in states} == {"Cancelled"}


async def test_a_created_notification_is_confirmed_with_the_purchase_order_read_back(walmart: Walmart) -> None:
    mark = walmart.session.mark()
    po = await walmart.place()
    [webhook] = await walmart.session.webhooks_since(mark, "ORDER_UPDATES")

    event = await walmart.connector.confirm_event(walmart.connector.parse_webhook(webhook.headers, webhook.body))

    assert event.kind is InboundKind.ORDER_CREATED
    assert event.payload == await walmart.connector.client.order(po)
    assert walmart.calls("GET", f"/v3/orders/{po}") == 2


async def test_an_auto_cancel_of_every_line_is_an_order_cancel(walmart: Walmart) -> None:
    mark = walmart.session.mark()
    po = await walmart.place()
    await walmart.session.control("POST", f"/_sandbox/autocancel/{po}")
    found = await walmart.session.webhooks_since(mark, "ORDER_UPDATES", count=2)
    assert sorted(map(sub_event, found)) == ["PO_CREATED", "PO_LINE_AUTOCANCELLED"]
    [webhook] = [w for w in found if sub_event(w) == "PO_LINE_AUTOCANCELLED"]

    event = await walmart.connector.confirm_event(walmart.connector.parse_webhook(webhook.headers, webhook.body))

    assert event.kind is InboundKind.ORDER_CANCELLED
    assert event.external_order_id == po


async def test_a_created_notification_of_a_purchase_order_cancelled_since_is_a_cancel(walmart: Walmart) -> None:
    mark = walmart.session.mark()
    po = await walmart.place()
    [webhook] = await walmart.session.webhooks_since(mark, "ORDER_UPDATES")
    await walmart.session.control("POST", f"/_sandbox/fraud-cancel/{po}")

    event = await walmart.connector.confirm_event(walmart.connector.parse_webhook(webhook.headers, webhook.body))

    assert event.kind is InboundKind.ORDER_CANCELLED
    assert event.detail == "every line cancelled at Walmart"


async def test_a_created_notification_of_a_wfs_purchase_order_is_ignored(walmart: Walmart) -> None:
    mark = walmart.session.mark()
    await walmart.place({**ORDER, "shipNodeType": "WFSFulfilled"})
    [webhook] = await walmart.session.webhooks_since(mark, "ORDER_UPDATES")

    event = await walmart.connector.confirm_event(walmart.connector.parse_webhook(webhook.headers, webhook.body))

    assert event.kind is InboundKind.IGNORED
    assert event.detail is not None and "WFS" in event.detail


async def test_the_poll_finds_new_and_cancelled_purchase_orders_once_each(walmart: Walmart) -> None:
    kept, cancelled = await walmart.place(), await walmart.place()
    await walmart.session.control("POST", f"/_sandbox/autocancel/{cancelled}")

    polled = await walmart.connector.poll_orders(datetime(2000, 1, 1, tzinfo=UTC))

    assert sorted((p.external_id, p.cancelled) for p in polled) == sorted([(kept, False), (cancelled, True)])
    released = walmart.seller.recorder.matching("GET", "/v3/orders/released")
    assert "createdStartDate=2000-01-01T00%3A00%3A00.000Z" in released[0].query
    assert "shipNodeType=SellerFulfilled" in released[0].query


async def test_inventory_is_set_per_sku_at_the_ship_node_and_an_unknown_sku_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    channel = make_channel(monkeypatch, ship_node="20001")
    async with open_sandbox(channel, create_app) as session:
        connector = WalmartConnector(channel, http=session.http)

        await connector.push_inventory({"MUG-11OZ": 4, "NO-SUCH-SKU": 1, "TSHIRT-BLK-M": 0})

        levels = (await session.control("GET", "/_sandbox/inventory"))["levels"]
        assert levels["MUG-11OZ"]["20001"] == 4
        assert levels["TSHIRT-BLK-M"]["20001"] == 0
        puts = session.app.state.sandbox.recorder.matching("PUT", "/v3/inventory")
        assert [(r.query, r.status) for r in puts] == [
            ("sku=MUG-11OZ&shipNode=20001", 200),
            ("sku=NO-SUCH-SKU&shipNode=20001", 404),
            ("sku=TSHIRT-BLK-M&shipNode=20001", 200),
        ]
        assert puts[0].body == {"sku": "MUG-11OZ", "quantity": {"unit": "EACH", "amount": 4}}
        await connector.aclose()


async def test_a_demo_order_becomes_a_released_purchase_order(walmart: Walmart) -> None:
    po = await walmart.place({**ORDER, "shippingCode": "express"})

    order = await order_of(walmart, po)

    assert order.shipping_code == "Express"
    assert order.ship_by_date is not None and order.ship_by_date > order.created_at
    assert [(ln.sku, ln.quantity) for ln in order.line_items] == [("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)]
