"""The go-live operator API: GET shows the rollout seeded from the file, POST plan and expand
store the change under the acting operator (the shared token's identity here), errors as 404/400."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.gateway.conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_show_plan_expand_through_the_api(client: TestClient) -> None:
    shown = client.get("/api/channels/shopify/golive", headers=AUTH)
    assert shown.status_code == 200, shown.text
    assert shown.json()["stage"] == "full"  # the file names no skus for it
    dry = client.post("/api/channels/shopify/golive/plan", json={"top": "20%", "dryRun": True}, headers=AUTH)
    assert dry.status_code == 200, dry.text
    assert dry.json()["stored"] is False
    assert client.get("/api/channels/shopify/golive", headers=AUTH).json()["stage"] == "full"
    planned = client.post("/api/channels/shopify/golive/plan", json={"top": "20%"}, headers=AUTH)
    assert planned.status_code == 200, planned.text
    body = planned.json()
    assert body["stored"] and body["stage"] == "limited"
    assert body["skus"] == sorted(r["sku"] for r in body["tranche"])
    after = client.get("/api/channels/shopify/golive", headers=AUTH).json()
    assert after["stage"] == "limited" and after["skus"] == body["skus"]
    assert after["changes"][-1]["operator"] == "operator" and after["changes"][-1]["action"] == "plan"
    full = client.post("/api/channels/shopify/golive/expand", json={"all": True}, headers=AUTH)
    assert full.status_code == 200 and full.json()["stage"] == "full"


def test_errors(client: TestClient) -> None:
    assert client.get("/api/channels/nowhere/golive", headers=AUTH).status_code == 404
    bad = client.post("/api/channels/shopify/golive/plan", json={"top": "0%"}, headers=AUTH)
    assert bad.status_code == 400 and "bad percentage" in bad.text
    assert client.post("/api/channels/shopify/golive/expand", json={}, headers=AUTH).status_code == 400
    assert client.get("/api/channels/shopify/golive").status_code == 401


def test_a_window_beyond_ten_years_is_refused_not_a_server_error(client: TestClient) -> None:
    """Found by the generated-requests drill: a huge `windowDays` overflowed the window's
    timedelta and answered 500."""
    for action in ("plan", "expand"):
        body = {"windowDays": 1e300, "all": True} if action == "expand" else {"windowDays": 1e300}
        answer = client.post(f"/api/channels/shopify/golive/{action}", json=body, headers=AUTH)
        assert answer.status_code == 422, answer.text
        assert "windowDays" in answer.text
