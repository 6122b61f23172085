"""Multi-address orders: lines bound for different addresses are split into one part per
address before the rules run; each part is routed as an order of its own (destination-aware
rules read that part's address), drawing on the stock the parts before it left, and no location
assignment ever holds lines of two addresses."""

from __future__ import annotations

from orderloop.address_parts import address_parts
from orderloop.model import Address, Order
from orderloop.routing import RoutingOutcome, render
from tests.routing.builders import LA, NYC, decide, location, make_config, make_order, make_stock, shipped

LOCATIONS = [location("newark", "07102"), location("reno", "89501")]
CLOSEST = make_config(LOCATIONS, [{"name": "closest", "sort": "closest"}])


def two_addresses(lines: list[tuple[str, int, str]]) -> Order:
    """An order whose lines (sku, quantity, ZIP) each ship to the address of that ZIP; the ref
    is the ZIP, as a channel's address id would be."""
    order = make_order([(sku, qty) for sku, qty, _ in lines], postal_code=lines[0][2])
    items = [
        line.model_copy(
            update={
                "shipping_address": Address(address1="1 Main St", city="Town", country="US", zip_code_or_postal_code=z),
                "address_ref": z,
            }
        )
        for line, (_, _, z) in zip(order.line_items, lines, strict=True)
    ]
    return order.model_copy(update={"line_items": items, "shipping_address": items[0].shipping_address})


def test_lines_for_two_addresses_become_two_parts_each_routed_by_its_own_destination() -> None:
    stock = make_stock({"newark": {"X": 5, "Y": 5}, "reno": {"X": 5, "Y": 5}})
    order = two_addresses([("X", 1, NYC), ("Y", 1, LA)])

    decision = decide(order, CLOSEST, stock)

    assert decision.outcome is RoutingOutcome.ROUTED
    # New York's line from Newark, Los Angeles's from Reno: closest to each address.
    assert shipped(decision) == {"newark": ["1"], "reno": ["2"]}
    assert [part["destination"] for part in decision.trace["parts"]] == ["US 10118", "US 90012"]
    assert decision.trace["assignments"] == {"newark": ["1"], "reno": ["2"]}


def test_two_parts_at_the_same_location_stay_two_assignments() -> None:
    stock = make_stock({"newark": {"X": 5, "Y": 5}})
    order = two_addresses([("X", 1, NYC), ("Y", 2, LA), ("X", 1, NYC)])

    allocation = decide(order, CLOSEST, stock).to_allocation()

    assert [(a.location_id, [ln.line_id for ln in a.line_items]) for a in allocation.assignments] == [
        ("newark", ["1", "3"]),
        ("newark", ["2"]),
    ]


def test_a_later_part_draws_on_what_the_earlier_parts_left() -> None:
    # Newark has 3 X: the first address takes 2, so the second address's 2 come from Reno
    # although Newark is listed first.
    config = make_config(LOCATIONS, [{"name": "ranked"}])
    stock = make_stock({"newark": {"X": 3}, "reno": {"X": 2}})

    decision = decide(two_addresses([("X", 2, NYC), ("X", 2, LA)]), config, stock)

    assert shipped(decision) == {"newark": ["1"], "reno": ["2"]}


def test_a_part_without_stock_holds_the_order_with_that_parts_reason() -> None:
    stock = make_stock({"newark": {"X": 5}, "reno": {"X": 5}})

    decision = decide(two_addresses([("X", 1, NYC), ("Y", 1, LA)]), CLOSEST, stock)

    assert decision.outcome is RoutingOutcome.OUT_OF_STOCK
    assert decision.placements == []
    assert decision.reason is not None and decision.reason.startswith("address 90012 (line(s) 2): rule closest:")
    assert [part["outcome"] for part in decision.trace["parts"]] == ["routed", "out_of_stock"]


def test_a_reroute_forces_every_part_to_the_location_still_one_assignment_each() -> None:
    stock = make_stock({"newark": {"X": 5, "Y": 5}, "reno": {"X": 5, "Y": 5}})

    decision = decide(two_addresses([("X", 1, NYC), ("Y", 1, LA)]), CLOSEST, stock, force="reno")

    assert [(loc, [ln.id for ln in lines]) for loc, _, lines in decision.placements] == [
        ("reno", ["1"]),
        ("reno", ["2"]),
    ]
    assert decision.trace["forced"] == "reno"


def test_the_trace_of_a_multi_address_decision_renders_and_explains_each_part() -> None:
    stock = make_stock({"newark": {"X": 5, "Y": 5}, "reno": {"X": 5, "Y": 5}})
    decision = decide(two_addresses([("X", 1, NYC), ("Y", 1, LA)]), CLOSEST, stock)

    lines = render(decision.trace)
    explanation = decision.explanation

    assert "ships to 2 addresses: routed as one part per address" in lines
    assert "part 1: address 10118 (line(s) 1)" in lines and "part 2: address 90012 (line(s) 2)" in lines
    assert "  ships from reno: line(s) 2" in lines
    assert explanation[0] == "ships to 2 addresses: routed as one part per address"
    assert any(e.startswith("part 2 (address 90012): reno ships line(s) 2") for e in explanation)


def test_an_order_without_line_addresses_is_one_part_and_routes_as_before() -> None:
    stock = make_stock({"newark": {"X": 5, "Y": 5}, "reno": {"X": 5, "Y": 5}})
    order = make_order([("X", 1), ("Y", 1)], postal_code=LA)

    decision = decide(order, CLOSEST, stock)

    assert [part.line_ids for part in address_parts(order)] == [["1", "2"]]
    assert shipped(decision) == {"reno": ["1", "2"]}
    assert "parts" not in decision.trace
