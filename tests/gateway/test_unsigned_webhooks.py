"""A channel whose webhooks are unsigned hints (Logiwa, configured in the shipped file) at the
gateway: refused with 401 without the brand's token, and, when the channel's API cannot confirm
the hint (here Logiwa is unreachable), answered 503 with nothing signalled, for a retry."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi.testclient import TestClient

FIXTURES = Path(__file__).resolve().parents[1] / "connectors" / "logiwa" / "fixtures"


def token() -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Orderloop-Token": os.environ["ORDERLOOP_LOGIWA_WEBHOOK_TOKEN"]}


def test_a_logiwa_webhook_without_its_token_is_401(client: TestClient) -> None:
    body = (FIXTURES / "order_shipment_info.json").read_bytes()

    missing = client.post("/webhooks/logiwa", content=body, headers={"Content-Type": "application/json"})
    wrong = client.post("/webhooks/logiwa", content=body, headers=token() | {"X-Orderloop-Token": "guess"})

    assert missing.status_code == 401 and "X-Orderloop-Token" in missing.json()["error"]
    assert wrong.status_code == 401


def test_a_logiwa_hint_that_cannot_be_confirmed_is_503(client: TestClient) -> None:
    body = (FIXTURES / "order_shipment_info.json").read_bytes()

    response = client.post("/webhooks/logiwa", content=body, headers=token())

    assert response.status_code == 503
    assert "could not confirm the event" in response.json()["error"]


def test_a_logiwa_topic_that_needs_no_confirmation_is_answered_at_once(client: TestClient) -> None:
    body = (FIXTURES / "shipment_tracking_info.json").read_bytes()

    response = client.post("/webhooks/logiwa", content=body, headers=token())

    # Ignored events are recorded as seen in the ledger; Temporal is not needed.
    assert response.status_code == 200 and response.json()["status"] == "ignored"
