"""Sort strategies: ranked, closest (offline ZIP coordinates, with a stated fallback), most
stock and fewest shipments; ties fall to the rule's rank."""

from __future__ import annotations

from typing import Any

import pytest

from orderloop.routing import plan_for
from orderloop.routing.facts import OrderFacts
from orderloop.routing.strategies import SORTS, ordered
from orderloop.routing_rules import SortStrategy
from tests.routing.builders import LA, MIAMI, NYC, SEATTLE, ZIPS, decide, location, make_config, make_order, make_stock

WAREHOUSES = ["newark", "reno", "dallas", "chicago", "atlanta"]


def config(sort: Any, split: str = "never", **extra: Any) -> Any:
    return make_config(
        [location(name, ZIPS[name]) for name in WAREHOUSES],
        [{"name": "r", "sort": sort, "split": split, **extra}],
    )


def everywhere(units: int = 10, **overrides: dict[str, int]) -> Any:
    return make_stock({name: overrides.get(name, {"A": units, "B": units}) for name in WAREHOUSES})


def full_ranking(config: Any, order: Any, stock: Any) -> list[list[Any]]:
    """Every candidate of the first rule's first step, best first, with its scores as the trace shows them."""
    step = plan_for(config).rules_for(order.channel_id)[0].steps[0]
    positions, columns = ordered(step.candidates, step.rank, step.sorts, OrderFacts(order), stock)
    if positions is None:
        return [[loc.id, step.rank[loc.id] + 1] for loc in step.candidates]
    return [
        [step.candidates[i].id, *(s.shown(col[i]) for s, col in zip(step.sorts, columns, strict=True))]
        for i in positions
    ]


def ranking(decision: Any) -> list[list[Any]]:
    """The ranking the decision's trace lists: the locations looked at, best first."""
    rows: list[list[Any]] = decision.trace["steps"][0]["ranking"]
    return rows


def test_every_strategy_has_an_implementation() -> None:
    assert set(SORTS) == set(SortStrategy)


def test_ranked_keeps_the_rule_order() -> None:
    cfg, order = config("ranked", locations=["chicago", "newark"]), make_order([("A", 1)])
    decision = decide(order, cfg, everywhere())
    assert [a.location_id for a in decision.assignments] == ["chicago"]
    assert ranking(decision) == [["chicago", 1]]
    assert full_ranking(cfg, order, everywhere()) == [["chicago", 1], ["newark", 2]]


@pytest.mark.parametrize(
    ("destination", "nearest"),
    [(NYC, "newark"), (LA, "reno"), (SEATTLE, "reno"), (MIAMI, "atlanta"), ("60601", "chicago"), ("75001", "dallas")],
)
def test_closest_picks_the_nearest_location_by_straight_line(destination: str, nearest: str) -> None:
    order = make_order([("A", 1)], postal_code=destination)
    decision = decide(order, config("closest"), everywhere())
    assert [a.location_id for a in decision.assignments] == [nearest]
    assert ranking(decision)[0][0] == nearest
    distances = [row[1] for row in full_ranking(config("closest"), order, everywhere())]
    assert distances == sorted(distances) and len(distances) == 5
    assert decision.trace["geo"] == f"coordinates from ZIP {destination}"


def test_closest_distance_is_reported_in_kilometres() -> None:
    rows = full_ranking(config("closest"), make_order([("A", 1)], postal_code=NYC), everywhere())
    assert rows[0][0] == "newark" and 10 < rows[0][1] < 25
    reno_km = dict((row[0], row[1]) for row in rows)["reno"]
    assert 3700 < reno_km < 3900


def test_closest_skips_to_the_next_nearest_with_stock() -> None:
    stock = everywhere(newark={"A": 0})
    decision = decide(make_order([("A", 1)], postal_code=NYC), config("closest"), stock)
    assert [a.location_id for a in decision.assignments] == ["chicago"]
    assert decision.trace["steps"][0]["short"] == {"newark": [["A", 1, 0]]}
    assert [row[0] for row in ranking(decision)] == ["newark", "chicago"]
    assert decision.trace["steps"][0]["ranking_not_listed"] == 3


def test_closest_without_coordinates_falls_back_to_postal_prefix_then_rank() -> None:
    cfg = make_config(
        [
            location("london", "EC1A 1BB", country="GB"),
            location("manchester", "M1 1AE", country="GB"),
            location("newark", ZIPS["newark"]),
        ],
        [{"name": "r", "sort": "closest"}],
    )
    stock = make_stock({name: {"A": 5} for name in ("london", "manchester", "newark")})
    order = make_order([("A", 1)], country="GB", postal_code="M4 4BF")
    decision = decide(order, cfg, stock)
    assert [a.location_id for a in decision.assignments] == ["manchester"]
    assert full_ranking(cfg, order, stock) == [
        ["manchester", "no coordinates; same country, 1 postal character(s) shared"],
        ["london", "no coordinates; same country, 0 postal character(s) shared"],
        ["newark", "no coordinates"],
    ]
    assert decision.trace["geo"].startswith("no coordinates for GB M44BF: closest ranks locations")


def test_unknown_zip_uses_its_area_centroid() -> None:
    decision = decide(make_order([("A", 1)], postal_code="10049"), config("closest"), everywhere())
    assert [a.location_id for a in decision.assignments] == ["newark"]
    assert decision.trace["geo"] == "coordinates from ZIP area 100 (centroid; 10049 not in the table)"


def test_most_stock_prefers_the_deepest_location() -> None:
    stock = everywhere(5, dallas={"A": 40, "B": 1}, reno={"A": 20, "B": 30})
    order = make_order([("A", 1), ("B", 1)])
    decision = decide(order, config("most_stock"), stock)
    assert [a.location_id for a in decision.assignments] == ["reno"]
    assert ranking(decision) == [["reno", 50]]
    assert full_ranking(config("most_stock"), order, stock)[:2] == [["reno", 50], ["dallas", 41]]


def test_fewest_shipments_prefers_the_location_covering_most_lines() -> None:
    stock = everywhere(0, chicago={"A": 1, "B": 0}, atlanta={"A": 1, "B": 1})
    decision = decide(make_order([("A", 1), ("B", 1)]), config("fewest_shipments", split="by_line"), stock)
    assert [a.location_id for a in decision.assignments] == ["atlanta"]
    assert ranking(decision)[:2] == [["atlanta", 2], ["chicago", 1]]


def test_later_strategies_break_ties_of_earlier_ones_and_rank_breaks_the_rest() -> None:
    stock = everywhere(0, chicago={"A": 3}, dallas={"A": 3}, atlanta={"A": 3})
    order = make_order([("A", 1)], postal_code=MIAMI)
    decision = decide(order, config(["most_stock", "closest"]), stock)
    assert [a.location_id for a in decision.assignments] == ["atlanta"]
    assert [row[0] for row in full_ranking(config(["most_stock", "closest"]), order, stock)] == [
        "atlanta",
        "dallas",
        "chicago",
        "newark",
        "reno",
    ]
    tied = config("most_stock", locations=["dallas", "chicago", "atlanta"])
    assert [row[0] for row in full_ranking(tied, make_order([("A", 1)]), stock)] == ["dallas", "chicago", "atlanta"]
