"""Inventory propagation benchmark: from a reservation's commit in the ledger to the last of 5
selling channels receiving the new quantity, under a steady flow of orders on one channel.

Each order buys one unit of its own SKU, so the first push of that SKU showing one unit fewer
marks the arrival on a channel; the reservation's time is the ledger's `reserve` event. Both
clocks are this machine's. Prints p50/p95/p99/max of the per-order latency to the slowest
channel, and the per-channel p99.

Run: `python -m bench.bench_propagation --rate 20 --seconds 30` (or `make bench`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from connectors.signing import orderloop_webhook_headers
from orderloop.ledger import Cause, CauseKind, EventKind, Ledger
from orderloop.loopback_stack import free_port, make_stack

STOCK = 5
EXTRA_CHANNELS = 4


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def with_more_storefronts(config_path: Path, extra: int) -> list[str]:
    """Add `extra` storefront channels (each its own sandbox) to the stack's configuration."""
    data = yaml.safe_load(config_path.read_text())
    first = next(c for c in data["channels"] if c["id"] == "storefront")
    for n in range(2, extra + 2):
        data["channels"].append({**first, "id": f"storefront{n}", "base_url": f"http://127.0.0.1:{free_port()}"})
    config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    return [c["id"] for c in data["channels"] if c["type"] == "storefront"]


def order_body(external_id: str, sku: str) -> dict[str, Any]:
    return {
        "externalId": external_id,
        "lineItems": [{"id": "1", "sku": sku, "quantity": 1, "unitPrice": 10.0}],
        "shippingAddress": {
            "address1": "350 5th Ave",
            "city": "New York",
            "stateOrProvince": "NY",
            "zipCodeOrPostalCode": "10118",
            "country": "US",
        },
    }


async def arrivals(http: httpx.AsyncClient, base_url: str, skus: set[str]) -> dict[str, float]:
    """When each SKU first arrived on a channel with one unit fewer than stocked."""
    log = (await http.get(f"{base_url}/_sandbox/inventory")).json()["history"]
    seen: dict[str, float] = {}
    for entry in log:
        if entry["sku"] in skus and entry["available"] == STOCK - 1 and entry["sku"] not in seen:
            seen[entry["sku"]] = datetime.fromisoformat(entry["receivedAt"].replace("Z", "+00:00")).timestamp()
    return seen


async def run(rate: float, seconds: float) -> None:
    orders = int(rate * seconds)
    with tempfile.TemporaryDirectory() as tmp:
        stack = make_stack(Path(tmp), **{"wms.ship_delay": "30"})
        channels = with_more_storefronts(stack.config_path, EXTRA_CHANNELS)
        config = yaml.safe_load(stack.config_path.read_text())
        urls = {c["id"]: c["base_url"] for c in config["channels"] if c["id"] in channels}
        try:
            await stack.start()
            tag = uuid.uuid4().hex[:6].upper()
            skus = [f"PROP-{tag}-{i}" for i in range(orders)]
            ledger = await Ledger.open(stack.ledger_url)
            for sku in skus:
                await ledger.receive(sku, "east", STOCK, Cause(kind=CauseKind.OPERATOR, ref="bench"))
            secret = os.environ["ORDERLOOP_STOREFRONT_WEBHOOK_SECRET"]
            async with httpx.AsyncClient(timeout=30) as http:
                # Let every channel learn the stocked SKUs before the clock starts.
                wanted = set(skus)
                for _ in range(600):
                    known = [(await http.get(f"{u}/_sandbox/inventory")).json()["levels"].keys() for u in urls.values()]
                    if all(wanted <= set(k) for k in known):
                        break
                    await asyncio.sleep(0.5)
                start = time.monotonic()
                for i, sku in enumerate(skus):
                    await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
                    body = json.dumps(order_body(f"prop-{tag}-{i}", sku)).encode()
                    headers = orderloop_webhook_headers(secret, "order.created", body) | {
                        "Content-Type": "application/json"
                    }
                    url = f"{stack.gateway_url}/webhooks/storefront"
                    (await http.post(url, content=body, headers=headers)).raise_for_status()
                await asyncio.sleep(5)
                per_channel = {c: await arrivals(http, u, wanted) for c, u in urls.items()}
            reserved: dict[str, float] = {}
            for sku in skus:
                events = [e for e in await ledger.events(sku, limit=10) if e.kind is EventKind.RESERVE]
                if events:
                    reserved[sku] = events[0].at.timestamp()
            await ledger.close()
        finally:
            stack.stop()
    complete = [s for s in reserved if all(s in per_channel[c] for c in channels)]
    slowest = [max(per_channel[c][s] for c in channels) - reserved[s] for s in complete]
    print(
        f"{len(channels)} selling channels, {orders} orders at {rate:g}/s on one channel; "
        f"{len(complete)} reservations reached every channel"
    )
    print("| latency, reservation -> last channel | p50 | p95 | p99 | max |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(
        f"| seconds | {percentile(slowest, 50):.3f} | {percentile(slowest, 95):.3f} | "
        f"{percentile(slowest, 99):.3f} | {max(slowest):.3f} |"
    )
    for channel in channels:
        lat = [per_channel[channel][s] - reserved[s] for s in complete]
        print(f"  {channel}: p50 {percentile(lat, 50):.3f} s, p99 {percentile(lat, 99):.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=20, help="orders per second")
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    asyncio.run(run(args.rate, args.seconds))


if __name__ == "__main__":
    main()
