"""The closed loop over loopback: storefront sandbox → gateway → Temporal → WMS sandbox →
gateway → storefront sandbox, with the real dev server, worker and gateway processes."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from typing import Any

import httpx
import pytest

from connectors.signing import ORDERLOOP_DELIVERY_HEADER, ORDERLOOP_EVENT_HEADER, orderloop_signature
from orderloop.stack import Stack
from tests.integration.stack import Api, base_url

pytestmark = pytest.mark.integration


def order_body(external_id: str, sku: str = "TSHIRT-BLK-M", quantity: int = 1) -> dict[str, Any]:
    return {
        "externalId": external_id,
        "lineItems": [{"id": "1", "sku": sku, "quantity": quantity, "unitPrice": 19.0}],
        "shippingAddress": {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "address1": "350 5th Ave",
            "city": "New York",
            "stateOrProvince": "NY",
            "zipCodeOrPostalCode": "10118",
            "country": "US",
        },
    }


def signed(
    body: bytes, event: str = "order.created", secret_var: str = "ORDERLOOP_STOREFRONT_WEBHOOK_SECRET"
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        ORDERLOOP_EVENT_HEADER: event,
        ORDERLOOP_DELIVERY_HEADER: uuid.uuid4().hex,
        "X-Orderloop-Signature": orderloop_signature(os.environ[secret_var], body),
    }


def new_id() -> str:
    return f"it-{uuid.uuid4().hex[:10]}"


def completed(view: dict[str, Any]) -> bool:
    return view["status"] == "completed"


async def test_order_flows_from_storefront_to_wms_and_tracking_comes_back(stack: Stack, api: Api) -> None:
    external_id = new_id()
    async with httpx.AsyncClient(timeout=10) as http:
        placed = await http.post(
            f"{base_url(stack, 'storefront')}/_sandbox/orders", json=order_body(external_id, quantity=2)
        )
        assert placed.status_code in (200, 201, 202), placed.text
        view = await api.wait_order("storefront", external_id, completed)
        wms_requests = (
            await http.get(
                f"{base_url(stack, 'wms')}/_sandbox/requests",
                params={"method": "POST", "path_prefix": "/shipping-requests"},
            )
        ).json()
        fulfillments = (
            await http.get(
                f"{base_url(stack, 'storefront')}/_sandbox/requests",
                params={"method": "POST", "path_prefix": f"/orders/{external_id}/fulfillments"},
            )
        ).json()
    mine = [r for r in wms_requests if r["path"] == "/shipping-requests" and external_id in json.dumps(r["body"])]
    assert len(mine) == 1
    assert view["lines"][0]["shipped"] == 2
    assert view["shipments"] and view["shipments"][0]["trackingNumbers"]
    pushed = {f["body"]["trackingNumbers"][0] for f in fulfillments if f["status"] < 300}
    assert pushed == {t for s in view["shipments"] for t in s["trackingNumbers"]}
    # Visibility is eventually consistent: the search finds the order shortly after it completes.
    for _ in range(40):
        listed = (await api.http.get("/api/orders", params={"channel": "storefront", "status": "completed"})).json()
        if any(row["workflowId"] == view["workflowId"] for row in listed["orders"]):
            break
        await asyncio.sleep(0.25)
    else:
        raise AssertionError(f"search by status never found {view['workflowId']}: {listed}")


async def test_duplicate_webhook_starts_one_order(stack: Stack, api: Api) -> None:
    external_id = new_id()
    body = json.dumps(order_body(external_id)).encode()
    url = f"{stack.gateway_url}/webhooks/storefront"
    async with httpx.AsyncClient(timeout=10) as http:
        first = await http.post(url, content=body, headers=signed(body))
        second = await http.post(url, content=body, headers=signed(body))
        await api.wait_order("storefront", external_id, completed)
        third = await http.post(url, content=body, headers=signed(body))
        wms_requests = (await http.get(f"{base_url(stack, 'wms')}/_sandbox/requests", params={"method": "POST"})).json()
    assert first.status_code == 202 and first.json()["status"] == "accepted"
    assert second.status_code == 200 and second.json()["status"] == "duplicate"
    assert third.status_code == 200 and third.json()["status"] == "duplicate"
    sent = [r for r in wms_requests if r["path"] == "/shipping-requests" and external_id in json.dumps(r["body"])]
    assert len(sent) == 1


async def test_bad_signature_is_refused_with_401(stack: Stack) -> None:
    body = json.dumps(order_body(new_id())).encode()
    headers = signed(body) | {"X-Orderloop-Signature": "sha256=" + "0" * 64}
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(f"{stack.gateway_url}/webhooks/storefront", content=body, headers=headers)
        unsigned = await http.post(
            f"{stack.gateway_url}/webhooks/storefront",
            content=body,
            headers={"Content-Type": "application/json", ORDERLOOP_EVENT_HEADER: "order.created"},
        )
    assert response.status_code == 401 and "error" in response.json()
    assert unsigned.status_code == 401


async def test_malformed_json_is_refused_with_400_and_a_reason(stack: Stack) -> None:
    body = b'{"externalId": "x", "lineItems": ['
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(f"{stack.gateway_url}/webhooks/storefront", content=body, headers=signed(body))
    assert response.status_code == 400
    assert response.json()["error"]


async def test_unknown_channel_is_404(stack: Stack) -> None:
    body = b"{}"
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(f"{stack.gateway_url}/webhooks/nowhere", content=body, headers=signed(body))
    assert response.status_code == 404
    assert "storefront" in response.json()["hint"]


async def test_unmappable_order_lands_in_invalid_order_visible_to_operators(stack: Stack, api: Api) -> None:
    external_id = new_id()
    payload = {"externalId": external_id, "lineItems": [{"sku": "TSHIRT-BLK-M", "quantity": "many"}]}
    body = json.dumps(payload).encode()
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(f"{stack.gateway_url}/webhooks/storefront", content=body, headers=signed(body))
    assert response.status_code == 202
    view = await api.wait_order("storefront", external_id, lambda v: v["status"] == "exception")
    assert view["exceptions"][-1]["kind"] == "invalid_order"
    assert view["rawPayload"] == payload
    refusal = await api.http.post(f"/api/orders/storefront/{external_id}/mark-shipped", json={})
    assert refusal.status_code == 409 and "invalid_order" in refusal.json()["error"]
    cancelled = await api.http.post(f"/api/orders/storefront/{external_id}/cancel", json={"reason": "junk"})
    assert cancelled.status_code == 200 and cancelled.json()["view"]["status"] == "cancelled"


async def test_operator_api_needs_the_bearer_token(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        missing = await http.get(f"{stack.gateway_url}/api/orders")
        wrong = await http.get(f"{stack.gateway_url}/api/orders", headers={"Authorization": "Bearer nope"})
    assert missing.status_code == 401 and wrong.status_code == 401
    assert "ORDERLOOP_API_TOKEN" in missing.json()["hint"]


async def test_operator_actions_on_unknown_or_closed_orders(stack: Stack, api: Api) -> None:
    missing = await api.order("storefront", "never-seen")
    assert missing.status_code == 404
    reroute = await api.http.post("/api/orders/storefront/never-seen/reroute", json={"locationId": "west"})
    assert reroute.status_code == 404
    unknown_action = await api.http.post("/api/orders/storefront/never-seen/teleport", json={})
    assert unknown_action.status_code == 404 and "mark-shipped" in unknown_action.json()["hint"]
    bad_body = await api.http.post("/api/orders/storefront/never-seen/reroute", json={})
    assert bad_body.status_code == 422
