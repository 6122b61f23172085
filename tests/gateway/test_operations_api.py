"""The operations API (gateway/operations_api.py) over a real SQLite ledger: the report's figures,
the series' buckets, the open exceptions and their Temporal UI links, as the contract in
docs/operations-report.md shapes them, computed from rows recorded the way the writers record them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from orderloop.ledger import Ledger, OperationEvent, OperationKind
from tests.gateway.conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _event(n: int, kind: OperationKind, order: str, at: datetime, **detail: object) -> OperationEvent:
    return OperationEvent(
        key=f"test/{n}",
        channel_id="shopify",
        order_id=order,
        workflow_id=f"order/shopify/{order}",
        kind=kind,
        at=at,
        detail=dict(detail),
    )


def _record(client: TestClient, now: datetime) -> None:
    """The rows of four orders received at `now` - 5 h, their exceptions 1-3 minutes later,
    resolutions up to 32 minutes later, shipments an hour and a breach two hours later."""
    t0 = now - timedelta(hours=5)
    events = [
        _event(i, OperationKind.RECEIVED, f"o{i}", t0, units=2, revenue="100.00", currency="USD") for i in range(4)
    ]
    events += [
        _event(10, OperationKind.EXCEPTION_RAISED, "o0", t0 + timedelta(minutes=1), exceptionKind="out_of_stock"),
        _event(
            11,
            OperationKind.EXCEPTION_RESOLVED,
            "o0",
            t0 + timedelta(minutes=11),
            exceptionKind="out_of_stock",
            by="rule",
            name="r1",
        ),
        _event(12, OperationKind.EXCEPTION_RAISED, "o1", t0 + timedelta(minutes=2), exceptionKind="unroutable"),
        _event(13, OperationKind.OPERATOR_ACTION, "o1", t0 + timedelta(minutes=32), action="reroute", operator="ann"),
        _event(14, OperationKind.REROUTE, "o1", t0 + timedelta(minutes=32), manual=True, operator="ann"),
        _event(
            15,
            OperationKind.EXCEPTION_RESOLVED,
            "o1",
            t0 + timedelta(minutes=32),
            exceptionKind="unroutable",
            by="operator",
            name="ann",
        ),
        _event(16, OperationKind.EXCEPTION_RAISED, "o2", t0 + timedelta(minutes=3), exceptionKind="invalid_address"),
        _event(17, OperationKind.SHIPPED, "o0", t0 + timedelta(hours=1), seconds=60.0, units=2),
        _event(18, OperationKind.SHIPPED, "o3", t0 + timedelta(hours=1), seconds=120.0, units=2),
        _event(19, OperationKind.SLA_BREACH, "o2", t0 + timedelta(hours=2)),
    ]
    ledger: Ledger = client.app.state.gateway.ledger  # type: ignore[attr-defined]
    assert client.portal is not None
    assert client.portal.call(ledger.record_operations, events) == len(events)
    assert client.portal.call(ledger.record_operations, events) == 0  # a retried writer writes nothing


def test_report_figures_match_what_was_recorded(client: TestClient) -> None:
    _record(client, datetime.now(UTC))
    answer = client.get("/api/channels/report?since=1d&channel=shopify", headers=AUTH)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["hourlyCost"] == "45.00" and body["currency"] == "USD"
    (shopify,) = body["channels"]
    assert shopify["orders"] == 4 and shopify["units"] == 8 and shopify["revenue"] == "400.00"
    assert shopify["exceptions"] == 3 and shopify["exceptionsPer100"] == 75.0
    assert shopify["exceptionsByKind"]["unroutable"] == {"count": 1, "per100": 25.0}
    assert shopify["automationRate"] == 0.5  # one by a rule, one by an operator
    assert shopify["operatorTouches"] == 1 and shopify["operatorTouchesPer100"] == 25.0
    assert shopify["operatorMinutes"] == 8.0  # orderloop.yaml's handling minutes of a reroute
    assert shopify["manualReroutes"] == 1 and shopify["automaticReroutes"] == 0
    assert shopify["timeToShipP50Seconds"] == 90.0 and shopify["timeToShipP95Seconds"] == 117.0
    assert shopify["slaBreaches"] == 1
    assert shopify["pushLatencyP99Seconds"] is None
    assert shopify["costPerOrder"] == "1.50"  # 8 min at 45.00/h = 6.00 over 4 orders
    assert shopify["costShareOfRevenue"] == 0.015
    assert shopify["raiseToResolveP50Seconds"] == 1200.0  # 10 and 30 minutes
    everyone = client.get("/api/channels/report", headers=AUTH).json()
    assert {c["channel"] for c in everyone["channels"]} >= {"shopify"}
    quiet = [c for c in everyone["channels"] if c["channel"] != "shopify"]
    assert quiet and all(c["orders"] == 0 and c["costPerOrder"] is None for c in quiet)


def _hour_start(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def test_series_has_every_bucket(client: TestClient) -> None:
    # The orders 10 minutes into an hour, so their exceptions and resolutions fall in the same
    # hourly bucket whatever the time of day the test runs at.
    _record(client, _hour_start(datetime.now(UTC)) + timedelta(minutes=10))
    answer = client.get("/api/channels/shopify/report/series?since=24h&bucket=1h", headers=AUTH)
    assert answer.status_code == 200, answer.text
    points = answer.json()["points"]
    assert len(points) in (24, 25)
    assert sum(p["orders"] for p in points) == 4 and sum(p["exceptions"] for p in points) == 3
    empty = [p for p in points if p["orders"] == 0]
    assert empty and all(p["exceptionsPer100"] is None for p in empty)
    # Both shipments fall in the hour after the orders: its time to ship, the other hours none.
    assert [p["timeToShipP50Seconds"] for p in points if p["timeToShipP50Seconds"] is not None] == [90.0]
    busy = [p for p in points if p["orders"]]
    assert busy[0]["exceptionsPer100"] == 75.0
    assert client.get("/api/channels/shopify/report/series?bucket=1w", headers=AUTH).status_code == 422


def test_series_counts_each_row_in_the_hour_it_happened(client: TestClient) -> None:
    # The orders at 58 minutes past: the first exception (1 minute later) is in their hour, the
    # other two (2 and 3 minutes later) in the next, which has no orders of its own.
    _record(client, _hour_start(datetime.now(UTC)) + timedelta(minutes=58))
    answer = client.get("/api/channels/shopify/report/series?since=24h&bucket=1h", headers=AUTH)
    assert answer.status_code == 200, answer.text
    busy = [p for p in answer.json()["points"] if p["orders"] or p["exceptions"]]
    assert [(p["orders"], p["exceptions"], p["exceptionsPer100"]) for p in busy] == [(4, 1, 25.0), (0, 2, None)]
    assert datetime.fromisoformat(busy[1]["start"]) - datetime.fromisoformat(busy[0]["start"]) == timedelta(hours=1)


def test_open_exceptions_link_to_the_temporal_ui(client: TestClient) -> None:
    _record(client, datetime.now(UTC))
    body = client.get("/api/exceptions/open?channel=shopify", headers=AUTH).json()
    (still,) = body["exceptions"]
    assert still["kind"] == "invalid_address" and still["orderId"] == "o2"
    assert still["workflowId"] == "order/shopify/o2"
    assert still["uiUrl"].endswith("/namespaces/default/workflows/order%2Fshopify%2Fo2")
    assert body["byKind"] == [{"channel": "shopify", "kind": "invalid_address", "count": 1}]


def test_errors(client: TestClient) -> None:
    assert client.get("/api/channels/report?since=soon", headers=AUTH).status_code == 422
    assert client.get("/api/channels/report?channel=nowhere", headers=AUTH).status_code == 404
    assert client.get("/api/channels/report").status_code == 401
    assert client.get("/api/channels/nowhere/golive/readiness", headers=AUTH).status_code == 404


def test_readiness_lists_each_criterion(client: TestClient) -> None:
    _record(client, datetime.now(UTC))
    answer = client.get("/api/channels/shopify/golive/readiness", headers=AUTH)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["stage"] == "full" and body["windowHours"] == 48.0
    names = {c["name"]: c for c in body["criteria"]}
    assert body["ready"] is False
    # The rollout was seeded (went live) just now: the window has not passed, and the orders
    # recorded before it are not the window's.
    assert names["monitoring_window_hours"]["passed"] is False
    assert names["orders"]["value"] == 0 and names["orders"]["passed"] is False
    assert names["oversells"] == {
        "name": "oversells",
        "value": 0,
        "threshold": 0,
        "passed": True,
        "detail": names["oversells"]["detail"],
    }
    assert set(names) >= {"orders", "pushes_in_sync", "routed_first_try", "exceptions_per_100", "sla_adherence"}
