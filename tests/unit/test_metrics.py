"""The metric helpers of orderloop/metrics.py, read back through the Prometheus text parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from orderloop import metrics


def sample(name: str, **labels: str) -> float:
    """A sample's value in the rendered text format (0 when absent)."""
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def test_vendor_call_counts_latency_by_status_and_errors_only_for_failures() -> None:
    ok = httpx.Response(200)
    bad = httpx.Response(503)
    before_ok = sample("orderloop_vendor_call_seconds_count", channel="unit-ch", status="200")
    before_err = sample("orderloop_vendor_call_errors_total", channel="unit-ch", status="503")
    metrics.vendor_call("unit-ch", ok, 0.02)
    metrics.vendor_call("unit-ch", bad, 0.5)
    metrics.vendor_call("unit-ch", None, 1.0)
    assert sample("orderloop_vendor_call_seconds_count", channel="unit-ch", status="200") == before_ok + 1
    assert sample("orderloop_vendor_call_errors_total", channel="unit-ch", status="200") == 0
    assert sample("orderloop_vendor_call_errors_total", channel="unit-ch", status="503") == before_err + 1
    assert sample("orderloop_vendor_call_errors_total", channel="unit-ch", status="error") >= 1
    # The 0.02 s call falls in the 0.025 bucket, not the 0.01 one.
    assert sample("orderloop_vendor_call_seconds_bucket", channel="unit-ch", status="200", le="0.025") >= 1
    assert sample("orderloop_vendor_call_seconds_bucket", channel="unit-ch", status="200", le="0.01") == 0


def test_exception_notices_count_raised_and_resolved_and_ignore_warnings() -> None:
    metrics.exception_notice("exception", "unit-ex", "out_of_stock")
    metrics.exception_notice("exception", "unit-ex", "out_of_stock")
    metrics.exception_notice("warning", "unit-ex", "out_of_stock")
    metrics.exception_notice("escalation", "unit-ex", "out_of_stock")
    metrics.exception_notice("resolved", "unit-ex", "out_of_stock")
    assert sample("orderloop_exceptions_raised_total", channel="unit-ex", kind="out_of_stock") == 2
    assert sample("orderloop_exceptions_resolved_total", channel="unit-ex", kind="out_of_stock") == 1


def test_order_shipped_in_full_counts_and_observes_time_to_ship() -> None:
    now = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
    metrics.order_shipped_in_full("unit-ship", now - timedelta(minutes=10), now=now)
    metrics.order_shipped_in_full("unit-ship", None, now=now)  # acceptance unknown: counted, not timed
    assert sample("orderloop_orders_completed_total", channel="unit-ship") == 2
    assert sample("orderloop_time_to_ship_seconds_count", channel="unit-ship") == 1
    assert sample("orderloop_time_to_ship_seconds_sum", channel="unit-ship") == 600
    assert sample("orderloop_time_to_ship_seconds_bucket", channel="unit-ship", le="900.0") == 1
    assert sample("orderloop_time_to_ship_seconds_bucket", channel="unit-ship", le="300.0") == 0


def test_inventory_push_latency_is_the_oldest_change_age_and_skips_full_syncs() -> None:
    now = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
    metrics.inventory_pushed("unit-inv", now - timedelta(seconds=2), now=now)
    metrics.inventory_pushed("unit-inv", None, now=now)
    assert sample("orderloop_inventory_push_latency_seconds_count", channel="unit-inv") == 1
    assert sample("orderloop_inventory_push_latency_seconds_sum", channel="unit-inv") == 2


def test_the_grafana_dashboard_charts_only_metrics_orderloop_exports() -> None:
    """Every `orderloop_*` series the shipped dashboard queries is one this module defines."""
    import json
    import re
    from pathlib import Path

    dashboard = json.loads((Path(__file__).resolve().parents[2] / "deploy/grafana/orderloop.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\b(orderloop_[a-z_]+)", expr)}
    kinds = {"_total", "_bucket", "_count", "_sum"}
    families = {m._name for m in vars(metrics).values() if hasattr(m, "_name") and hasattr(m, "labels")}
    for name in used:
        base = next((name.removesuffix(k) for k in kinds if name.endswith(k)), name)
        assert base in families, f"the dashboard queries {name}, which orderloop/metrics.py does not define"
    assert {"orderloop_orders_accepted_total", "orderloop_vendor_call_errors_total"} <= used
