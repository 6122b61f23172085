"""The gateway in-process with a real ledger and Temporal unreachable: nothing is accepted and
then lost (503 so the sender retries), and bad input gets a clear error before Temporal is
ever asked."""

from __future__ import annotations

import json
import os
import uuid

from fastapi.testclient import TestClient

from connectors.signing import ORDERLOOP_DELIVERY_HEADER, ORDERLOOP_EVENT_HEADER, orderloop_signature


def signed(body: bytes, event: str = "order.created") -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        ORDERLOOP_EVENT_HEADER: event,
        ORDERLOOP_DELIVERY_HEADER: uuid.uuid4().hex,
        "X-Orderloop-Signature": orderloop_signature(os.environ["ORDERLOOP_STOREFRONT_WEBHOOK_SECRET"], body),
    }


def order(external_id: str) -> bytes:
    return json.dumps({"externalId": external_id, "lineItems": [{"sku": "A", "quantity": 1}]}).encode()


def test_temporal_unreachable_answers_503_and_accepts_nothing(client: TestClient) -> None:
    body = order("down-1")
    headers = signed(body)
    response = client.post("/webhooks/storefront", content=body, headers=headers)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "retry" in response.json()["hint"]
    ledger = client.app.state.gateway.ledger  # type: ignore[attr-defined]
    assert client.portal.call(ledger.accepted_order, "storefront", "down-1") is None  # type: ignore[union-attr]
    # The delivery was not recorded either, so the sender's retry is processed, not deduplicated.
    assert not client.portal.call(ledger.delivery_seen, "storefront", headers[ORDERLOOP_DELIVERY_HEADER])  # type: ignore[union-attr]


def test_readiness_reports_temporal_down(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["ledger"] == "ok" and "unreachable" in ready.json()["temporal"]


def test_oversized_body_is_413(client: TestClient) -> None:
    body = json.dumps({"externalId": "big", "pad": "x" * 20_000}).encode()
    response = client.post("/webhooks/storefront", content=body, headers=signed(body))
    assert response.status_code == 413 and "exceeds" in response.json()["error"]


def test_wrong_content_type_is_415(client: TestClient) -> None:
    body = order("ct")
    response = client.post("/webhooks/storefront", content=body, headers=signed(body) | {"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_invalid_utf8_and_bad_signatures_are_explained(client: TestClient) -> None:
    garbage = b"\xff\xfe{not json"
    response = client.post("/webhooks/storefront", content=garbage, headers=signed(garbage))
    assert response.status_code == 400 and response.json()["error"]
    response = client.post("/webhooks/storefront", content=order("x"), headers=signed(b"other body"))
    assert response.status_code == 401 and "secret" in response.json()["hint"]


def test_unknown_channel_and_unknown_event(client: TestClient) -> None:
    body = order("y")
    assert client.post("/webhooks/mars", content=body, headers=signed(body)).status_code == 404
    response = client.post("/webhooks/storefront", content=body, headers=signed(body, event="order.teleported"))
    assert response.status_code == 400


def test_openapi_is_served_and_lists_the_operator_actions(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert "/webhooks/{channel_id}" in paths
    for action in ("retry", "reroute", "cancel", "amend-address", "mark-shipped"):
        assert f"/api/orders/{{channel_id}}/{{external_id}}/{action}" in paths
    assert client.get("/docs").status_code == 200
