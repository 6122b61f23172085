"""Realistic routing scenarios for one brand, table-driven: each row is an order, the stock at
that moment, and the decision an operator would expect."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from orderloop.config import OrderloopConfig
from orderloop.routing import RoutingOutcome, RoutingTrace
from tests.routing.builders import LA, MIAMI, NYC, ZIPS, decide, location, make_config, make_order, make_stock, shipped

BRAND_RULES: list[dict[str, Any]] = [
    {
        "name": "wholesale-dedicated",
        "description": "Wholesale orders ship from the wholesale DC only.",
        "when": {"order_types": ["wholesale"]},
        "locations": ["wholesale-dc"],
        "split": "by_line",
    },
    {
        "name": "pre-orders-whole",
        "description": "Pre-orders wait until one warehouse has everything.",
        "when": {"order_types": ["pre_order"]},
        "locations": ["newark", "reno"],
        "split": "never",
    },
    {
        "name": "storefront-primary-newark",
        "when": {"channels": ["storefront"], "tags": ["east-coast-promo"]},
        "locations": ["newark"],
        "fallback": [{"locations": ["reno", "dallas"]}],
    },
    {
        "name": "storefront-closest",
        "when": {"channels": ["storefront"]},
        "locations": ["newark", "reno", "dallas"],
        "sort": "closest",
        "split": "never",
        "fallback": [{"split": "minimise"}],
    },
    {"name": "b2b-ranked", "when": {"channels": ["b2b"]}, "locations": ["dallas", "newark"]},
]


def brand() -> OrderloopConfig:
    return make_config(
        [
            location("newark", ZIPS["newark"]),
            location("reno", ZIPS["reno"]),
            location("dallas", ZIPS["dallas"]),
            location("wholesale-dc", ZIPS["chicago"], exclude_channels=["storefront"]),
        ],
        BRAND_RULES,
    )


FULL = {"TEE": 50, "MUG": 50, "HOODIE": 50}


@dataclass
class Scenario:
    name: str
    lines: list[tuple[str, int]]
    stock: dict[str, dict[str, int]]
    outcome: RoutingOutcome
    rule: str | None
    ships: dict[str, list[str]] = field(default_factory=dict)
    order: dict[str, Any] = field(default_factory=dict)


SCENARIOS = [
    Scenario(
        "closest warehouse with stock (New York -> Newark)",
        [("TEE", 1)],
        {"newark": FULL, "reno": FULL, "dallas": FULL},
        RoutingOutcome.ROUTED,
        "storefront-closest",
        {"newark": ["1"]},
        {"postal_code": NYC},
    ),
    Scenario(
        "closest warehouse with stock (Los Angeles -> Reno)",
        [("TEE", 1), ("MUG", 2)],
        {"newark": FULL, "reno": FULL, "dallas": FULL},
        RoutingOutcome.ROUTED,
        "storefront-closest",
        {"reno": ["1", "2"]},
        {"postal_code": LA},
    ),
    Scenario(
        "closest lacks a line, the next closest has everything (Miami -> Dallas, not Newark)",
        [("TEE", 1), ("HOODIE", 1)],
        {"newark": {"TEE": 5}, "reno": FULL, "dallas": FULL},
        RoutingOutcome.ROUTED,
        "storefront-closest",
        {"dallas": ["1", "2"]},
        {"postal_code": MIAMI},
    ),
    Scenario(
        "fallback when the primary is out",
        [("TEE", 1)],
        {"newark": {"TEE": 0}, "reno": FULL, "dallas": FULL},
        RoutingOutcome.ROUTED,
        "storefront-primary-newark",
        {"reno": ["1"]},
        {"tags": ["east-coast-promo"]},
    ),
    Scenario(
        "wholesale to the dedicated location, though a retail warehouse is closer",
        [("TEE", 24), ("MUG", 12)],
        {"newark": FULL, "wholesale-dc": {"TEE": 100, "MUG": 100}},
        RoutingOutcome.ROUTED,
        "wholesale-dedicated",
        {"wholesale-dc": ["1", "2"]},
        {"channel_id": "b2b", "orderType": "wholesale"},
    ),
    Scenario(
        "wholesale never falls back to retail stock",
        [("TEE", 24)],
        {"newark": FULL, "wholesale-dc": {"TEE": 3}},
        RoutingOutcome.OUT_OF_STOCK,
        "wholesale-dedicated",
        {},
        {"channel_id": "b2b", "orderType": "wholesale"},
    ),
    Scenario(
        "pre-order held while no warehouse has it",
        [("HOODIE", 1)],
        {"newark": {"TEE": 5}, "reno": {"TEE": 5}, "dallas": {"HOODIE": 9}},
        RoutingOutcome.OUT_OF_STOCK,
        "pre-orders-whole",
        {},
        {"orderType": "pre_order"},
    ),
    Scenario(
        "pre-order routed once the stock arrives",
        [("HOODIE", 1)],
        {"newark": {"TEE": 5}, "reno": {"TEE": 5, "HOODIE": 40}, "dallas": {"HOODIE": 9}},
        RoutingOutcome.ROUTED,
        "pre-orders-whole",
        {"reno": ["1"]},
        {"orderType": "pre_order"},
    ),
    Scenario(
        "two-location split when no location has everything and splitting is allowed",
        [("TEE", 1), ("HOODIE", 1), ("MUG", 1)],
        {"newark": {"TEE": 5, "MUG": 5}, "reno": {"HOODIE": 5}, "dallas": {"MUG": 5}},
        RoutingOutcome.ROUTED,
        "storefront-closest",
        {"newark": ["1", "3"], "reno": ["2"]},
        {"postal_code": NYC},
    ),
    Scenario(
        "no split allowed for b2b: the order waits",
        [("TEE", 1), ("HOODIE", 1)],
        {"newark": {"TEE": 5}, "dallas": {"HOODIE": 5}},
        RoutingOutcome.OUT_OF_STOCK,
        "b2b-ranked",
        {},
        {"channel_id": "b2b"},
    ),
    Scenario(
        "an order from a channel without rules and no global rule for it is unroutable",
        [("TEE", 1)],
        {"newark": FULL},
        RoutingOutcome.UNROUTABLE,
        None,
        {},
        {"channel_id": "marketplace"},
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(scenario: Scenario) -> None:
    order = make_order(scenario.lines, **scenario.order)
    decision = decide(order, brand(), make_stock(scenario.stock))
    assert (decision.outcome, decision.rule, shipped(decision)) == (scenario.outcome, scenario.rule, scenario.ships)
    trace = RoutingTrace.model_validate(decision.trace)
    assert trace.outcome is scenario.outcome and trace.assignments == scenario.ships
    if scenario.outcome is not RoutingOutcome.ROUTED:
        assert decision.reason and not decision.placements


def test_split_explains_why_it_split() -> None:
    scenario = next(s for s in SCENARIOS if s.name.startswith("two-location split"))
    decision = decide(make_order(scenario.lines, **scenario.order), brand(), make_stock(scenario.stock))
    first, fallback = decision.trace["steps"]
    assert first["result"] == "no location has stock for every line"
    assert first["short"] == {
        "newark": [["HOODIE", 1, 0]],
        "dallas": [["TEE", 1, 0], ["HOODIE", 1, 0]],
        "reno": [["TEE", 1, 0], ["MUG", 1, 0]],
    }
    assert decision.explanation == [
        "rule 'storefront-closest' matched (rule 4 for channel storefront)",
        "first choice: no location has stock for every line",
        "newark ships line(s) 1, 3 (fallback 1: splits over newark, reno)",
        "reno ships line(s) 2 (fallback 1: splits over newark, reno)",
    ]
    assert fallback["result"] == "splits over newark, reno"


def test_operator_reroute_overrides_the_rules_but_not_the_stock() -> None:
    order = make_order([("TEE", 1)], channel_id="b2b", orderType="wholesale")
    stock = make_stock({"newark": FULL, "wholesale-dc": FULL})
    forced = decide(order, brand(), stock, force="newark")
    assert shipped(forced) == {"newark": ["1"]} and forced.trace["forced"] == "newark"
    assert forced.rule == "operator reroute"
    empty = decide(order, brand(), make_stock({"wholesale-dc": FULL}), force="newark")
    assert empty.outcome is RoutingOutcome.OUT_OF_STOCK
    assert empty.reason == "rule operator reroute: no location has stock for every line (newark: TEE needs 1, has 0)"


def test_operator_reroute_to_a_closed_location_is_noted() -> None:
    order = make_order([("TEE", 1)])
    decision = decide(order, brand(), make_stock({"wholesale-dc": FULL}), force="wholesale-dc")
    assert shipped(decision) == {"wholesale-dc": ["1"]}
    assert decision.trace["notes"] == [
        "wholesale-dc would be skipped by the rules (channel: closed to channel storefront); reroute overrides"
    ]
