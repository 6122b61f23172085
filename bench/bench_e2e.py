"""End-to-end benchmark: Orderloop's full loop against the bare Temporal shape of an order, on
the same embedded dev server in the same run.

Orderloop: signed storefront webhooks through the gateway; the WMS sandbox ships at once; an
order is done when the storefront sandbox receives its tracking. Bare: a workflow with the same
number of activities (doing nothing) and one signal, sent as soon as the "shipping request"
activity ran. Prints throughput, latency percentiles and the ratio Orderloop / bare.

Run: `python -m bench.bench_e2e --orders 300 --concurrency 30` (or `make bench`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from connectors.signing import ORDERLOOP_DELIVERY_HEADER, ORDERLOOP_EVENT_HEADER, orderloop_signature
from orderloop.config import load_config
from orderloop.temporal_client import connect
from tests.integration.stack import make_stack


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def order_body(external_id: str) -> dict[str, Any]:
    return {
        "externalId": external_id,
        "lineItems": [{"id": "1", "sku": "TSHIRT-BLK-M", "quantity": 1, "unitPrice": 19.0}],
        "shippingAddress": {
            "address1": "350 5th Ave",
            "city": "New York",
            "stateOrProvince": "NY",
            "zipCodeOrPostalCode": "10118",
            "country": "US",
        },
    }


async def orderloop_run(gateway: str, storefront: str, orders: int, concurrency: int) -> dict[str, Any]:
    secret = os.environ["ORDERLOOP_STOREFRONT_WEBHOOK_SECRET"]
    run = uuid.uuid4().hex[:6]
    sent: dict[str, float] = {}
    accept: list[float] = []
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30) as http:

        async def send(i: int) -> None:
            external_id = f"bench-{run}-{i}"
            body = json.dumps(order_body(external_id)).encode()
            headers = {
                "Content-Type": "application/json",
                ORDERLOOP_EVENT_HEADER: "order.created",
                ORDERLOOP_DELIVERY_HEADER: uuid.uuid4().hex,
                "X-Orderloop-Signature": orderloop_signature(secret, body),
            }
            async with gate:
                started = time.time()
                response = await http.post(f"{gateway}/webhooks/storefront", content=body, headers=headers)
                accept.append(time.time() - started)
                response.raise_for_status()
                sent[external_id] = started

        first = time.time()
        await asyncio.gather(*(send(i) for i in range(orders)))
        done: dict[str, float] = {}
        deadline = time.monotonic() + 120 + orders
        while len(done) < orders and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            recorded = (await http.get(f"{storefront}/_sandbox/requests", params={"method": "POST"})).json()
            for request in recorded:
                parts = request["path"].split("/")
                if len(parts) >= 4 and parts[1] == "orders" and parts[3] == "fulfillments" and parts[2] in sent:
                    done.setdefault(parts[2], request["at"])
    latencies = [done[k] - sent[k] for k in done]
    last = max(done.values()) if done else time.time()
    return {
        "completed": len(done),
        "per_second": len(done) / (last - first) if done else 0.0,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "accept_p50": percentile(accept, 50),
        "accept_p99": percentile(accept, 99),
    }


# --- the bare shape: same activities (no-ops) and one signal ------------------------------------


@activity.defn(name="bare.noop")
async def noop(_: str) -> str:
    return "ok"


@workflow.defn(name="BareOrder")
class BareOrder:
    def __init__(self) -> None:
        self.shipped = False

    @workflow.run
    async def run(self, order_id: str) -> None:
        opts: dict[str, Any] = {"start_to_close_timeout": timedelta(seconds=30)}
        for _ in range(2):  # ingest, allocate
            await workflow.execute_local_activity("bare.noop", order_id, **opts)
        await workflow.execute_activity("bare.send", order_id, **opts)  # shipping request
        await workflow.wait_condition(lambda: self.shipped)
        await workflow.execute_local_activity("bare.noop", order_id, **opts)  # commit
        await workflow.execute_activity("bare.noop", order_id, **opts)  # push tracking

    @workflow.signal
    def shipment(self) -> None:
        self.shipped = True


async def bare_run(client: Client, orders: int, concurrency: int) -> dict[str, Any]:
    queue = f"bare-{uuid.uuid4().hex[:6]}"
    pending: set[asyncio.Task[None]] = set()

    @activity.defn(name="bare.send")
    async def send(order_id: str) -> str:
        # The 3PL ships at once and reports by signal, like the sandbox WMS webhook.
        task = asyncio.get_running_loop().create_task(client.get_workflow_handle(order_id).signal("shipment"))
        pending.add(task)
        task.add_done_callback(pending.discard)
        return "ok"

    latencies: list[float] = []
    accept: list[float] = []
    gate = asyncio.Semaphore(concurrency)
    async with Worker(
        client, task_queue=queue, workflows=[BareOrder], activities=[noop, send], max_cached_workflows=2000
    ):

        async def one(i: int) -> None:
            async with gate:
                started = time.time()
                handle = await client.start_workflow(
                    BareOrder.run, f"bare/{queue}/{i}", id=f"bare/{queue}/{i}", task_queue=queue
                )
                accept.append(time.time() - started)
            await handle.result()
            latencies.append(time.time() - started)

        first = time.time()
        await asyncio.gather(*(one(i) for i in range(orders)))
        elapsed = time.time() - first
    return {
        "completed": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "accept_p50": percentile(accept, 50),
        "accept_p99": percentile(accept, 99),
    }


def table(rows: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| run | completed | orders/s | p50 s | p95 s | p99 s | accept p50 ms | accept p99 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['completed']} | {r['per_second']:.1f} | {r['p50']:.3f} | {r['p95']:.3f} | {r['p99']:.3f} "
            f"| {r['accept_p50'] * 1000:.1f} | {r['accept_p99'] * 1000:.1f} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = make_stack(Path(tmp), **{"wms.ship_delay": "0", "wms.partial_ratio": "0"})
        try:
            await stack.start()
            config = load_config(stack.config_path)
            storefront = config.channel("storefront").base_url
            # Warm up both paths so start-up costs do not count.
            await orderloop_run(stack.gateway_url, storefront, 10, 5)
            client = await connect(stack.address)
            await bare_run(client, 10, 5)
            results = {
                "orderloop": await orderloop_run(stack.gateway_url, storefront, args.orders, args.concurrency),
                "bare temporal": await bare_run(client, args.orders, args.concurrency),
            }
        finally:
            stack.stop()
    print(table(results))
    ratio = results["orderloop"]["per_second"] / results["bare temporal"]["per_second"]
    print(f"\nthroughput ratio orderloop / bare: {ratio:.2f} ({args.orders} orders, concurrency {args.concurrency})")


if __name__ == "__main__":
    asyncio.run(main())
