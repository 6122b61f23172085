"""Shopify's returns role: a `returns/request` body shaped like Shopify's webhook reference
mapped to the canonical return (line items completed from the order, onX-valid), the return
topics parsed, the dispositions planned from a receipt, the GraphQL client's error reading, and
against the sandbox a customer's return request through to "received" reported exactly once."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from connectors.base import InboundKind, MappingError, RateLimitedError, RejectedError, SignatureError
from connectors.shopify import returns
from connectors.shopify.client import ShopifyClient, ShopifySettings
from connectors.shopify.graphql import RETURN
from connectors.shopify.webhooks import parse_webhook
from orderloop.returns_model import ReceivedUnits, ReturnCondition, ReturnOutcome, ReturnProgressKind, ReturnReceipt
from tests.connectors.shopify.conftest import (
    RECEIVED_AT,
    TENANT,
    WEBHOOK_SECRET,
    Shop,
    payload,
    shipment_for,
    shopify_headers,
)
from tests.connectors.webhook_receiver import WebhookReceiver
from tests.onx.test_conformance import validate

RETURN_ID = "return/shopify/9876543210"


def mapped(raw: dict[str, Any] | None = None) -> Any:
    completed = returns.with_line_items(raw or payload("returns_request.json"), payload("order.json"))
    return returns.map_return(
        completed,
        return_id=RETURN_ID,
        tenant_id=TENANT,
        channel_id="shopify",
        order_id="order/shopify/450789469",
        received_at=RECEIVED_AT,
    )


def receipt(*lines: tuple[str, int, ReturnCondition], return_id: str = RETURN_ID) -> ReturnReceipt:
    return ReturnReceipt(
        return_id=return_id, lines=[ReceivedUnits(sku=s, quantity=q, condition=c) for s, q, c in lines]
    )


def test_a_return_request_maps_each_line_to_its_order_line_and_sku_and_is_onx_valid() -> None:
    request = mapped()
    assert request.external_id == "9876543210" and request.external_order_id == "450789469"
    assert request.return_number == "#1001-R1" and request.outcome is ReturnOutcome.REFUND
    assert [(ln.id, ln.order_line_item_id, ln.sku, ln.quantity_returned, ln.return_reason)
            for ln in request.return_line_items] == [
        ("10900000017", "466157049", "TSHIRT-BLK-M", 2, "size_too_small"),
        ("10900000018", "518995019", "MUG-11OZ", 1, "defective"),
    ]  # fmt: skip
    assert request.customer_note == "Runs small, sadly"
    assert request.quantities() == {"TSHIRT-BLK-M": 2, "MUG-11OZ": 1}
    validate(request.to_onx(), "return")


def test_the_webhook_shape_names_no_sku_so_it_needs_the_order() -> None:
    raw = payload("returns_request.json")
    assert returns.needs_line_items(raw)
    assert not returns.needs_line_items(returns.with_line_items(raw, payload("order.json")))
    with pytest.raises(MappingError, match="line item 466157049 has no SKU"):
        returns.map_return(
            raw, return_id=RETURN_ID, tenant_id=TENANT, channel_id="shopify", order_id="o", received_at=RECEIVED_AT
        )


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"id": None, "admin_graphql_api_id": None}, "not a Shopify return id"),
     ({"order": None}, "order.id is missing"),
     ({"return_line_items": []}, "return_line_items is missing or empty")],
)  # fmt: skip
def test_a_return_that_cannot_be_mapped_says_why(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(MappingError, match=reason):
        mapped(payload("returns_request.json") | change)


def test_return_topics_become_return_events() -> None:
    body = json.dumps(payload("returns_request.json")).encode()
    requested = parse_webhook(WEBHOOK_SECRET, shopify_headers(body, "returns/request"), body, channel_id="shopify")
    assert requested.kind is InboundKind.RETURN_REQUESTED
    assert (requested.external_return_id, requested.external_order_id) == ("9876543210", "450789469")
    approved = parse_webhook(WEBHOOK_SECRET, shopify_headers(body, "returns/approve"), body)
    assert approved.kind is InboundKind.RETURN_REQUESTED and approved.external_return_id == "9876543210"
    declined_body = json.dumps(
        payload("returns_request.json") | {"status": "declined", "decline": {"reason": "OTHER", "note": "worn"}}
    ).encode()
    declined = parse_webhook(WEBHOOK_SECRET, shopify_headers(declined_body, "returns/decline"), declined_body)
    assert declined.kind is InboundKind.RETURN_PROGRESS and declined.return_progress is not None
    assert declined.return_progress.kind is ReturnProgressKind.CANCELLED
    assert declined.return_progress.return_id == RETURN_ID
    assert declined.return_progress.reason == "declined in Shopify (worn)"
    cancelled = parse_webhook(WEBHOOK_SECRET, shopify_headers(body, "returns/cancel"), body)
    assert cancelled.return_progress is not None and cancelled.return_progress.reason == "cancelled in Shopify"
    closed = parse_webhook(WEBHOOK_SECRET, shopify_headers(body, "returns/close"), body)
    assert closed.kind is InboundKind.IGNORED
    with pytest.raises(SignatureError):
        parse_webhook(WEBHOOK_SECRET, shopify_headers(body, "returns/request", secret="another-secret"), body)


def rfo(*items: tuple[str, str, int, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "id": "gid://shopify/ReverseFulfillmentOrder/1",
        "lineItems": {
            "nodes": [
                {"id": item_id, "totalQuantity": total, "dispositions": done,
                 "fulfillmentLineItem": {"lineItem": {"sku": sku}}}
                for item_id, sku, total, done in items
            ]
        },
    }  # fmt: skip


def test_dispositions_follow_the_conditions_and_skip_what_is_disposed_already() -> None:
    order = [rfo(("L1", "TSHIRT-BLK-M", 2, []), ("L2", "MUG-11OZ", 1, []))]
    got = receipt(
        ("TSHIRT-BLK-M", 1, ReturnCondition.SELLABLE),
        ("TSHIRT-BLK-M", 1, ReturnCondition.DAMAGED),
        ("MUG-11OZ", 1, ReturnCondition.MISSING),
    )
    assert returns.plan_dispositions(order, got, 655441491) == [
        {"reverseFulfillmentOrderLineItemId": "L1", "quantity": 1, "dispositionType": "RESTOCKED",
         "locationId": "gid://shopify/Location/655441491"},
        {"reverseFulfillmentOrderLineItemId": "L2", "quantity": 1, "dispositionType": "MISSING"},
        {"reverseFulfillmentOrderLineItemId": "L1", "quantity": 1, "dispositionType": "NOT_RESTOCKED"},
    ]  # fmt: skip
    unrestocked = returns.plan_dispositions(order, got, 655441491, restock=False)
    assert [
        (d["dispositionType"], d["quantity"]) for d in unrestocked if d["reverseFulfillmentOrderLineItemId"] == "L1"
    ] == [("NOT_RESTOCKED", 2)]
    half_done = [rfo(("L1", "TSHIRT-BLK-M", 2, [{"quantity": 1, "type": "RESTOCKED"}]), ("L2", "MUG-11OZ", 1, []))]
    assert returns.plan_dispositions(half_done, got, 655441491) == [
        {"reverseFulfillmentOrderLineItemId": "L2", "quantity": 1, "dispositionType": "MISSING"},
        {"reverseFulfillmentOrderLineItemId": "L1", "quantity": 1, "dispositionType": "NOT_RESTOCKED"},
    ]
    with pytest.raises(MappingError, match="location"):
        returns.plan_dispositions(order, got, None)


def graphql_client(answer: dict[str, Any], status: int = 200) -> ShopifyClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(status, json=answer)))
    return ShopifyClient("http://shop.test", lambda: "token", ShopifySettings(), http)


async def test_the_graphql_client_reads_throttling_user_errors_and_nulls() -> None:
    throttled = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {"cost": {"requestedQueryCost": 50, "actualQueryCost": None,
                                "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 10,
                                                   "restoreRate": 100.0}}},
    }  # fmt: skip
    with pytest.raises(RateLimitedError, match="Throttled") as err:
        await graphql_client(throttled).graphql(RETURN, {"id": "gid://shopify/Return/1"}, "read return")
    assert err.value.retry_after == pytest.approx(0.4)
    refused = {"data": {"return": {"id": "x", "userErrors": [{"field": ["id"], "message": "Nope", "code": "INVALID"}]}}}
    with pytest.raises(RejectedError, match="id: Nope"):
        await graphql_client(refused).graphql(RETURN, {"id": "x"}, "read return")
    assert await graphql_client({"data": {"return": None}}).graphql(RETURN, {"id": "x"}, "read return") is None


def topics(receiver: WebhookReceiver, topic: str) -> list[Any]:
    return [w for w in receiver.received if w.headers.get("x-shopify-topic") == topic]


async def dispose_calls(shop: Shop) -> int:
    calls = await shop.recorded("POST", "/admin/api/2026-01/graphql.json")
    return sum(1 for c in calls if "reverseFulfillmentOrderDispose(" in json.dumps(c.get("body")))


async def test_a_customers_return_through_the_sandbox_is_reported_received_once(
    shop: Shop, receiver: WebhookReceiver
) -> None:
    placed = await shop.place()
    order = shop.map(placed)
    await shop.connector.push_shipment(order, shipment_for(order, ("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)))
    too_many = await shop.http.post(
        f"/_sandbox/orders/{placed['id']}/returns", json={"line_items": [{"sku": "MUG-11OZ", "quantity": 2}]}
    )
    assert too_many.status_code == 422 and "only 1 fulfilled unit" in too_many.text
    asked = await shop.http.post(
        f"/_sandbox/orders/{placed['id']}/returns",
        json={"line_items": [{"sku": "TSHIRT-BLK-M", "quantity": 2, "reason": "size_too_small"}]},
    )
    assert asked.status_code == 201, asked.text
    await shop.webhooks_sent()
    [delivery] = topics(receiver, "returns/request")
    event = shop.connector.parse_webhook(dict(delivery.headers), delivery.body)
    assert event.kind is InboundKind.RETURN_REQUESTED and returns.needs_line_items(event.payload)
    confirmed = await shop.connector.confirm_event(event)
    request = shop.connector.map_return(
        confirmed.payload,
        return_id=f"return/shopify/{event.external_return_id}",
        tenant_id=TENANT,
        order_id=order.id,
        received_at=RECEIVED_AT,
    )
    assert [(ln.order_line_item_id, ln.sku, ln.quantity_returned) for ln in request.return_line_items] == [
        (order.line_items[0].id, "TSHIRT-BLK-M", 2)
    ]
    got = receipt(
        ("TSHIRT-BLK-M", 1, ReturnCondition.SELLABLE),
        ("TSHIRT-BLK-M", 1, ReturnCondition.DAMAGED),
        return_id=request.id,
    )
    ref = await shop.connector.push_return_received(request, got)
    assert ref == f"gid://shopify/Return/{event.external_return_id}"
    again = await shop.connector.push_return_received(request, got)
    assert again == ref
    assert await dispose_calls(shop) == 1
    [stored] = (await shop.http.get("/_sandbox/returns")).json()
    assert stored["status"] == "open"  # approved by the push: Shopify made its reverse fulfillment order
    [[item]] = [r["lineItems"]["nodes"] for r in stored["reverse_fulfillment_orders"]]
    assert sorted((d["type"], d["quantity"]) for d in item["dispositions"]) == [("NOT_RESTOCKED", 2)]
    await shop.webhooks_sent()
    assert len(topics(receiver, "returns/approve")) == 1


async def test_restocking_in_shopify_adds_the_sellable_units_at_the_location(
    open_shop: Any, receiver: WebhookReceiver
) -> None:
    shop: Shop = await open_shop(restock_returns=True)
    placed = await shop.place()
    order = shop.map(placed)
    await shop.connector.push_shipment(order, shipment_for(order, ("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)))
    asked = await shop.http.post(
        f"/_sandbox/orders/{placed['id']}/returns", json={"line_items": [{"sku": "MUG-11OZ", "quantity": 1}]}
    )
    raw = asked.json()
    await shop.http.post(f"/_sandbox/returns/{raw['id']}/approve")
    before = shop.sandbox.inventory_by_sku()["MUG-11OZ"]
    request = mapped(returns.with_line_items(raw, placed) | {"order": {"id": placed["id"]}}).model_copy(
        update={"external_id": str(raw["id"])}
    )
    await shop.connector.push_return_received(request, receipt(("MUG-11OZ", 1, ReturnCondition.SELLABLE)))
    after = shop.sandbox.inventory_by_sku()["MUG-11OZ"]
    assert {loc: after[loc] - before[loc] for loc in after} == {"655441491": 1}
    declined = await shop.http.post(
        f"/_sandbox/orders/{placed['id']}/returns", json={"line_items": [{"sku": "TSHIRT-BLK-M", "quantity": 1}]}
    )
    await shop.http.post(f"/_sandbox/returns/{declined.json()['id']}/decline", json={"note": "worn"})
    refused = request.model_copy(update={"external_id": str(declined.json()["id"])})
    with pytest.raises(RejectedError, match="declined"):
        await shop.connector.push_return_received(refused, receipt(("TSHIRT-BLK-M", 1, ReturnCondition.SELLABLE)))
