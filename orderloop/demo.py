"""`orderloop demo`: place N orders on the sandboxes of the selling channels (each signs them and
delivers them to the gateway as the real channel would), follow each one until it completes or
lands in an exception, and summarise what happened."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orderloop.config import ChannelConfig, OrderloopConfig
from orderloop.model import ConnectorRole, OrderStatus

_ADDRESSES = [
    {"address1": "350 5th Ave", "city": "New York", "stateOrProvince": "NY", "zipCodeOrPostalCode": "10118"},
    {"address1": "1 Infinite Loop", "city": "Cupertino", "stateOrProvince": "CA", "zipCodeOrPostalCode": "95014"},
    {"address1": "233 S Wacker Dr", "city": "Chicago", "stateOrProvince": "IL", "zipCodeOrPostalCode": "60606"},
    {
        "address1": "1600 Pennsylvania Ave",
        "city": "Washington",
        "stateOrProvince": "DC",
        "zipCodeOrPostalCode": "20500",
    },
    {"address1": "400 Broad St", "city": "Seattle", "stateOrProvince": "WA", "zipCodeOrPostalCode": "98109"},
]
_NAMES = [("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing"), ("Katherine", "Johnson")]
_DONE = {OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.EXCEPTION}


@dataclass
class DemoSummary:
    sent: int
    statuses: Counter[str] = field(default_factory=Counter)
    exceptions: Counter[str] = field(default_factory=Counter)
    channels: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # Workflow ids of the orders that completed (the demo returns a few of them).
    completed: list[str] = field(default_factory=list)
    # The final status of each demo return (`orderloop.demo_returns`).
    returns: Counter[str] = field(default_factory=Counter)

    def percentile(self, p: float) -> float | None:
        if not self.latencies:
            return None
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(p) - 1]


def demo_order(rng: random.Random, external_id: str, skus: list[str], bad_address: bool) -> dict[str, Any]:
    first, last = rng.choice(_NAMES)
    address = {**rng.choice(_ADDRESSES), "country": "US", "firstName": first, "lastName": last}
    if bad_address:
        address.pop("address1")
    lines = rng.sample(skus, k=min(len(skus), rng.choice([1, 1, 2, 3])))
    return {
        "externalId": external_id,
        "name": f"#{external_id}",
        "currency": "USD",
        "customer": {"firstName": first, "lastName": last, "email": f"{first.lower()}@example.com"},
        "shippingAddress": address,
        "shippingCode": rng.choice(["standard", "standard", "express"]),
        "lineItems": [
            {"id": str(i + 1), "sku": sku, "quantity": rng.choice([1, 1, 2]), "unitPrice": 19.0}
            for i, sku in enumerate(lines)
        ],
    }


async def run_demo(
    config: OrderloopConfig,
    gateway_url: str,
    api_token: str,
    orders: int,
    *,
    channel_ids: list[str] | None = None,
    concurrency: int = 20,
    timeout: float | None = None,
    bad_address_ratio: float = 0.02,
    seed: int | None = None,
    show_progress: bool = True,
) -> DemoSummary:
    """Place `orders` orders round-robin on the sandboxes of `channel_ids` (default: every
    selling channel), then follow them through the operator API until each is done."""
    channels = (
        [config.channel(c) for c in channel_ids] if channel_ids else config.channels_with_role(ConnectorRole.SELLING)
    )
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:6]
    stocked = sorted({sku for loc in config.locations for sku in loc.seed_stock} | {p.sku for p in config.products})
    plan = [(channels[i % len(channels)], f"demo-{run}-{i + 1:04d}") for i in range(orders)]
    summary = DemoSummary(sent=orders)
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {api_token}"}
    # Workflow id -> channel: the id uses the channel's own order id (Shopify numbers its orders).
    pending: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=30) as http:
        gate = asyncio.Semaphore(concurrency)
        offered = {c.id: await _rollout_skus(http, gateway_url, headers, c, stocked) for c in channels}

        async def place(channel: ChannelConfig, external_id: str) -> None:
            body = demo_order(rng, external_id, offered[channel.id], rng.random() < bad_address_ratio)
            async with gate:
                response = await http.post(f"{channel.base_url}/_sandbox/orders", json=body)
                response.raise_for_status()
            order_id = str(response.json().get("id") or external_id)
            pending[f"order/{channel.id}/{order_id}"] = channel.id

        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            disable=not show_progress,
        )
        with progress:
            placing = progress.add_task("placing orders", total=orders, detail=", ".join(c.id for c in channels))
            for batch_start in range(0, orders, concurrency):
                batch = plan[batch_start : batch_start + concurrency]
                await asyncio.gather(*(place(channel, external_id) for channel, external_id in batch))
                progress.advance(placing, len(batch))
            following = progress.add_task("orders done", total=orders, detail="")
            deadline = time.monotonic() + (timeout or 120 + orders * 0.5)
            statuses: dict[str, str] = {}
            waiting = dict(pending)
            while waiting and time.monotonic() < deadline:
                await asyncio.sleep(1.0)
                for channel_id in sorted(set(waiting.values())):
                    response = await http.get(
                        f"{gateway_url}/api/orders",
                        params={"channel": channel_id, "limit": 1000},
                        headers=headers,
                    )
                    response.raise_for_status()
                    for row in response.json()["orders"]:
                        if row["workflowId"] in waiting and row["status"] in _DONE:
                            statuses[row["workflowId"]] = row["status"]
                            del waiting[row["workflowId"]]
                counts = Counter(statuses.values())
                detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                progress.update(following, completed=len(statuses), detail=detail)

            async def inspect(workflow_id: str) -> None:
                _, channel_id, external_id = workflow_id.split("/", 2)
                async with gate:
                    response = await http.get(f"{gateway_url}/api/orders/{channel_id}/{external_id}", headers=headers)
                view = response.json()
                summary.statuses[view["status"]] += 1
                summary.channels[channel_id] += 1
                if view["status"] == OrderStatus.EXCEPTION:
                    open_exc = [e for e in view["exceptions"] if not e.get("resolvedAt")]
                    summary.exceptions[open_exc[-1]["kind"] if open_exc else "unknown"] += 1
                if view["status"] == OrderStatus.COMPLETED:
                    summary.completed.append(workflow_id)
                if view.get("completedAt"):
                    done = _parse(view["completedAt"]) - _parse(view["receivedAt"])
                    summary.latencies.append(done)

            await asyncio.gather(*(inspect(w) for w in statuses))
    summary.unfinished = sorted(waiting)
    summary.seconds = time.monotonic() - started
    return summary


async def _rollout_skus(
    http: httpx.AsyncClient, gateway_url: str, headers: dict[str, str], channel: ChannelConfig, stocked: list[str]
) -> list[str]:
    """The stocked SKUs the channel sells now: its go-live rollout in the ledger (docs/golive.md),
    read through the operator API, since a plan or expand changes it without touching the file."""
    response = await http.get(f"{gateway_url}/api/channels/{channel.id}/golive", headers=headers)
    response.raise_for_status()
    rollout = response.json()
    if rollout["stage"] == "full":
        return stocked
    skus = [s for s in stocked if s in set(rollout["skus"])]
    if not skus:
        raise RuntimeError(f"channel {channel.id!r} is live on {rollout['skus']}, none of them stocked in the demo")
    return skus


def _parse(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
