"""Split policies: never split, minimise the number of shipments, or place each line on its own;
a line always ships whole from one location."""

from __future__ import annotations

from typing import Any

from orderloop.routing import RoutingOutcome
from orderloop.routing.split import SPLITS
from orderloop.routing_rules import SplitPolicy
from tests.routing.builders import decide, location, make_config, make_order, make_stock, shipped

LOCATIONS = [location("a", "07102"), location("b", "89501"), location("c", "75201")]


def config(split: str, **extra: Any) -> Any:
    return make_config(LOCATIONS, [{"name": "r", "split": split, **extra}])


def test_every_split_policy_has_an_implementation() -> None:
    assert set(SPLITS) == set(SplitPolicy)


def test_never_ships_everything_from_the_first_location_that_has_it_all() -> None:
    stock = make_stock({"a": {"X": 1}, "b": {"X": 1, "Y": 1}, "c": {"X": 9, "Y": 9}})
    decision = decide(make_order([("X", 1), ("Y", 1)]), config("never"), stock)
    assert shipped(decision) == {"b": ["1", "2"]}
    assert decision.trace["steps"][0]["short"] == {"a": [["Y", 1, 0]]}


def test_never_waits_when_no_location_has_everything() -> None:
    stock = make_stock({"a": {"X": 1}, "b": {"Y": 1}})
    decision = decide(make_order([("X", 1), ("Y", 1)]), config("never"), stock)
    assert decision.outcome is RoutingOutcome.OUT_OF_STOCK
    assert decision.trace["steps"][0]["result"] == "no location has stock for every line"


def test_lines_of_the_same_sku_draw_on_the_same_units() -> None:
    stock = make_stock({"a": {"X": 3}, "b": {"X": 4}})
    decision = decide(make_order([("X", 2), ("X", 2)]), config("never"), stock)
    assert shipped(decision) == {"b": ["1", "2"]}
    assert decision.trace["steps"][0]["short"] == {"a": [["X", 4, 3]]}
    split = decide(make_order([("X", 2), ("X", 2)]), config("by_line"), make_stock({"a": {"X": 3}, "c": {"X": 2}}))
    assert shipped(split) == {"a": ["1"], "c": ["2"]}


def test_minimise_prefers_one_location_even_when_a_better_ranked_one_has_part() -> None:
    stock = make_stock({"a": {"X": 1}, "b": {"Y": 1}, "c": {"X": 1, "Y": 1}})
    decision = decide(make_order([("X", 1), ("Y", 1)]), config("minimise"), stock)
    assert shipped(decision) == {"c": ["1", "2"]}


def test_minimise_splits_over_the_fewest_locations() -> None:
    # a has one line, b two of them, c the third: b then c is two shipments; by_line takes three.
    stock = make_stock({"a": {"X": 1}, "b": {"Y": 1, "Z": 1}, "c": {"X": 1}})
    order = make_order([("X", 1), ("Y", 1), ("Z", 1)])
    decision = decide(order, config("minimise"), stock)
    assert shipped(decision) == {"b": ["2", "3"], "a": ["1"]}
    assert decision.trace["steps"][0]["result"] == "splits over b, a"
    by_line = decide(order, config("by_line"), stock)
    assert shipped(by_line) == {"a": ["1"], "b": ["2", "3"]}


def test_by_line_places_each_line_at_the_first_location_that_has_it() -> None:
    stock = make_stock({"a": {"X": 1}, "b": {"Y": 1, "X": 5}, "c": {"Z": 1}})
    decision = decide(make_order([("X", 1), ("Y", 1), ("Z", 1)]), config("by_line"), stock)
    assert shipped(decision) == {"a": ["1"], "b": ["2"], "c": ["3"]}
    assert [(a.location_id, a.fulfillment_channel_id) for a in decision.assignments] == [
        ("a", "wms"),
        ("b", "wms"),
        ("c", "wms"),
    ]


def test_a_split_that_cannot_place_a_line_places_nothing() -> None:
    stock = make_stock({"a": {"X": 1}, "b": {"Y": 1}})
    for policy in ("minimise", "by_line"):
        decision = decide(make_order([("X", 1), ("Y", 1), ("Z", 2)]), config(policy), stock)
        assert decision.outcome is RoutingOutcome.OUT_OF_STOCK and decision.placements == []
        assert decision.trace["steps"][0]["result"] == "no location has stock for line(s) 3 (Z x2)"


def test_fallback_step_may_split_when_the_first_choice_cannot() -> None:
    cfg = config("never", fallback=[{"split": "minimise"}])
    stock = make_stock({"a": {"X": 1}, "b": {"Y": 1}})
    decision = decide(make_order([("X", 1), ("Y", 1)]), cfg, stock)
    assert shipped(decision) == {"a": ["1"], "b": ["2"]}
    assert [s["step"] for s in decision.trace["steps"]] == ["first choice", "fallback 1"]
    assert decision.explanation == [
        "rule 'r' matched (rule 1 for channel storefront)",
        "first choice: no location has stock for every line",
        "a ships line(s) 1 (fallback 1: splits over a, b)",
        "b ships line(s) 2 (fallback 1: splits over a, b)",
    ]
