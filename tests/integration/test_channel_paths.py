"""Paths through the real stack that had no test: a channel's cancel webhook reaching a running
order during its hold window and after its shipping request was sent, an order for a SKU not
rolled out on its channel, and the exception notification POSTed to `notifications.webhook_url`
(payload, signature, retries while the receiver fails). The module runs a stack of its own: the
storefront holds orders 6 s and sells only two SKUs, and notifications go to a loopback
receiver that fails on demand."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from connectors.signing import (
    ORDERLOOP_DELIVERY_HEADER,
    ORDERLOOP_EVENT_HEADER,
    ORDERLOOP_SIGNATURE_HEADER,
    orderloop_signature,
)
from orderloop.ledger import Ledger
from orderloop.loopback_stack import make_stack
from orderloop.stack import Stack
from tests.connectors.webhook_receiver import WebhookReceiver
from tests.integration.stack import Api, edit_config, set_channel, started
from tests.integration.test_order_loop import base_url, order_body

pytestmark = pytest.mark.integration

HOLD = "6s"
ROLLED_OUT = ["TSHIRT-BLK-M", "MUG-11OZ"]
SECRET_VAR = "ORDERLOOP_TEST_NOTIFICATION_SECRET"
SECRET = "notification-secret-for-tests"


@dataclass
class FailingReceiver(WebhookReceiver):
    """A `WebhookReceiver` that answers 500 to the next `failures` deliveries, as a notification
    sink that is briefly down; `answered` keeps each delivery's status, in arrival order."""

    failures: int = 0
    answered: list[int] = field(default_factory=list)

    def response_head(self) -> bytes:
        if self.failures > 0:
            self.failures -= 1
            self.answered.append(500)
            return b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n"
        self.answered.append(200)
        return super().response_head()


@pytest_asyncio.fixture(scope="module")
async def receiver() -> AsyncIterator[FailingReceiver]:
    sink = FailingReceiver(path="/hooks/orderloop")
    await sink.start()
    try:
        yield sink
    finally:
        await sink.aclose()


@pytest_asyncio.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory, receiver: FailingReceiver) -> AsyncIterator[Stack]:
    os.environ[SECRET_VAR] = SECRET
    built = make_stack(tmp_path_factory.mktemp("paths"))

    def change(data: dict[str, Any]) -> None:
        data["notifications"] = {"webhook_url": receiver.url, "webhook_secret": SECRET_VAR}
        set_channel(storefront={"hold_window": HOLD, "skus": ROLLED_OUT})(data)

    edit_config(built.config_path, change)
    async with started(built) as running:
        yield running


async def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json()


async def reserved(stack: Stack, sku: str) -> int:
    ledger = await Ledger.open(stack.ledger_url)
    try:
        return sum(level.reserved for level in await ledger.stock(sku))
    finally:
        await ledger.close()


async def reservations(stack: Stack, order_id: str) -> list[tuple[str, int, int, str]]:
    ledger = await Ledger.open(stack.ledger_url)
    try:
        return [(r.sku, r.quantity, r.released, str(r.state)) for r in await ledger.reservations(order_id)]
    finally:
        await ledger.close()


async def wms_calls(http: httpx.AsyncClient, stack: Stack, path_prefix: str) -> list[dict[str, Any]]:
    return list(
        await ok(await http.get(f"{base_url(stack, 'wms')}/_sandbox/requests", params={"path_prefix": path_prefix}))
    )


def status_is(*statuses: str) -> Any:
    return lambda view: view["status"] in statuses


async def test_channel_cancel_during_the_hold_window_sends_nothing(stack: Stack, api: Api) -> None:
    external_id = f"hold-{uuid.uuid4().hex[:8]}"
    before = await reserved(stack, "TSHIRT-BLK-M")
    storefront = base_url(stack, "storefront")
    async with httpx.AsyncClient(timeout=10) as http:
        await ok(await http.post(f"{storefront}/_sandbox/orders", json=order_body(external_id, quantity=2)))
        view = await api.wait_order("storefront", external_id, status_is("in_hold_window", "cancelled"))
        assert view["status"] == "in_hold_window", view["timeline"]
        await ok(await http.post(f"{storefront}/_sandbox/orders/{external_id}/cancel", json={"reason": "customer"}))
        view = await api.wait_order("storefront", external_id, status_is("cancelled", "sent_to_fulfillment"))
        creates = await wms_calls(http, stack, "/shipping-requests")
    assert view["status"] == "cancelled"
    assert view["shippingRequests"] == [] and view["allocation"] is None
    assert [(line["ordered"], line["cancelled"], line["shipped"]) for line in view["lines"]] == [(2, 2, 0)]
    events = [entry["event"] for entry in view["timeline"]]
    assert "hold window ended" not in events and events[-1] == "cancelled"
    assert [c for c in creates if external_id in json.dumps(c["body"])] == []
    assert await reservations(stack, view["workflowId"]) == []
    assert await reserved(stack, "TSHIRT-BLK-M") == before


