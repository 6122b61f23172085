"""The exchange log through the operator API, in-process over a real SQLite ledger (Temporal
unreachable): a webhook delivery is logged with its answer and its order, personal data
redacted; the list filters; one exchange shows its bodies; a re-run is refused with the reason
for what cannot be re-run, and one that can goes to the order's retry (here Temporal's 503)."""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from connectors.signing import ORDERLOOP_DELIVERY_HEADER, ORDERLOOP_EVENT_HEADER, orderloop_signature
from orderloop.exchange_records import ExchangeDirection, ExchangeEntry, ExchangeOutcome
from tests.gateway.conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def webhook(client: TestClient, external_id: str, signature: str | None = None) -> int:
    body = json.dumps(
        {
            "externalId": external_id,
            "customer": {"email": "ann@example.com"},
            "shippingAddress": {"firstName": "Ann", "address1": "1 Main St", "city": "Boston"},
            "lineItems": [{"sku": "A", "quantity": 1}],
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        ORDERLOOP_EVENT_HEADER: "order.created",
        ORDERLOOP_DELIVERY_HEADER: uuid.uuid4().hex,
        "X-Orderloop-Signature": signature
        or orderloop_signature(os.environ["ORDERLOOP_STOREFRONT_WEBHOOK_SECRET"], body),
    }
    return client.post("/webhooks/storefront", content=body, headers=headers).status_code


def logged(client: TestClient, expected: int, **params: Any) -> dict[str, Any]:
    """The list once the recorder has written `expected` rows (it flushes every 250 ms)."""
    deadline = time.monotonic() + 10
    while True:
        data = client.get("/api/exchanges", params=params, headers=AUTH).json()
        if data["count"] >= expected or time.monotonic() > deadline:
            return data
        time.sleep(0.05)


def test_webhooks_are_logged_with_their_answer_order_and_redacted_body(client: TestClient) -> None:
    assert webhook(client, "ex-1") == 503  # Temporal is down: nothing accepted
    assert webhook(client, "ex-2", signature="sha256=00") == 401
    data = logged(client, 2, channel="storefront")
    assert data["totals"] == {"ok": 0, "failed": 2}
    refused, down = data["exchanges"]
    assert (refused["direction"], refused["statusCode"], refused["status"]) == ("inbound", 401, "failed")
    assert refused["orderId"] is None and "Signature does not match" in refused["error"]
    assert (down["statusCode"], down["orderId"], down["operation"]) == (503, "order/storefront/ex-1", "webhook")
    assert down["orderUiUrl"] == "http://localhost:8233/namespaces/default/workflows/order%2Fstorefront%2Fex-1"
    assert down["rerunnable"] is False

    shown = client.get(f"/api/exchanges/{down['id']}", headers=AUTH).json()
    redacted = {"firstName": "[redacted]", "address1": "[redacted]", "city": "Boston"}
    assert shown["request"]["shippingAddress"] == redacted
    assert "ann@example.com" not in json.dumps(shown)
    assert "inbound" in shown["rerunRefusal"]
    refusal = client.post(f"/api/exchanges/{down['id']}/rerun", headers=AUTH)
    assert refusal.status_code == 409 and "inbound" in refusal.json()["hint"]

    by_order = logged(client, 1, order="ex-1", channel="storefront")
    assert [row["id"] for row in by_order["exchanges"]] == [down["id"]]
    assert logged(client, 0, channel="storefront", direction="outbound")["count"] == 0


def test_a_failed_push_of_an_order_reruns_through_its_retry(client: TestClient) -> None:
    ledger = client.app.state.gateway.ledger  # type: ignore[attr-defined]
    push = ExchangeEntry(
        at=datetime.now(UTC),
        direction=ExchangeDirection.OUTBOUND,
        channel_id="shopify",
        order_id="order/shopify/77",
        operation="push_tracking",
        summary="create Shopify fulfillment",
        status_code=422,
        outcome=ExchangeOutcome.FAILED,
        error="HTTP 422: invalid tracking",
    )
    client.portal.call(ledger.record_exchanges, [push, push.model_copy(update={"outcome": ExchangeOutcome.OK})])  # type: ignore[union-attr]
    failed = logged(client, 1, channel="shopify", status="failed")["exchanges"][0]
    assert failed["rerunnable"] is True
    # The re-run asks the order's workflow to retry: Temporal is unreachable here, so 503 and
    # the row stays re-runnable.
    answer = client.post(f"/api/exchanges/{failed['id']}/rerun", headers=AUTH)
    assert answer.status_code == 503
    assert client.get(f"/api/exchanges/{failed['id']}", headers=AUTH).json()["rerunAt"] is None
    ok = logged(client, 1, channel="shopify", status="ok")["exchanges"][0]
    assert client.post(f"/api/exchanges/{ok['id']}/rerun", headers=AUTH).json()["hint"].startswith("the call did not")


def test_filters_are_validated_and_the_log_needs_a_token(client: TestClient) -> None:
    assert client.get("/api/exchanges").status_code == 401
    assert client.get("/api/exchanges", params={"since": "yesterday"}, headers=AUTH).status_code == 422
    assert client.get("/api/exchanges", params={"order": "77"}, headers=AUTH).status_code == 422
    assert client.get("/api/exchanges", params={"status": "maybe"}, headers=AUTH).status_code == 422
    # A page cursor beyond the ids' 64 bits is refused, not passed to the database (a 500 before).
    assert client.get("/api/exchanges", params={"before": 2**63}, headers=AUTH).status_code == 422
    assert client.get("/api/exchanges", params={"before": 2**63 - 1}, headers=AUTH).status_code == 200
    assert client.get("/api/exchanges/999999", headers=AUTH).status_code == 404
