"""A selling channel's requirements (carriers per ship method, the 3PL's ship method) leave out
the locations that cannot meet them, whatever filters the rule lists; an order no candidate can
meet is unroutable with the requirement named; orders of other channels route as before."""

from __future__ import annotations

from typing import Any

from orderloop.routing import RoutingOutcome
from tests.routing.builders import channel, decide, location, make_config, make_order, make_stock, shipped

STOCK = make_stock({"east": {"A": 5}, "west": {"A": 5}})
WALMART = {
    "carriers": ["UPS", "USPS", "FedEx"],
    "ship_methods": {
        "OneDay": {"carriers": ["UPS", "FedEx"], "method": "Overnight"},
        "Freight": {"carriers": ["ABF Freight System"]},
    },
    "packaging_notes": "No marketing inserts",
}


def config(east: dict[str, Any], west: dict[str, Any] | None = None, rule: dict[str, Any] | None = None) -> Any:
    return make_config(
        [location("east", "07102", **east), location("west", "89501", **(west or {}))],
        [{"name": "east-first", "locations": ["east", "west"], **(rule or {})}],
        channels=[
            channel("storefront"),
            channel("walmart", requirements=WALMART),
            channel("wms", "fulfillment"),
        ],
    )


def walmart_order(method: str | None, **extra: Any) -> Any:
    return make_order([("A", 1)], channel_id="walmart", shipping_code=method, **extra)


def test_a_location_without_the_required_carrier_is_skipped_with_the_requirement() -> None:
    decision = decide(walmart_order("OneDay"), config({"carriers": ["USPS"]}), STOCK)
    assert shipped(decision) == {"west": ["1"]}
    assert decision.trace["steps"][0]["skipped"] == {
        "east": "requirements: walmart requires carrier FedEx or UPS for method OneDay (ships with USPS)"
    }
    assert any("east skipped: requirements: walmart requires carrier FedEx or UPS" in s for s in decision.explanation)


def test_the_ship_method_is_matched_without_regard_to_case() -> None:
    decision = decide(walmart_order("oneday"), config({"carriers": ["usps"]}), STOCK)
    assert shipped(decision) == {"west": ["1"]}


def test_a_location_that_has_one_of_the_carriers_ships() -> None:
    decision = decide(walmart_order("OneDay"), config({"carriers": ["USPS", "fedex"]}), STOCK)
    assert shipped(decision) == {"east": ["1"]}
    assert decision.trace["steps"][0]["skipped"] == {}


def test_the_channels_carriers_apply_to_a_method_not_listed() -> None:
    decision = decide(walmart_order("Standard"), config({"carriers": ["DHL Ecommerce - US"]}), STOCK)
    assert shipped(decision) == {"west": ["1"]}
    assert decision.trace["steps"][0]["skipped"] == {
        "east": "requirements: walmart requires carrier FedEx, UPS or USPS (ships with DHL Ecommerce - US)"
    }
    assert shipped(decide(walmart_order("Standard"), config({"carriers": ["USPS"]}), STOCK)) == {"east": ["1"]}


def test_a_location_that_does_not_offer_the_required_ship_method_is_skipped() -> None:
    decision = decide(walmart_order("OneDay"), config({"ship_methods": ["Ground", "2-Day"]}), STOCK)
    assert shipped(decision) == {"west": ["1"]}
    assert decision.trace["steps"][0]["skipped"] == {
        "east": "requirements: walmart requires ship method Overnight for method OneDay (offers Ground, 2-Day)"
    }


def test_a_location_without_capabilities_meets_every_requirement() -> None:
    decision = decide(walmart_order("Freight"), config({}), STOCK)
    assert shipped(decision) == {"east": ["1"]}


def test_no_candidate_meeting_the_requirement_is_unroutable_naming_it() -> None:
    decision = decide(walmart_order("OneDay"), config({"carriers": ["USPS"]}, {"carriers": ["OnTrac"]}), STOCK)
    assert decision.outcome is RoutingOutcome.UNROUTABLE
    assert decision.reason == (
        "rule east-first: walmart requires carrier FedEx or UPS for method OneDay; no candidate location ships it "
        "(east: requirements: walmart requires carrier FedEx or UPS for method OneDay (ships with USPS); "
        "west: requirements: walmart requires carrier FedEx or UPS for method OneDay (ships with OnTrac))"
    )
    assert decision.trace["outcome"] == "unroutable"


def test_a_rule_that_lists_no_filters_still_applies_the_requirements() -> None:
    cfg = config({"carriers": ["USPS"]}, rule={"filters": [], "split": "minimise"})
    decision = decide(walmart_order("OneDay"), cfg, STOCK)
    assert shipped(decision) == {"west": ["1"]}
    assert decision.trace["steps"][0]["skipped"]["east"].startswith("requirements: ")


def test_an_other_filter_among_the_skips_keeps_the_general_reason() -> None:
    decision = decide(walmart_order("OneDay"), config({"carriers": ["USPS"]}, {"paused": True}), STOCK)
    assert decision.outcome is RoutingOutcome.UNROUTABLE
    assert decision.reason is not None
    assert decision.reason.startswith("rule east-first: every candidate location was filtered out (")


def test_another_channels_orders_ignore_walmarts_requirements() -> None:
    cfg = config({"carriers": ["USPS"], "ship_methods": ["Ground"]})
    decision = decide(make_order([("A", 1)], shipping_code="OneDay"), cfg, STOCK)
    assert shipped(decision) == {"east": ["1"]}
    assert decision.trace["steps"][0]["skipped"] == {}


def test_a_reroute_overrides_the_requirement_and_says_so() -> None:
    decision = decide(walmart_order("OneDay"), config({"carriers": ["USPS"]}), STOCK, force="east")
    assert shipped(decision) == {"east": ["1"]}
    assert decision.trace["notes"] == [
        "east would be skipped by the rules (requirements: walmart requires carrier FedEx or UPS for method OneDay "
        "(ships with USPS)); reroute overrides"
    ]
