"""Orders the channel holds back, through the gateway: a held order's webhook is answered
`ignored` with the reason as before and its hold recorded once per delivery; `GET /api/holds`
lists it (per channel, per state); `GET /api/orders/{channel}/{id}` of the order never started
keeps its 404 and adds the hold. The BigCommerce connector's read-back is replaced by what the
store would answer (its own tests cover it), and the order's status query by Temporal's 404."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from connectors.base import ChannelHold, InboundEvent, InboundKind
from gateway.errors import GatewayError
from gateway.order_service import OrderService
from tests.gateway.conftest import TOKEN
from tests.gateway.test_ignored_reasons import signed

AUTH = {"Authorization": f"Bearer {TOKEN}"}
REASON = "the BigCommerce order is Incomplete (status 0): the checkout was not completed"
HOLD = ChannelHold(reason=REASON, status="Incomplete (status 0)")


def order_hook(order_id: int, hash_: str) -> bytes:
    return json.dumps(
        {
            "scope": "store/order/created",
            "store_id": "1025646",
            "data": {"type": "order", "id": order_id},
            "hash": hash_,
            "created_at": int(time.time()),
            "producer": "stores/orderloop1",
        }
    ).encode()


@pytest.fixture
def held_store(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """The store answers every order it is asked for as Incomplete; Temporal has no order."""
    connector = client.app.state.gateway.connectors["bigcommerce"]  # type: ignore[attr-defined]

    async def confirm(event: InboundEvent) -> InboundEvent:
        return replace(event, kind=InboundKind.IGNORED, detail=REASON, hold=HOLD)

    async def no_order(self: OrderService, workflow_id: str) -> None:
        raise GatewayError(404, f"no order {workflow_id}", "check the channel id and the external order id")

    monkeypatch.setattr(connector, "confirm_event", confirm)
    monkeypatch.setattr(OrderService, "status", no_order)
    return client


def test_a_held_orders_webhook_is_answered_ignored_and_its_hold_listed(held_store: TestClient) -> None:
    body = order_hook(301, "hash-301")

    first = held_store.post("/webhooks/bigcommerce", content=body, headers=signed(body, "msg_301"))
    again = held_store.post("/webhooks/bigcommerce", content=body, headers=signed(body, "msg_301_again"))
    holds = held_store.get("/api/holds", params={"channel": "bigcommerce"}, headers=AUTH)

    assert (first.status_code, first.json()) == (200, {"status": "ignored", "detail": REASON})
    # The same hook (BigCommerce's `hash`) again: a duplicate, not a second sighting.
    assert again.json()["status"] == "duplicate"
    assert holds.status_code == 200
    [hold] = holds.json()["holds"]
    assert holds.json()["count"] == 1
    assert {k: hold[k] for k in ("channel", "externalId", "state", "reason", "channelStatus", "timesSeen")} == {
        "channel": "bigcommerce",
        "externalId": "301",
        "state": "held",
        "reason": REASON,
        "channelStatus": "Incomplete (status 0)",
        "timesSeen": 1,
    }
    assert hold["releasedAt"] is None and hold["cancelledAt"] is None and hold["firstSeenAt"] == hold["lastSeenAt"]


def test_holds_are_filtered_by_channel_and_state(held_store: TestClient) -> None:
    for order in (302, 303):
        body = order_hook(order, f"hash-{order}")
        held_store.post("/webhooks/bigcommerce", content=body, headers=signed(body, f"msg_{order}"))

    other = held_store.get("/api/holds", params={"channel": "amazon"}, headers=AUTH).json()
    released = held_store.get("/api/holds", params={"status": "released"}, headers=AUTH).json()
    every = held_store.get("/api/holds", params={"status": "all", "limit": 1}, headers=AUTH).json()
    bad = held_store.get("/api/holds", params={"status": "maybe"}, headers=AUTH)
    anonymous = held_store.get("/api/holds")

    assert other == {"count": 0, "holds": []} and released == {"count": 0, "holds": []}
    assert every["count"] == 1 and every["holds"][0]["externalId"] == "303"
    assert bad.status_code == 422 and anonymous.status_code == 401


def test_an_order_not_started_answers_404_with_its_hold(held_store: TestClient) -> None:
    body = order_hook(304, "hash-304")
    held_store.post("/webhooks/bigcommerce", content=body, headers=signed(body, "msg_304"))

    held = held_store.get("/api/orders/bigcommerce/304", headers=AUTH)
    unknown = held_store.get("/api/orders/bigcommerce/305", headers=AUTH)

    assert held.status_code == 404
    assert held.json()["error"] == "no order order/bigcommerce/304"
    assert held.json()["hint"] == f"bigcommerce holds the order back (held): {REASON}"
    assert held.json()["hold"]["reason"] == REASON and held.json()["hold"]["state"] == "held"
    # Without a hold the 404 is the one it always was.
    assert (unknown.status_code, unknown.json()) == (
        404,
        {"error": "no order order/bigcommerce/305", "hint": "check the channel id and the external order id"},
    )
