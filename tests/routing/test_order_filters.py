"""Order filters: each `when:` condition matches the orders it names and says why it skips the
others; channels decide which rules an order sees at all."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orderloop.routing import OrderCondition, RoutingOutcome
from orderloop.routing.facts import OrderFacts
from orderloop.routing.rules import ORDER_FILTERS, compile_conditions, mismatch
from orderloop.routing_rules import OrderFilters
from tests.routing.builders import decide, location, make_config, make_order, make_stock

SKU_TAGS = {"hazmat": ["AERO-*", "BATT-9V"], "fragile": ["POSTER-A2"]}


def check(when: dict[str, Any], **order: Any) -> str | None:
    lines = order.pop("lines", [("TSHIRT", 1)])
    facts = OrderFacts(make_order(lines, **order))
    return mismatch(compile_conditions(OrderFilters.model_validate(when), SKU_TAGS), facts)


@pytest.mark.parametrize(
    ("when", "order", "reason"),
    [
        ({"order_types": ["wholesale"]}, {"orderType": "wholesale"}, None),
        ({"order_types": ["wholesale", "bundle"]}, {}, "order type standard is not bundle, wholesale"),
        ({"tags": ["VIP", "gift"]}, {"tags": ["vip"]}, None),
        ({"tags": ["vip"]}, {"tags": ["gift"]}, "not tagged vip"),
        ({"exclude_tags": ["fraud-review"]}, {"tags": ["Fraud-Review"]}, "tagged fraud-review"),
        ({"exclude_tags": ["fraud-review"]}, {"tags": ["vip"]}, None),
        ({"skus": ["MUG-11OZ"]}, {"lines": [("TSHIRT", 1), ("MUG-11OZ", 1)]}, None),
        ({"skus": ["POSTER-*"]}, {"lines": [("POSTER-A3", 1)]}, None),
        ({"skus": ["POSTER-*", "MUG-11OZ"]}, {"lines": [("TSHIRT", 1)]}, "no line SKU matches POSTER-*, MUG-11OZ"),
        ({"sku_tags": ["hazmat"]}, {"lines": [("AERO-CAN", 1)]}, None),
        ({"sku_tags": ["hazmat"]}, {"lines": [("BATT-9V", 1)]}, None),
        ({"sku_tags": ["hazmat", "fragile"]}, {"lines": [("BATT-AA", 1)]}, "no line SKU tagged hazmat, fragile"),
        ({"countries": ["us", "CA"]}, {}, None),
        ({"countries": ["CA"]}, {}, "destination country US is not CA"),
        ({"states": ["ny", "NJ"]}, {"state": "NY"}, None),
        ({"states": ["CA"]}, {"state": "NY"}, "destination state NY is not CA"),
        ({"postal_prefixes": ["100", "101"]}, {"postal_code": "10118-0110"}, None),
        ({"postal_prefixes": ["SW1"]}, {"postal_code": "sw1a 1aa", "country": "GB"}, None),
        ({"postal_prefixes": ["900"]}, {}, "postal code 10118 not in 900*"),
        ({"shipping_methods": ["Express", "overnight"]}, {"shippingCode": "express"}, None),
        ({"shipping_methods": ["express"]}, {"shippingCode": "ground"}, "shipping method ground is not express"),
        ({"shipping_methods": ["express"]}, {}, "shipping method (none) is not express"),
        ({"service_levels": ["2day"]}, {"shippingClass": "2DAY"}, None),
        ({"service_levels": ["2day"]}, {"shippingClass": "ground"}, "service level ground is not 2day"),
        ({"order_value": {"min": 100, "max": 500}}, {"totalPrice": 100}, None),
        ({"order_value": {"min": 100, "max": 500}}, {"totalPrice": 99.99}, "order value 99.99 below 100"),
        ({"order_value": {"min": 100, "max": 500}}, {"totalPrice": 500}, "order value 500 not below 500"),
        ({"order_value": {"min": 100}}, {"subTotalPrice": 150}, None),
        ({"order_value": {"max": 50}}, {}, "order value unknown (no prices)"),
    ],
)
def test_order_condition_matches_or_says_why_not(
    when: dict[str, Any], order: dict[str, Any], reason: str | None
) -> None:
    assert check(when, **order) == reason


def test_order_value_falls_back_to_the_sum_of_priced_lines() -> None:
    order = make_order([("A", 2), ("B", 1)])
    order.line_items[0].unit_price = Decimal("30")
    order.line_items[1].total_price = Decimal("45")
    assert OrderFacts(order).value == Decimal("105")


def test_all_conditions_of_a_rule_must_hold_and_the_first_failure_is_reported() -> None:
    when = {"order_types": ["standard"], "tags": ["vip"], "countries": ["CA"]}
    assert check(when, tags=["vip"]) == "destination country US is not CA"
    assert check(when, tags=["vip"], country="CA", postal_code="M5V 2T6") is None


def test_every_condition_of_the_schema_has_a_compiler() -> None:
    assert set(ORDER_FILTERS) == set(OrderCondition)
    assert {c.value for c in OrderCondition} == set(OrderFilters.model_fields) - {"channels"}


def test_channel_scoped_rules_are_not_seen_by_other_channels() -> None:
    config = make_config(
        [location("east", "07102"), location("west", "89501")],
        [
            {"name": "b2b-west", "when": {"channels": ["b2b"]}, "locations": ["west"]},
            {"name": "everyone-east", "locations": ["east"]},
        ],
    )
    stock = make_stock({"east": {"A": 5}, "west": {"A": 5}})
    retail = decide(make_order([("A", 1)]), config, stock)
    wholesale = decide(make_order([("A", 1)], channel_id="b2b"), config, stock)
    assert (retail.rule, wholesale.rule) == ("everyone-east", "b2b-west")
    # The storefront order never saw the b2b rule: its trace does not list it as skipped.
    assert retail.trace["rules_skipped"] == {} and retail.trace["rule_position"] == 1


def test_no_matching_rule_is_unroutable_with_each_rule_reason() -> None:
    config = make_config(
        [location("east", "07102")],
        [
            {"name": "wholesale", "when": {"order_types": ["wholesale"]}},
            {"name": "canada", "when": {"countries": ["CA"]}},
        ],
    )
    decision = decide(make_order([("A", 1)]), config, make_stock({"east": {"A": 5}}))
    assert decision.outcome is RoutingOutcome.UNROUTABLE and not decision.routed
    assert decision.trace["rules_skipped"] == {
        "wholesale": "order type standard is not wholesale",
        "canada": "destination country US is not CA",
    }
    assert decision.reason == (
        "no routing rule matches this order (channel storefront): wholesale: order type standard is not "
        "wholesale; canada: destination country US is not CA"
    )


def test_without_rules_every_location_is_tried_in_file_order() -> None:
    config = make_config([location("east", "07102"), location("west", "89501")], [])
    decision = decide(make_order([("A", 1)]), config, make_stock({"east": {"A": 0}, "west": {"A": 2}}))
    assert decision.rule == "default"
    assert [a.location_id for a in decision.assignments] == ["west"]
