"""The trace: JSON-ready, of the documented shape, bounded in size with 50 locations and 30
rules, and readable once rendered; the explanation is read off it."""

from __future__ import annotations

import json

from bench.bench_routing import NOW, workload
from orderloop.model import Allocation, OrderView
from orderloop.routing import RoutingContext, RoutingTrace, render, route
from orderloop.routing.trace import stored_trace_lines
from tests.routing.builders import decide, location, make_config, make_order, make_stock

BOUND_BYTES = 16_384


def test_traces_of_a_brand_sized_configuration_are_typed_and_bounded() -> None:
    config, orders, stock, load = workload(orders=400, locations=50, rules=30)
    ctx = RoutingContext(now=NOW, orders_today=load)
    sizes = []
    outcomes = set()
    for order in orders:
        decision = route(order, config, stock, ctx)
        text = json.dumps(decision.trace)
        sizes.append(len(text))
        outcomes.add(decision.outcome.value)
        RoutingTrace.model_validate(decision.trace)
        assert json.loads(text) == decision.trace
        for step in decision.trace["steps"]:
            assert len(step["skipped"]) <= step["candidates"] == 50 or step["candidates"] < 50
            assert len(step["ranking"]) <= 10 and len(step["short"]) <= 10
    assert max(sizes) < BOUND_BYTES
    assert outcomes >= {"routed", "out_of_stock"}


def test_trace_survives_the_status_query_round_trip() -> None:
    config = make_config([location("east", "07102", paused=True), location("west", "89501")], [{"name": "r"}])
    decision = decide(make_order([("A", 1)]), config, make_stock({"west": {"A": 3}}))
    allocation = decision.to_allocation()
    view = OrderView.model_validate(
        {
            "workflowId": "order/storefront/1001",
            "channelId": "storefront",
            "externalId": "1001",
            "status": "allocated",
            "receivedAt": NOW.isoformat(),
            "allocation": allocation.model_dump(mode="json"),
        }
    )
    back = OrderView.model_validate_json(view.model_dump_json())
    assert back.allocation == allocation
    assert isinstance(back.allocation, Allocation) and back.allocation.trace == decision.trace


def test_render_reads_like_an_operator_would_explain_it() -> None:
    config = make_config(
        [location("east", "07102", paused=True), location("west", "89501"), location("dallas", "75201")],
        [{"name": "r", "sort": "closest"}],
    )
    decision = decide(make_order([("A", 2)]), config, make_stock({"west": {"A": 1}, "dallas": {"A": 5}}))
    assert render(decision.trace) == [
        "outcome: routed",
        "rule: r (rule 1 for channel storefront, order type standard)",
        "destination: US 10118 (coordinates from ZIP 10118)",
        "first choice: sort closest, split never, 3 candidate(s)",
        "  skipped east: open: paused",
        "  ranking (closest): dallas 2207.7 (+1 more)",
        "  -> ships from dallas",
        "ships from dallas: line(s) 1",
    ]
    assert decision.explanation == [
        "rule 'r' matched (rule 1 for channel storefront)",
        "east skipped: open: paused",
        "dallas ships line(s) 1 (first choice: ships from dallas)",
    ]


def test_render_of_a_stock_shortfall_names_what_is_missing() -> None:
    config = make_config([location("east", "07102"), location("west", "89501")], [{"name": "r"}])
    decision = decide(make_order([("A", 2), ("B", 1)]), config, make_stock({"east": {"A": 1, "B": 1}}))
    lines = render(decision.trace)
    assert lines[:2] == [
        "outcome: out_of_stock",
        "  why: rule r: no location has stock for every line (east: A needs 2, has 1; west: A needs 2, has 0, "
        "B needs 1, has 0)",
    ]
    assert "  short at east: A needs 2, has 1" in lines


def test_stored_trace_lines_tolerate_absent_or_foreign_traces() -> None:
    assert stored_trace_lines(None) == []
    assert stored_trace_lines({}) == []
    assert stored_trace_lines({"considered": []}) == ["(routing trace in an unknown shape: considered)"]
