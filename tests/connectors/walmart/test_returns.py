"""Walmart's returns role: a return order shaped like the Returns API reference's example mapped to
the canonical return against the purchase order's lines (onX-valid), what cannot be mapped
refused with the reason, the RETURN_CREATED notification parsed, the refund planned from a
receipt; and against the sandbox a customer's return read back, polled over pages, refunded once
however often it is reported received, and Walmart's own refusals."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import InboundKind, MappingError, PayloadError, PermanentError, RejectedError
from connectors.walmart import returns
from connectors.walmart.webhooks import parse_webhook, signature
from orderloop.model import Order, Shipment, ShipmentLine
from orderloop.returns_model import ReceivedUnits, ReturnCondition, ReturnReceipt, ReturnRequest
from tests.connectors.walmart.conftest import CLIENT_SECRET, RECEIVED_AT, TENANT, Walmart, payload
from tests.onx.test_conformance import validate

RETURN_ID = "return/walmart/104855120365741962"
CONDITIONS = (ReturnCondition.SELLABLE, ReturnCondition.DAMAGED)


def return_order() -> dict[str, Any]:
    found: dict[str, Any] = payload("return_orders.json")["returnOrders"][0]
    return found


def mapped(raw: dict[str, Any] | None = None) -> ReturnRequest:
    return returns.map_return(
        raw or return_order(),
        return_id=RETURN_ID,
        tenant_id=TENANT,
        channel_id="walmart",
        order_id="order/walmart/1796277083001",
        received_at=RECEIVED_AT,
    )


def receipt(*lines: tuple[str, int, ReturnCondition], return_id: str = RETURN_ID) -> ReturnReceipt:
    return ReturnReceipt(
        return_id=return_id, lines=[ReceivedUnits(sku=s, quantity=q, condition=c) for s, q, c in lines]
    )


def test_a_return_order_maps_each_line_to_its_purchase_order_line_and_is_onx_valid() -> None:
    request = mapped()

    assert request.external_id == "104855120365741962" and request.external_order_id == "1796277083001"
    assert [(ln.id, ln.order_line_item_id, ln.sku, ln.quantity_returned, ln.return_reason, ln.unit_price)
            for ln in request.return_line_items] == [
        ("1", "1", "TSHIRT-BLK-M", 2, "wrong_size/poor_fit", Decimal("19.0")),
        ("2", "2", "MUG-11OZ", 1, "damaged", Decimal("12.0")),
    ]  # fmt: skip
    assert request.created_at == datetime(2026, 11, 27, 9, 12, 44, tzinfo=UTC)
    assert request.updated_at == datetime(2026, 11, 28, 16, 40, 2, tzinfo=UTC)
    assert request.status == "INITIATED"
    assert [(f.name, f.value) for f in request.custom_fields] == [("customerOrderId", "200012345678901")]
    assert returns.return_order_id(return_order()) == "1796277083001"
    validate(request.to_onx(), "return")


def test_a_cancelled_return_line_is_left_out() -> None:
    raw = return_order()
    raw["returnOrderLines"][1] |= {"status": "CANCELLED", "returnCancellationReason": "CUSTOMER_CANCELLED"}

    assert [ln.sku for ln in mapped(raw).return_line_items] == ["TSHIRT-BLK-M"]


def changed(path: str, value: Any) -> dict[str, Any]:
    raw = return_order()
    *parents, last = path.split(".")
    target: Any = raw
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    target[int(last) if last.isdigit() else last] = value
    return raw


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (changed("returnOrderId", None), "returnOrderId is missing"),
        (
            changed("returnOrderLines.1.purchaseOrderId", "1796277083999"),
            "returns lines of purchase orders 1796277083001, 1796277083999",
        ),
        (changed("returnOrderLines.0.item", {"productName": "no sku"}), "returnOrderLines[0]: item.sku is missing"),
        (changed("returnOrderLines.0.quantity", {"unitOfMeasure": "EACH", "measurementValue": 0}), "positive whole"),
        (changed("returnOrderLines.0.purchaseOrderLineNumber", None), "purchaseOrderLineNumber is missing"),
        (changed("isWFSEnabled", "Y"), "WFS order"),
        (changed("returnOrderLines", []), "no returnOrderLines[].purchaseOrderId"),
    ],
)
def test_a_return_order_that_cannot_be_mapped_says_why(raw: dict[str, Any], reason: str) -> None:
    with pytest.raises(MappingError, match=re.escape(reason)):
        mapped(raw)


def delivered(document: Any) -> tuple[dict[str, str], bytes]:
    body = json.dumps(document).encode()
    return {"Authorization": signature(CLIENT_SECRET, body)}, body


def test_return_created_is_a_return_request_for_its_return_order() -> None:
    event = parse_webhook(CLIENT_SECRET, "Authorization", *delivered(payload("return_created.json")))

    assert event.kind is InboundKind.RETURN_REQUESTED
    assert event.external_return_id == "104855120365741962"
    assert event.external_order_id == "1796277083001"
    assert event.event_id == "9f0c1d52-8a7e-4b61-b2f3-5e4d6c7a8b90"
    assert event.detail is None


def test_return_created_naming_two_return_orders_says_so_and_one_without_any_is_refused() -> None:
    document = payload("return_created.json")
    document["payload"]["returnOrders"][1]["returnOrderId"] = "104855120365749999"
    event = parse_webhook(CLIENT_SECRET, "Authorization", *delivered(document))
    assert event.external_return_id == "104855120365741962"
    assert event.detail == "also names return orders 104855120365749999"

    document["payload"]["returnOrders"] = []
    with pytest.raises(PayloadError, match="returnOrderId is missing"):
        parse_webhook(CLIENT_SECRET, "Authorization", *delivered(document))


def test_the_refund_covers_received_sellable_and_damaged_units_not_refunded_yet() -> None:
    walmart_return = return_order()
    request = mapped()
    got = receipt(
        ("TSHIRT-BLK-M", 1, ReturnCondition.SELLABLE),
        ("TSHIRT-BLK-M", 1, ReturnCondition.WRONG_ITEM),
        ("MUG-11OZ", 1, ReturnCondition.DAMAGED),
    )

    assert returns.plan_refund(walmart_return, request, got, CONDITIONS) == [
        returns.RefundLine("1", 1),
        returns.RefundLine("2", 1),
    ]
    walmart_return["returnOrderLines"][1]["refundedQty"] = 1
    assert returns.plan_refund(walmart_return, request, got, CONDITIONS) == [returns.RefundLine("1", 1)]
    # More units than the line returns are never asked for.
    extra = receipt(("TSHIRT-BLK-M", 5, ReturnCondition.SELLABLE))
    assert returns.plan_refund(return_order(), request, extra, CONDITIONS) == [returns.RefundLine("1", 2)]
    body = returns.refund_body("200012345678901", [returns.RefundLine("1", 2)])
    assert body == {
        "customerOrderId": "200012345678901",
        "refundLines": [{"returnOrderLineNumber": 1, "quantity": {"unitOfMeasure": "EACH", "measurementValue": 2}}],
    }


# --- against the sandbox ----------------------------------------------------------------------


async def shipped_order(walmart: Walmart) -> Order:
    po = await walmart.place()
    raw = await walmart.connector.client.order(po)
    order = walmart.connector.map_order(raw, order_id=f"order/walmart/{po}", tenant_id=TENANT, received_at=RECEIVED_AT)
    shipment = Shipment(
        id="S1",
        shipping_request_id=f"{order.id}/sr1",
        line_items=[ShipmentLine(sku=ln.sku, quantity=ln.quantity, line_id=ln.id) for ln in order.line_items],
        tracking_numbers=["1ZS1"],
        shipping_carrier="UPS",
        shipped_at=datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC),
    )
    await walmart.connector.push_shipment(order, shipment)
    return order


async def open_return(walmart: Walmart, po: str, lines: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body = {"lines": lines} if lines is not None else {}
    opened: dict[str, Any] = await walmart.session.control("POST", f"/_sandbox/orders/{po}/returns", json=body)
    return opened


async def test_a_customers_return_is_read_back_mapped_and_refunded_once(walmart: Walmart) -> None:
    order = await shipped_order(walmart)
    mark = walmart.session.mark()
    opened = await open_return(walmart, order.external_id, [{"lineNumber": "1", "quantity": 2, "reason": "DAMAGED"}])
    [webhook] = await walmart.session.webhooks_since(mark, "RETURN_CREATED")
    parsed = walmart.connector.parse_webhook(webhook.headers, webhook.body)
    reads = walmart.calls("GET", "/v3/returns")

    event = await walmart.connector.confirm_event(parsed)

    assert walmart.calls("GET", "/v3/returns") == reads + 1
    assert event.kind is InboundKind.RETURN_REQUESTED
    assert event.external_return_id == opened["returnOrderId"] and event.external_order_id == order.external_id
    request = walmart.connector.map_return(
        event.payload, return_id="return/walmart/x", tenant_id=TENANT, order_id=order.id, received_at=RECEIVED_AT
    )
    assert [
        (ln.order_line_item_id, ln.sku, ln.quantity_returned, ln.return_reason) for ln in request.return_line_items
    ] == [("1", "TSHIRT-BLK-M", 2, "damaged")]
    got = receipt(
        ("TSHIRT-BLK-M", 1, ReturnCondition.SELLABLE),
        ("TSHIRT-BLK-M", 1, ReturnCondition.MISSING),
        return_id=request.id,
    )

    first = await walmart.connector.push_return_received(request, got)
    again = await walmart.connector.push_return_received(request, got)

    assert first == again == opened["returnOrderId"]
    assert first is not None
    assert walmart.calls("POST", f"/v3/returns/{first}/refund") == 1
    [refund] = walmart.seller.recorder.matching("POST", f"/v3/returns/{first}/refund")
    assert refund.body == {
        "customerOrderId": order.name,
        "refundLines": [{"returnOrderLineNumber": 1, "quantity": {"unitOfMeasure": "EACH", "measurementValue": 1}}],
    }
    [line] = (await walmart.connector.client.return_order(first) or {})["returnOrderLines"]
    assert (line["refundedQty"], line["status"]) == (1, "INITIATED")
    # The missing unit turns up: a later receipt refunds only it.
    found = receipt(("TSHIRT-BLK-M", 2, ReturnCondition.SELLABLE), return_id=request.id)
    await walmart.connector.push_return_received(request, found)
    [line] = (await walmart.connector.client.return_order(first) or {})["returnOrderLines"]
    assert (line["refundedQty"], line["status"]) == (2, "COMPLETED")
    assert walmart.calls("POST", f"/v3/returns/{first}/refund") == 2


async def test_the_return_poll_reads_every_page_and_sees_each_return_once(walmart: Walmart) -> None:
    await walmart.session.configure(max_page_size=2, deliver_webhooks=False)
    opened = []
    for _ in range(3):
        order = await shipped_order(walmart)
        opened.append((await open_return(walmart, order.external_id))["returnOrderId"])

    polled = await walmart.connector.poll_returns(datetime(2026, 1, 1, tzinfo=UTC))

    assert sorted(p.external_id for p in polled) == sorted(opened)
    assert all(p.external_order_id and p.payload["returnOrderId"] == p.external_id for p in polled)
    assert walmart.calls("GET", "/v3/returns") == 2
    later = await walmart.connector.poll_returns(datetime(2099, 1, 1, tzinfo=UTC))
    assert later == []


async def test_a_return_walmart_does_not_have_is_refused(walmart: Walmart) -> None:
    request = mapped()

    with pytest.raises(RejectedError, match="Walmart has no return order 104855120365741962"):
        await walmart.connector.push_return_received(request, receipt(("TSHIRT-BLK-M", 1, ReturnCondition.SELLABLE)))


async def test_the_sandbox_refuses_what_walmart_refuses_in_its_error_shape(walmart: Walmart) -> None:
    po = await walmart.place()
    unshipped = await walmart.session.http.post(f"/_sandbox/orders/{po}/returns", json={})
    assert unshipped.status_code == 400
    order = await shipped_order(walmart)
    opened = await open_return(walmart, order.external_id, [{"lineNumber": "2", "quantity": 1}])
    beyond = await walmart.session.http.post(
        f"/_sandbox/orders/{order.external_id}/returns", json={"lines": [{"lineNumber": "2", "quantity": 1}]}
    )
    assert beyond.status_code == 400
    assert "1 units to return, 0 shipped and not returned" in beyond.json()["errors"][0]["description"]
    rid = opened["returnOrderId"]
    client = walmart.connector.client

    def refund(customer: str, units: int) -> dict[str, Any]:
        line = {"returnOrderLineNumber": 1, "quantity": {"unitOfMeasure": "EACH", "measurementValue": units}}
        return {"customerOrderId": customer, "refundLines": [line]}

    with pytest.raises(PermanentError, match="customerOrderId is not the customer order") as wrong:
        await client.refund_return(rid, refund("999", 1))
    assert wrong.value.status_code == 400
    assert wrong.value.body["errors"][0]["code"] == "INVALID_REQUEST_CONTENT.GMP_RETURNS_API"
    with pytest.raises(PermanentError, match="2 units to refund, 1 returned and not refunded"):
        await client.refund_return(rid, refund(str(order.name), 2))
    with pytest.raises(PermanentError, match=re.escape("HTTP 404: CONTENT_NOT_FOUND.GMP_RETURNS_API")):
        await client.refund_return("1", refund(str(order.name), 1))
    await client.refund_return(rid, refund(str(order.name), 1))
    with pytest.raises(PermanentError, match="1 units to refund, 0 returned and not refunded"):
        await client.refund_return(rid, refund(str(order.name), 1))
    with pytest.raises(
        PermanentError, match=re.escape("HTTP 400: INVALID_REQUEST_PARAM.GMP_RETURNS_API: limit cannot be")
    ):
        await client.call("GET", "/v3/returns", "list Walmart returns", params={"limit": 201})
    assert walmart.seller.returns.find(rid).refunds == [{1: 1}]
