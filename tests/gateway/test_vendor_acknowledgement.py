"""A vendor that counts a delivery as received only on its own answer gets it: ShipHero's
webhooks are answered 200 `{"code": "200", "Status": "Success"}` once handled, while a refused
delivery keeps the gateway's error (ShipHero then retries it)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from fastapi.testclient import TestClient

from connectors.shiphero.webhooks import ACKNOWLEDGEMENT, MESSAGE_ID_HEADER, SIGNATURE_HEADER, signature
from connectors.signing import orderloop_webhook_headers


def shiphero_delivery(payload: Mapping[str, Any], secret: str | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    key = secret or os.environ["ORDERLOOP_SHIPHERO_WEBHOOK_SECRET"]
    return body, {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(key, body),
        MESSAGE_ID_HEADER: os.urandom(8).hex(),
    }


def test_a_handled_shiphero_delivery_is_acknowledged_in_shipheros_words(client: TestClient) -> None:
    body, headers = shiphero_delivery({"webhook_type": "Tote Complete", "tote_id": "T1"})

    answer = client.post("/webhooks/shiphero", content=body, headers=headers)

    assert answer.status_code == 200 and answer.json() == ACKNOWLEDGEMENT


def test_a_shiphero_inventory_update_is_applied_and_acknowledged(client: TestClient) -> None:
    payload = {
        "webhook_type": "Inventory Update",
        "inventory": [
            {
                "sku": "MUG-11OZ",
                "on_hand": 80,
                "updated_warehouse": {"warehouse_uuid": "V2FyZWhvdXNlOjEwMDE=", "on_hand": 80},
            }
        ],
    }
    body, headers = shiphero_delivery(payload)

    answer = client.post("/webhooks/shiphero", content=body, headers=headers)

    assert answer.status_code == 200 and answer.json() == ACKNOWLEDGEMENT


def test_a_badly_signed_shiphero_delivery_keeps_the_gateways_401(client: TestClient) -> None:
    body, headers = shiphero_delivery({"webhook_type": "Tote Complete"}, secret="not-the-secret")

    answer = client.post("/webhooks/shiphero", content=body, headers=headers)

    assert answer.status_code == 401 and answer.json() != ACKNOWLEDGEMENT


def test_other_channels_keep_orderloops_own_answer(client: TestClient) -> None:
    body = json.dumps({"sku": "MUG-11OZ", "items": []}).encode()
    headers = orderloop_webhook_headers(os.environ["ORDERLOOP_WMS_WEBHOOK_SECRET"], "inventory.updated", body)

    answer = client.post("/webhooks/wms", content=body, headers=headers)

    assert answer.json() != ACKNOWLEDGEMENT
