"""Determinism: the same inputs give the same decision and the same trace, whatever the order
of dicts and sets that carry no meaning, and in another process with another hash seed."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from orderloop.config import OrderloopConfig
from tests.routing.builders import NYC, ZIPS, decide, location, make_config, make_order, shipped
from tests.routing.test_isolation import EXISTING_RULES, LOCATIONS, SKUS, existing, orders

ROOT = Path(__file__).resolve().parents[2]


def snapshot(config: OrderloopConfig, shuffle: random.Random | None = None) -> list[str]:
    out = []
    for order, stock, load in orders():
        if shuffle is not None:
            stock = dict(shuffle.sample(list(stock.items()), len(stock)))
            load = dict(shuffle.sample(list(load.items()), len(load)))
            tags = list(order.tags)
            shuffle.shuffle(tags)
            order = order.model_copy(update={"tags": tags})
        decision = decide(order, config, stock, orders_today=load)
        out.append(json.dumps({"rule": decision.rule, "ships": shipped(decision), "trace": decision.trace}))
    return out


def test_same_inputs_same_decision_every_time() -> None:
    config = existing()
    first = snapshot(config)
    assert snapshot(config) == first
    # A configuration loaded again (a new object, compiled afresh) decides the same.
    assert snapshot(existing()) == first


def test_order_of_stock_load_and_tags_does_not_matter() -> None:
    config = existing()
    baseline = snapshot(config)
    for seed in range(3):
        assert snapshot(config, random.Random(seed)) == baseline


def test_order_of_locations_in_the_file_does_not_matter_when_rules_rank_them() -> None:
    ranked_rules = [
        {**rule, "locations": rule.get("locations") or [loc["id"] for loc in LOCATIONS]} for rule in EXISTING_RULES
    ]
    baseline = snapshot(make_config(LOCATIONS, ranked_rules, sku_tags={"hazmat": ["AERO-*"]}))
    rng = random.Random(7)
    for _ in range(3):
        shuffled = rng.sample(LOCATIONS, len(LOCATIONS))
        tags = dict(rng.sample([("hazmat", ["AERO-*"]), ("unused", ["NONE"])], 2))
        assert snapshot(make_config(shuffled, ranked_rules, sku_tags=tags)) == baseline


def test_ties_are_broken_by_rank_not_by_hashing() -> None:
    config = make_config(
        [location(name, ZIPS["newark"]) for name in ("n1", "n2", "n3", "n4")],
        [{"name": "r", "locations": ["n3", "n1", "n4", "n2"], "sort": ["closest", "most_stock"]}],
    )
    stock = {(sku, loc): 0 for sku in SKUS for loc in ("n1", "n2", "n3", "n4")}
    decision = decide(make_order([("TEE", 1)], postal_code=NYC), config, stock)
    # Nobody has stock, so every location is looked at, in the rule's order on equal scores.
    assert [row[0] for row in decision.trace["steps"][0]["ranking"]] == ["n3", "n1", "n4", "n2"]
    assert list(decision.trace["steps"][0]["short"]) == ["n3", "n1", "n4", "n2"]


_DECIDE = """
import json, sys
from datetime import UTC, datetime
from pathlib import Path
from orderloop.config import load_config
from orderloop.routing import RoutingContext, route
from orderloop.routing_cli import read_order, read_stock_file
folder = Path(sys.argv[1])
config = load_config(folder / "brand.yaml")
order = read_order(folder / "order.json", config, None)
stock = read_stock_file(folder / "stock.json")
decision = route(order, config, stock, RoutingContext(now=datetime(2026, 1, 1, tzinfo=UTC)))
print(json.dumps(decision.to_allocation().model_dump(mode="json")))
"""


def _decide_elsewhere(folder: Path, seed: str) -> Any:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    result = subprocess.run(
        [sys.executable, "-c", _DECIDE, str(folder)], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_another_process_with_another_hash_seed_decides_the_same(tmp_path: Path) -> None:
    config_text = (
        (ROOT / "orderloop.yaml")
        .read_text()
        .replace(
            "      locations: [east, west]\n      sort: ranked\n      split: never",
            "      locations: [east, west]\n      sort: [closest, most_stock]\n      split: never\n"
            "      fallback: [{split: minimise}]",
        )
    )
    (tmp_path / "brand.yaml").write_text(config_text)
    order = {
        "channelId": "storefront",
        "tags": ["b", "a", "c"],
        "lineItems": [
            {"id": "1", "sku": "TSHIRT-BLK-M", "quantity": 2},
            {"id": "2", "sku": "HOODIE-GRY-L", "quantity": 1},
        ],
        "shippingAddress": {"country": "US", "stateOrProvince": "IL", "zipCodeOrPostalCode": "60606"},
    }
    (tmp_path / "order.json").write_text(json.dumps(order))
    (tmp_path / "stock.json").write_text(json.dumps({"TSHIRT-BLK-M": {"east": 5}, "HOODIE-GRY-L": {"west": 3}}))
    first, second = _decide_elsewhere(tmp_path, "1"), _decide_elsewhere(tmp_path, "4242")
    assert first == second
    assert [a["locationId"] for a in first["assignments"]] == ["east", "west"]
    assert [step["split"] for step in first["trace"]["steps"]] == ["never", "minimise"]
