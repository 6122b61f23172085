"""Inventory through the gateway: a fulfillment channel's stock webhook lands in the ledger, and
operators read one SKU and preview what a selling channel would be told."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

from fastapi.testclient import TestClient

from connectors.signing import orderloop_webhook_headers
from tests.gateway.conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def stock_webhook(client: TestClient, items: list[dict[str, Any]], delivery_id: str | None = None) -> Any:
    body = json.dumps({"items": items}).encode()
    headers = orderloop_webhook_headers(
        os.environ["ORDERLOOP_WMS_WEBHOOK_SECRET"], "inventory.updated", body, delivery_id or uuid.uuid4().hex
    )
    return client.post("/webhooks/wms", content=body, headers=headers | {"Content-Type": "application/json"})


def level(sku: str, location: str | None, on_hand: int) -> dict[str, Any]:
    return {"sku": sku, "locationId": location, "onHand": on_hand, "committed": 0, "available": on_hand}


def test_stock_webhook_sets_levels_and_the_sku_view_shows_them(client: TestClient) -> None:
    response = stock_webhook(client, [level("LAMP-1", "east", 7), level("LAMP-1", "west", 3)])
    assert response.status_code == 200, response.text
    report = response.json()["report"]
    assert {loc["locationId"]: loc["changed"] for loc in report["locations"]} == {"east": 1, "west": 1}

    view = client.get("/api/inventory/LAMP-1", headers=AUTH).json()
    assert {row["location"]: row["onHand"] for row in view["locations"]} == {"east": 7, "west": 3}
    assert view["totals"] == {"onHand": 10, "reserved": 0, "available": 10}
    [storefront] = [c for c in view["channels"] if c["channel"] == "storefront"]
    # Nothing has been pushed in this test: the channel's expected quantity, no published one.
    assert storefront["availableToSell"] == 10 and storefront["published"] is None


def test_a_later_report_replaces_the_level_and_a_redelivery_is_ignored(client: TestClient) -> None:
    delivery = uuid.uuid4().hex
    assert stock_webhook(client, [level("LAMP-2", "east", 5)], delivery).status_code == 200
    again = stock_webhook(client, [level("LAMP-2", "east", 5)], delivery)
    assert again.json()["status"] == "duplicate"
    assert stock_webhook(client, [level("LAMP-2", "east", 2)]).status_code == 200
    view = client.get("/api/inventory/LAMP-2", headers=AUTH).json()
    assert [(row["location"], row["onHand"]) for row in view["locations"]] == [("east", 2)]


def test_rows_without_a_location_are_reported_unmapped_when_the_channel_serves_several(client: TestClient) -> None:
    report = stock_webhook(client, [level("LAMP-3", None, 4)]).json()["report"]
    assert report["unmappedRows"] == 1
    assert client.get("/api/inventory/LAMP-3", headers=AUTH).status_code == 404


def test_malformed_stock_webhook_is_400_with_the_reason(client: TestClient) -> None:
    response = stock_webhook(client, [{"sku": "LAMP-4", "onHand": "many"}])
    assert response.status_code == 400
    assert "onHand must be an integer" in response.json()["error"]


def test_channel_preview_applies_the_channel_rules(client: TestClient) -> None:
    stock_webhook(client, [level("LAMP-5", "east", 9)])
    preview = client.get(
        "/api/inventory/channels/storefront/preview", params={"sku": ["LAMP-5", "NOPE"]}, headers=AUTH
    ).json()
    assert preview["channel"] == "storefront"
    assert {row["sku"]: row["wouldPublish"] for row in preview["skus"]} == {"LAMP-5": 9, "NOPE": 0}


def test_inventory_api_refusals(client: TestClient) -> None:
    assert client.get("/api/inventory/LAMP-1").status_code == 401
    unknown = client.get("/api/inventory/NEVER-SEEN", headers=AUTH)
    assert unknown.status_code == 404 and "unknown SKU" in unknown.json()["error"]
    not_selling = client.get("/api/inventory/channels/wms/preview", headers=AUTH)
    assert not_selling.status_code == 404 and "storefront" in not_selling.json()["hint"]
