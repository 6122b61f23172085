"""Routing benchmark: decisions per second in process for 10,000 orders against 50 locations
and 30 rules (global and per channel, every sort strategy and split policy, fallbacks, outages,
capacities, regions). Run `python -m bench.bench_routing` (target: 20,000 decisions/s).

Each decision is `route()` with its trace; a second pass adds `to_allocation()` (the pydantic
`Allocation` the activity returns). The configuration is compiled and the ZIP table loaded
before timing, as a worker does on its first order.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from orderloop.config import OrderloopConfig
from orderloop.model import Order
from orderloop.routing import RoutingContext, Stock, plan_for, route
from orderloop.routing.geo import _tables

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
SELLING = ["web", "amazon", "tiktok", "retail", "b2b"]
FULFILLMENT = ["wms", "tpl"]
WEST = ["CA", "OR", "WA", "NV", "AZ", "UT", "ID"]


def _zips(rng: random.Random, count: int) -> list[str]:
    return rng.sample(sorted(_tables()[0]), count)


def workload(
    orders: int = 10_000, locations: int = 50, rules: int = 30, skus: int = 300, seed: int = 11
) -> tuple[OrderloopConfig, list[Order], Stock, dict[str, int]]:
    """A brand-sized configuration, orders, stock and today's load, the same for a given seed."""
    rng = random.Random(seed)
    location_ids = [f"loc{i:02d}" for i in range(locations)]
    locs: list[dict[str, Any]] = []
    for i, (loc_id, zip_code) in enumerate(zip(location_ids, _zips(rng, locations), strict=True)):
        loc: dict[str, Any] = {
            "id": loc_id,
            "fulfillment_channel": FULFILLMENT[i % 2],
            "country": "US",
            "postal_code": zip_code,
        }
        if i % 10 == 3:
            loc["daily_order_capacity"] = 400
        if i % 17 == 5:
            loc["paused"] = True
        if i % 13 == 7:
            start = NOW - timedelta(hours=2) if i % 2 else NOW + timedelta(days=3)
            loc["outages"] = [{"start": start.isoformat(), "end": (start + timedelta(hours=12)).isoformat()}]
        if i % 11 == 2:
            loc["exclude_channels"] = ["tiktok"]
        if i % 9 == 4:
            loc["serves"] = [{"country": "US", "states": WEST}] if i % 2 else [{"country": "US"}, {"country": "CA"}]
        locs.append(loc)
    pick = lambda n: rng.sample(location_ids, n)  # noqa: E731
    global_rules: list[dict[str, Any]] = [
        {"name": "fraud-hold-free", "when": {"tags": ["fraud-review"]}, "locations": pick(2), "split": "never"},
        {"name": "wholesale", "when": {"order_types": ["wholesale"]}, "locations": pick(3), "split": "by_line"},
        {"name": "pre-orders", "when": {"order_types": ["pre_order"]}, "locations": pick(5), "sort": "most_stock"},
        {"name": "hazmat", "when": {"sku_tags": ["hazmat"]}, "locations": pick(6), "sort": "closest"},
        {"name": "canada", "when": {"countries": ["CA"]}, "locations": pick(4), "sort": ["closest", "most_stock"]},
    ]
    per_channel: list[dict[str, Any]] = []
    for ch in SELLING:
        per_channel += [
            {
                "name": f"{ch}-express",
                "when": {"channels": [ch], "shipping_methods": ["express", "overnight"]},
                "sort": "closest",
                "split": "never",
                "fallback": [{"split": "minimise"}],
            },
            {
                "name": f"{ch}-vip",
                "when": {"channels": [ch], "tags": ["vip"], "order_value": {"min": 200}},
                "sort": ["closest", "most_stock"],
            },
            {
                "name": f"{ch}-west",
                "when": {"channels": [ch], "states": WEST},
                "locations": pick(8),
                "sort": "fewest_shipments",
                "split": "minimise",
            },
            {
                "name": f"{ch}-gifts",
                "when": {"channels": [ch], "tags": ["gift"], "order_value": {"max": 100}},
                "locations": pick(10),
                "split": "by_line",
            },
            {
                "name": f"{ch}-default",
                "when": {"channels": [ch]},
                "sort": "closest",
                "split": "never",
                "fallback": [{"split": "minimise"}, {"split": "by_line", "filters": ["open", "channel"]}],
            },
        ]
    rule_cards = (global_rules + per_channel)[:rules]
    config = OrderloopConfig.model_validate(
        {
            "tenant_id": "bench",
            "locations": locs,
            "channels": [{"id": c, "type": "storefront", "role": "selling", "base_url": "http://b"} for c in SELLING]
            + [{"id": c, "type": "wms", "role": "fulfillment", "base_url": "http://b"} for c in FULFILLMENT],
            "routing": {"sku_tags": {"hazmat": ["HZ-*"]}, "rules": rule_cards},
        }
    )
    sku_ids = [f"HZ-{i:03d}" if i % 40 == 0 else f"SKU-{i:04d}" for i in range(skus)]
    stock = {(s, loc): rng.choice([0, 0, 0, 1, 3, 8, 20, 60]) for s in sku_ids for loc in location_ids}
    destinations = _zips(rng, 5_000)
    states = {z: rng.choice(["NY", "TX", "CA", "WA", "FL", "IL", "NV", "OH"]) for z in destinations}
    made = []
    for n in range(orders):
        canadian = rng.random() < 0.03
        zip_code = rng.choice(destinations)
        extra: dict[str, Any] = {}
        roll = rng.random()
        if roll < 0.04:
            extra["orderType"] = "wholesale"
        elif roll < 0.07:
            extra["orderType"] = "pre_order"
        lines = [
            {"id": str(k + 1), "sku": sku, "quantity": rng.choice([1, 1, 1, 2, 3])}
            for k, sku in enumerate(rng.sample(sku_ids, rng.choice([1, 1, 2, 2, 3, 4])))
        ]
        made.append(
            Order.model_validate(
                {
                    "id": f"order/bench/{n}",
                    "externalId": str(n),
                    "tenantId": "bench",
                    "createdAt": NOW,
                    "updatedAt": NOW,
                    "channelId": rng.choice(SELLING),
                    "lineItems": lines,
                    "tags": rng.sample(["vip", "gift", "fraud-review", "repeat"], rng.choice([0, 0, 1, 2])),
                    "shippingCode": rng.choice(["ground", "ground", "express", "overnight", None]),
                    "totalPrice": rng.choice([19, 45, 120, 250, 900]),
                    "shippingAddress": {
                        "country": "CA" if canadian else "US",
                        "stateOrProvince": "ON" if canadian else states[zip_code],
                        "zipCodeOrPostalCode": "M5V 2T6" if canadian else zip_code,
                    },
                    **extra,
                }
            )
        )
    load = {loc: rng.randint(0, 450) for loc in location_ids}
    return config, made, stock, load


