"""An event the gateway ignores is answered with the connector's reason when it gives one, so the
sender and Orderloop's log say why nothing started (BigCommerce, configured in the shipped file:
a hook of a scope that needs no action; an order whose status may not ship yet says its status)."""

from __future__ import annotations

import json
import os
import time

from fastapi.testclient import TestClient

from connectors.bigcommerce import webhooks


def signed(body: bytes, msg_id: str) -> dict[str, str]:
    stamp = int(time.time())
    secret = os.environ["ORDERLOOP_BIGCOMMERCE_CLIENT_SECRET"]
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": webhooks.sign(secret, msg_id, stamp, body),
    }


def test_an_ignored_event_is_answered_with_the_connectors_reason(client: TestClient) -> None:
    body = json.dumps(
        {
            "scope": "store/order/message/created",
            "store_id": "1025646",
            "data": {"type": "order", "id": 250, "message": {"id": 7}},
            "hash": "5c1e1b0b8f3bd5dbd1c1c0f6d3e9d2a6c3e1f0a9",
            "created_at": int(time.time()),
            "producer": "stores/orderloop1",
        }
    ).encode()

    response = client.post("/webhooks/bigcommerce", content=body, headers=signed(body, "msg_gateway_ignored"))

    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "detail": "scope store/order/message/created needs no action"}
