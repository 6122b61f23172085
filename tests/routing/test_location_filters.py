"""Location filters: paused or in an outage, at daily capacity, closed to the channel, outside
the destination region, or refused this order; each skip is named in the trace."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from orderloop.routing import RoutingOutcome
from orderloop.routing.locations import LOCATION_FILTERS
from orderloop.routing_rules import LocationFilter
from tests.routing.builders import NOW, channel, decide, location, make_config, make_order, make_stock, shipped

STOCK = make_stock({"east": {"A": 5}, "west": {"A": 5}})


def two_locations(east: dict[str, Any], rule: dict[str, Any] | None = None, **config: Any) -> Any:
    return make_config(
        [location("east", "07102", **east), location("west", "89501")],
        [{"name": "east-first", "locations": ["east", "west"], **(rule or {})}],
        **config,
    )


def first_step(decision: Any) -> dict[str, Any]:
    step: dict[str, Any] = decision.trace["steps"][0]
    return step


def test_every_location_filter_has_an_implementation() -> None:
    assert set(LOCATION_FILTERS) == set(LocationFilter)


def test_paused_location_is_skipped() -> None:
    decision = decide(make_order([("A", 1)]), two_locations({"paused": True}), STOCK)
    assert shipped(decision) == {"west": ["1"]}
    assert first_step(decision)["skipped"] == {"east": "open: paused"}
    assert "east skipped: open: paused" in decision.explanation


@pytest.mark.parametrize(
    ("now", "open_"),
    [
        (NOW - timedelta(seconds=1), True),
        (NOW, False),
        (NOW + timedelta(hours=47), False),
        (NOW + timedelta(hours=48), True),
    ],
)
def test_outage_window_closes_a_location_from_start_until_end(now: Any, open_: bool) -> None:
    outage = {"start": NOW.isoformat(), "end": (NOW + timedelta(hours=48)).isoformat(), "reason": "stocktake"}
    decision = decide(make_order([("A", 1)]), two_locations({"outages": [outage]}), STOCK, now=now)
    assert shipped(decision) == ({"east": ["1"]} if open_ else {"west": ["1"]})
    if not open_:
        assert first_step(decision)["skipped"] == {"east": "open: outage until 2026-11-27T15:00:00+00:00 (stocktake)"}


def test_outage_without_a_time_zone_is_utc() -> None:
    outage = {"start": "2026-11-25T14:00:00", "end": "2026-11-25T16:00:00"}
    decision = decide(make_order([("A", 1)]), two_locations({"outages": [outage]}), STOCK)
    assert shipped(decision) == {"west": ["1"]}


def test_daily_capacity_skips_a_full_location() -> None:
    config = two_locations({"daily_order_capacity": 100})
    assert shipped(decide(make_order([("A", 1)]), config, STOCK, orders_today={"east": 99})) == {"east": ["1"]}
    full = decide(make_order([("A", 1)]), config, STOCK, orders_today={"east": 100})
    assert shipped(full) == {"west": ["1"]}
    assert first_step(full)["skipped"] == {"east": "capacity: daily capacity reached (100/100 orders)"}


def test_location_excluded_for_a_channel_skips_only_that_channel() -> None:
    config = two_locations({"exclude_channels": ["b2b"]})
    assert shipped(decide(make_order([("A", 1)]), config, STOCK)) == {"east": ["1"]}
    b2b = decide(make_order([("A", 1)], channel_id="b2b"), config, STOCK)
    assert shipped(b2b) == {"west": ["1"]}
    assert first_step(b2b)["skipped"] == {"east": "channel: closed to channel b2b"}


def test_channel_inventory_locations_limit_where_its_orders_ship() -> None:
    channels = [channel("storefront", inventory={"locations": ["west"]}), channel("wms", "fulfillment")]
    config = two_locations({}, channels=channels)
    decision = decide(make_order([("A", 1)]), config, STOCK)
    assert shipped(decision) == {"west": ["1"]}
    assert first_step(decision)["skipped"] == {"east": "channel: closed to channel storefront"}


@pytest.mark.parametrize(
    ("serves", "destination", "served"),
    [
        ([{"country": "US"}], {"state": "NY"}, True),
        ([{"country": "CA"}], {"state": "NY"}, False),
        ([{"country": "US", "states": ["NJ", "ny"]}], {"state": "NY"}, True),
        ([{"country": "US", "states": ["CA"]}], {"state": "NY"}, False),
        ([{"country": "US", "postal_prefixes": ["100", "101"]}], {"state": "NY"}, True),
        ([{"country": "US", "postal_prefixes": ["900"]}, {"country": "CA"}], {"state": "NY"}, False),
        (
            [{"country": "US", "postal_prefixes": ["900"]}, {"country": "CA"}],
            {"country": "CA", "postal_code": "M5V"},
            True,
        ),
    ],
)
def test_region_filter_keeps_locations_that_serve_the_destination(
    serves: list[dict[str, Any]], destination: dict[str, Any], served: bool
) -> None:
    decision = decide(make_order([("A", 1)], **destination), two_locations({"serves": serves}), STOCK)
    assert shipped(decision) == ({"east": ["1"]} if served else {"west": ["1"]})
    if not served:
        assert first_step(decision)["skipped"]["east"].startswith("region: does not serve ")


def test_a_rule_can_leave_a_filter_out() -> None:
    config = two_locations({"paused": True}, rule={"filters": ["capacity", "channel", "region"]})
    assert shipped(decide(make_order([("A", 1)]), config, STOCK)) == {"east": ["1"]}


def test_location_that_refused_the_order_is_not_tried_again() -> None:
    decision = decide(make_order([("A", 1)]), two_locations({}), STOCK, exclude=["east"])
    assert shipped(decision) == {"west": ["1"]}
    assert first_step(decision)["skipped"] == {"east": "rejected: its fulfillment channel refused this order"}


def test_every_candidate_filtered_out_is_unroutable_not_out_of_stock() -> None:
    decision = decide(make_order([("A", 1)]), two_locations({"paused": True}), STOCK, exclude=["west"])
    assert decision.outcome is RoutingOutcome.UNROUTABLE
    assert decision.reason == (
        "rule east-first: every candidate location was filtered out (east: open: paused; "
        "west: rejected: its fulfillment channel refused this order)"
    )