async def test_channel_cancel_after_send_asks_the_wms_and_releases_the_stock(stack: Stack, api: Api) -> None:
    external_id = f"sent-{uuid.uuid4().hex[:8]}"
    before = await reserved(stack, "TSHIRT-BLK-M")
    storefront, wms = base_url(stack, "storefront"), base_url(stack, "wms")
    async with httpx.AsyncClient(timeout=10) as http:
        await ok(await http.post(f"{wms}/_sandbox/config", json={"auto_ship": False}))
        try:
            await ok(await http.post(f"{storefront}/_sandbox/orders", json=order_body(external_id, quantity=3)))
            view = await api.wait_order("storefront", external_id, status_is("sent_to_fulfillment"), timeout=90)
            (request,) = view["shippingRequests"]
            workflow_id = view["workflowId"]
            assert await reserved(stack, "TSHIRT-BLK-M") == before + 3
            assert await reservations(stack, workflow_id) == [("TSHIRT-BLK-M", 3, 0, "open")]
            await ok(await http.post(f"{storefront}/_sandbox/orders/{external_id}/cancel", json={"reason": "fraud"}))
            view = await api.wait_order("storefront", external_id, status_is("cancelled", "exception"))
            cancels = [c for c in await wms_calls(http, stack, "/shipping-requests/") if c["path"].endswith("/cancel")]
            stored = await ok(await http.get(f"{wms}/_sandbox/shipping-requests"))
        finally:
            await ok(await http.post(f"{wms}/_sandbox/config", json={"auto_ship": True}))
    refs = {request["request"]["id"], request["vendorId"]}
    mine = [c for c in cancels if c["path"].split("/")[2] in refs]
    assert view["status"] == "cancelled", view["exceptions"]
    assert [(c["method"], c["status"]) for c in mine] == [("POST", 200)]
    assert [r["status"] for r in stored if r["externalId"] == request["request"]["id"]] == ["cancelled"]
    assert [s["state"] for s in view["shippingRequests"]] == ["cancelled"]
    assert [(line["ordered"], line["cancelled"], line["shipped"]) for line in view["lines"]] == [(3, 3, 0)]
    assert await reservations(stack, workflow_id) == [("TSHIRT-BLK-M", 3, 3, "released")]
    assert await reserved(stack, "TSHIRT-BLK-M") == before


async def test_sku_not_rolled_out_waits_in_unknown_sku_and_notifies_the_webhook(
    stack: Stack, api: Api, receiver: FailingReceiver
) -> None:
    """The order waits in `unknown_sku` with nothing reserved or sent; the notification reaches
    the receiver signed, on the third attempt after two 500s, the same delivery each time."""
    external_id = f"rollout-{uuid.uuid4().hex[:8]}"
    receiver.failures = 2
    first = len(receiver.received)
    async with httpx.AsyncClient(timeout=10) as http:
        storefront = base_url(stack, "storefront")
        await ok(await http.post(f"{storefront}/_sandbox/orders", json=order_body(external_id, sku="TSHIRT-WHT-M")))
        view = await api.wait_order("storefront", external_id, status_is("exception"), timeout=60)
        creates = await wms_calls(http, stack, "/shipping-requests")
    (exception,) = view["exceptions"]
    assert exception["kind"] == "unknown_sku"
    assert exception["message"] == "SKU(s) not rolled out on channel storefront: TSHIRT-WHT-M"
    assert exception["detail"] == {"skus": ["TSHIRT-WHT-M"], "reason": "not_rolled_out"}
    assert view["shippingRequests"] == [] and view["allocation"] is None
    assert [c for c in creates if external_id in json.dumps(c["body"])] == []
    assert await reservations(stack, view["workflowId"]) == []
    # Temporal retries the notify activity after 1 s, then 2 s.
    for _ in range(60):
        if len(receiver.received) - first >= 3:
            break
        await asyncio.sleep(0.25)
    await asyncio.sleep(1.5)  # nothing more comes once one was answered 200
    deliveries = receiver.received[first:]
    assert receiver.answered[first:] == [500, 500, 200]
    assert len({d.body for d in deliveries}) == 1
    payload = json.loads(deliveries[0].body)
    assert datetime.fromisoformat(payload.pop("at"))
    assert payload == {
        "workflow_id": view["workflowId"],
        "channel_id": "storefront",
        "external_id": external_id,
        "level": "exception",
        "kind": "unknown_sku",
        "message": "SKU(s) not rolled out on channel storefront: TSHIRT-WHT-M",
    }
    for delivery in deliveries:
        assert delivery.headers[ORDERLOOP_SIGNATURE_HEADER] == orderloop_signature(SECRET, delivery.body)
        assert delivery.headers[ORDERLOOP_EVENT_HEADER] == "notification.exception"
    assert len({d.headers[ORDERLOOP_DELIVERY_HEADER] for d in deliveries}) == 1
    final = (await api.order("storefront", external_id)).json()
    assert "notification failed" not in [entry["event"] for entry in final["timeline"]]
