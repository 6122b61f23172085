"""Isolation: routing for a channel depends only on the global rules and that channel's rules.
Golden decisions for a fixed set of orders on the existing channels are kept in
`golden/decisions.json`; adding a new channel with its own rules, wherever they sit in the
file, leaves every one of them (trace included) unchanged.

Regenerate the golden file after an intended change: ORDERLOOP_UPDATE_GOLDEN=1 pytest tests/routing.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from orderloop.config import OrderloopConfig
from tests.routing.builders import LA, MIAMI, NYC, SEATTLE, ZIPS, channel, decide, location, make_config, make_order

GOLDEN = Path(__file__).resolve().parent / "golden" / "decisions.json"
SKUS = ["TEE", "MUG", "HOODIE", "POSTER", "AERO-CAN"]
LOCATIONS = [
    location("newark", ZIPS["newark"]),
    location("reno", ZIPS["reno"], daily_order_capacity=500),
    location("dallas", ZIPS["dallas"], serves=[{"country": "US"}]),
    location("chicago", ZIPS["chicago"], exclude_channels=["storefront"]),
    location("atlanta", ZIPS["atlanta"], paused=True),
]
EXISTING_RULES: list[dict[str, Any]] = [
    {"name": "hazmat-ground", "when": {"sku_tags": ["hazmat"]}, "locations": ["dallas", "reno"]},
    {"name": "wholesale", "when": {"order_types": ["wholesale"]}, "locations": ["chicago"], "split": "by_line"},
    {
        "name": "storefront-express",
        "when": {"channels": ["storefront"], "shipping_methods": ["express"]},
        "sort": ["closest"],
        "locations": ["newark", "reno", "dallas", "atlanta"],
    },
    {
        "name": "storefront-default",
        "when": {"channels": ["storefront"]},
        "locations": ["newark", "reno", "dallas"],
        "sort": ["closest", "most_stock"],
        "fallback": [{"split": "minimise"}],
    },
    {"name": "b2b-big", "when": {"channels": ["b2b"], "order_value": {"min": 1000}}, "sort": "most_stock"},
    {"name": "b2b-default", "when": {"channels": ["b2b"]}, "locations": ["chicago", "dallas"], "split": "never"},
]
NEW_CHANNEL_RULES: list[dict[str, Any]] = [
    {"name": "tiktok-vip", "when": {"channels": ["tiktok"], "tags": ["vip"]}, "sort": "closest"},
    {"name": "tiktok-everything-west", "when": {"channels": ["tiktok"]}, "locations": ["reno"], "split": "by_line"},
]


def existing() -> OrderloopConfig:
    return make_config(LOCATIONS, EXISTING_RULES, sku_tags={"hazmat": ["AERO-*"]})


def with_new_channel(position: int) -> OrderloopConfig:
    rules = [*EXISTING_RULES]
    rules[position:position] = NEW_CHANNEL_RULES
    tiktok = channel("tiktok")
    channels = [channel("storefront"), channel("b2b"), tiktok, channel("wms", "fulfillment")]
    return make_config(LOCATIONS, rules, channels=channels, sku_tags={"hazmat": ["AERO-*"]})


def orders() -> list[tuple[Any, dict[tuple[str, str], int], dict[str, int]]]:
    """A fixed set of orders on the existing channels, with the stock and load each sees."""
    rng = random.Random(20261125)
    cases = []
    for n in range(40):
        channel_id = rng.choice(["storefront", "storefront", "b2b"])
        extra: dict[str, Any] = {}
        if rng.random() < 0.25:
            extra["shippingCode"] = "express"
        if rng.random() < 0.2:
            extra["orderType"] = "wholesale"
        if rng.random() < 0.5:
            extra["totalPrice"] = rng.choice([80, 1500])
        lines = [(sku, rng.randint(1, 4)) for sku in rng.sample(SKUS, rng.randint(1, 3))]
        order = make_order(
            lines,
            channel_id=channel_id,
            postal_code=rng.choice([NYC, LA, SEATTLE, MIAMI]),
            external_id=f"g{n:02d}",
            **extra,
        )
        stock = {(sku, loc["id"]): rng.choice([0, 0, 2, 5, 30]) for sku in SKUS for loc in LOCATIONS}
        cases.append((order, stock, {"reno": rng.choice([10, 500])}))
    return cases


def decisions(config: OrderloopConfig) -> dict[str, Any]:
    out = {}
    for order, stock, load in orders():
        decision = decide(order, config, stock, orders_today=load)
        out[order.external_id] = {
            "channel": order.channel_id,
            "outcome": decision.outcome.value,
            "rule": decision.rule,
            "trace": decision.trace,
        }
    return out


def test_golden_decisions_of_the_existing_channels_hold() -> None:
    current = decisions(existing())
    if os.environ.get("ORDERLOOP_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert json.loads(json.dumps(current)) == golden
    # The fixed set exercises every existing rule and more than one outcome.
    assert {d["rule"] for d in golden.values()} >= {r["name"] for r in EXISTING_RULES}
    assert {d["outcome"] for d in golden.values()} >= {"routed", "out_of_stock"}


@pytest.mark.parametrize("position", [0, 3, len(EXISTING_RULES)], ids=["first", "middle", "last"])
def test_adding_a_channel_with_its_own_rules_changes_no_existing_decision(position: int) -> None:
    golden = json.loads(GOLDEN.read_text())
    assert json.loads(json.dumps(decisions(with_new_channel(position)))) == golden


def test_the_new_channel_routes_by_its_own_rules() -> None:
    config = with_new_channel(0)
    order = make_order([("TEE", 1)], channel_id="tiktok", external_id="t1")
    decision = decide(order, config, {("TEE", "reno"): 3, ("TEE", "newark"): 3})
    assert decision.rule == "tiktok-everything-west"
    assert [a.location_id for a in decision.assignments] == ["reno"]


# A wholesale channel with its own rule card: only from the DCs, split only where the buyer
# allows a partial shipment (the engine keeps a ship-complete order whole at every step).
WHOLESALE_CHANNEL_RULES: list[dict[str, Any]] = [
    {
        "name": "portal-dc",
        "when": {"channels": ["portal"], "order_types": ["wholesale"]},
        "locations": ["chicago", "dallas"],
        "split": "never",
        "fallback": [{"split": "minimise"}],
    },
]


def with_wholesale_channel(position: int) -> OrderloopConfig:
    rules = [*EXISTING_RULES]
    rules[position:position] = WHOLESALE_CHANNEL_RULES
    channels = [channel("storefront"), channel("b2b"), channel("portal"), channel("wms", "fulfillment")]
    return make_config(LOCATIONS, rules, channels=channels, sku_tags={"hazmat": ["AERO-*"]})


def wholesale_order(external_id: str, *, ship_complete: bool, channel_id: str = "portal") -> Any:
    terms = {"customerPoNumber": f"PO-{external_id}", "buyerAccount": "acme", "shipComplete": ship_complete}
    return make_order(
        [("TEE", 24), ("MUG", 12)],
        channel_id=channel_id,
        external_id=external_id,
        orderType="wholesale",
        wholesale=terms,
    )


# TEE only at chicago, MUG only at dallas: the order ships complete from nowhere.
SPLIT_STOCK = {("TEE", "chicago"): 100, ("MUG", "dallas"): 100, ("TEE", "newark"): 100, ("MUG", "newark"): 100}


@pytest.mark.parametrize("position", [0, 3, len(EXISTING_RULES)], ids=["first", "middle", "last"])
def test_adding_a_wholesale_channel_changes_no_existing_decision(position: int) -> None:
    golden = json.loads(GOLDEN.read_text())
    assert json.loads(json.dumps(decisions(with_wholesale_channel(position)))) == golden


def test_a_wholesale_order_routes_by_its_own_rule_only_from_the_dcs() -> None:
    config = with_wholesale_channel(0)
    stock = {**SPLIT_STOCK, ("MUG", "chicago"): 100}
    decision = decide(wholesale_order("w1", ship_complete=True), config, stock)
    assert decision.rule == "portal-dc"
    # newark has everything too, but the rule card names only the DCs.
    assert [a.location_id for a in decision.assignments] == ["chicago"]


def test_a_ship_complete_wholesale_order_is_never_split() -> None:
    decision = decide(wholesale_order("w2", ship_complete=True), with_wholesale_channel(0), SPLIT_STOCK)
    assert decision.out_of_stock
    assert [step["split"] for step in decision.trace["steps"]] == ["never", "never"]
    assert any("must ship complete" in note for note in decision.trace["notes"])


def test_a_partial_allowed_wholesale_order_may_split() -> None:
    decision = decide(wholesale_order("w3", ship_complete=False), with_wholesale_channel(0), SPLIT_STOCK)
    assert decision.routed
    assert sorted(a.location_id for a in decision.assignments) == ["chicago", "dallas"]
    assert not decision.trace["notes"]