def measure(
    config: OrderloopConfig, orders: list[Order], stock: Stock, load: dict[str, int], *, allocation: bool
) -> dict[str, Any]:
    ctx = RoutingContext(now=NOW, orders_today=load)
    plan_for(config)
    _tables()
    for order in orders[:200]:
        route(order, config, stock, ctx)
    timings = []
    outcomes: Counter[str] = Counter()
    clock = time.perf_counter_ns
    # The 10,000 orders and the stock table exist at once only because this is a benchmark (a
    # worker holds one order at a time): keep the garbage collector from re-scanning them.
    gc.collect()
    gc.freeze()
    started = clock()
    for order in orders:
        t0 = clock()
        decision = route(order, config, stock, ctx)
        if allocation:
            decision.to_allocation()
        timings.append(clock() - t0)
        outcomes[decision.outcome.value] += 1
    total = (clock() - started) / 1e9
    quantiles = statistics.quantiles(timings, n=100)
    return {
        "decisions/s": len(orders) / total,
        "p50 µs": quantiles[49] / 1000,
        "p99 µs": quantiles[98] / 1000,
        "outcomes": dict(sorted(outcomes.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--locations", type=int, default=50)
    parser.add_argument("--rules", type=int, default=30)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    config, orders, stock, load = workload(args.orders, args.locations, args.rules, seed=args.seed)
    print(
        f"{len(orders):,} orders, {len(config.locations)} locations, {len(config.routing.rules)} rules, "
        f"{len({s for s, _ in stock}):,} SKUs"
    )
    ctx = RoutingContext(now=NOW, orders_today=load)
    sizes = [len(json.dumps(route(o, config, stock, ctx).trace)) for o in orders[:1000]]
    for label, allocation in (("route() with trace", False), ("route() + to_allocation()", True)):
        figures = measure(config, orders, stock, load, allocation=allocation)
        print(
            f"{label:<27} {figures['decisions/s']:>9,.0f} decisions/s   "
            f"p50 {figures['p50 µs']:6.1f} µs   p99 {figures['p99 µs']:6.1f} µs"
        )
    print(f"outcomes: {figures['outcomes']}")
    print(f"trace JSON size: median {statistics.median(sizes):,.0f} B, max {max(sizes):,} B (first 1,000 orders)")


if __name__ == "__main__":
    main()
