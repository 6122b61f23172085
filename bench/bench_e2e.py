"""End-to-end benchmark: Orderloop's full loop against the bare Temporal shape of an order, on
the same embedded dev server in the same run.

Orderloop: signed storefront webhooks through the gateway; the WMS sandbox ships at once; an
order is done when the storefront sandbox receives its tracking. Bare: a workflow with the same
number of activities (five, doing nothing) and one signal, sent as soon as the "shipping
request" activity ran; the ratio of record is Orderloop / that shape. Stricter bare variants
run the three internal steps as local activities, as Orderloop does, then add Orderloop's
queue layout and its other server commands. Prints throughput, latency percentiles, the CPU
each process spent and the requests the dev server served per order, and the ratios.

Run: `python -m bench.bench_e2e --orders 300 --concurrency 30` (or `make bench`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from bench.bare_order import BareOrder, noop
from connectors.http_pool import ClientPool
from connectors.signing import ORDERLOOP_DELIVERY_HEADER, ORDERLOOP_EVENT_HEADER, orderloop_signature
from orderloop import event_loop
from orderloop.config import load_config
from orderloop.contracts import order_start_search_attributes
from orderloop.loopback_stack import TOKEN, free_port, make_stack
from orderloop.settings import get_settings
from orderloop.stack import Stack
from orderloop.temporal_client import connect
from workers.main import workflow_runner

SKU = "TSHIRT-BLK-M"
ORDERLOOP = "orderloop"
# The bare shape (ARCHITECTURE.md: "five activities and one signal"): the figure of record.
FIVE = "bare temporal: five activities, one signal"
# Stricter: the three internal steps as local activities, as Orderloop runs them; then the two
# remote activities on a queue of their own; then Orderloop's other server commands on top.
BARE = "bare, internal steps local (as Orderloop)"
ON_OWN_QUEUE = "bare, steps local, activities on their own queue"
WITH_COMMANDS = "bare, steps local, own queue + Orderloop's upserts and SLA timer"
BARE_VARIANTS: dict[str, dict[str, bool]] = {
    FIVE: {"local_steps": False},
    BARE: {},
    ON_OWN_QUEUE: {"own_queue": True},
    WITH_COMMANDS: {"commands": True},
}
# The channels an order of the benchmark goes through. Their sandboxes do not limit the rate of
# calls, so the benchmark lifts the API rate limits orderloop.yaml declares for them (20 and 50
# calls/s): with them, the storefront's tracking pushes capped the loop at 20 orders/s once the
# machine could do more, and the benchmark measured the configuration instead of Orderloop.
UNTHROTTLED = ("storefront", "wms")
PERSISTENCE_PREFIX = "persistence:"


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def order_body(external_id: str) -> dict[str, Any]:
    return {
        "externalId": external_id,
        "lineItems": [{"id": "1", "sku": SKU, "quantity": 1, "unitPrice": 19.0}],
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
    refused: list[str] = []
    url = f"{gateway}/webhooks/storefront"
    gate = asyncio.Semaphore(concurrency)
    # The senders borrow a client of one connection each, as Orderloop's connectors do: through
    # one shared client, each of 30 senders' requests cost 3.0-3.6 ms of this process's CPU
    # instead of 1.3-1.4 (httpx's pool looks at each of its connections for every request).
    senders = ClientPool(timeout=30)
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
            async with gate, senders.client() as sender:
                started = time.time()
                # As a channel's sender does: a 503 (Temporal slower than the gateway waits) is retried.
                while (response := await sender.post(url, content=body, headers=headers)).status_code == 503:
                    refused.append(external_id)
                    await asyncio.sleep(0.5)
                accept.append(time.time() - started)
                response.raise_for_status()
                sent[external_id] = started

        first = time.time()
        try:
            await asyncio.gather(*(send(i) for i in range(orders)))
        finally:
            await senders.aclose()
        done: dict[str, float] = {}
        read = 0  # fulfillments of the storefront read so far (this run's and earlier ones')
        progressed = time.monotonic()
        # Until every order is done, or none has completed for a minute (then they are reported).
        while len(done) < orders and time.monotonic() - progressed < 60:
            await asyncio.sleep(0.5)
            before = len(done)
            # The first fulfillment the storefront recorded for each order: tracking pushed back.
            # Only the ones recorded since the last look: the whole list grows with every order
            # of the benchmark, and reading it again and again would charge its cost to the run.
            records = (await http.get(f"{storefront}/_sandbox/fulfillments", params={"after": read})).json()
            read += len(records)
            for record in records:
                if record["orderId"] in sent:
                    done.setdefault(record["orderId"], _epoch(record["receivedAt"]))
            if len(done) > before:
                progressed = time.monotonic()
        # An order that never got its tracking is reported with where it stands, not dropped.
        missing = sorted(set(sent) - set(done))
        headers = {"Authorization": f"Bearer {TOKEN}"}
        for external_id in missing[:10]:
            view = (await http.get(f"{gateway}/api/orders/storefront/{external_id}", headers=headers)).json()
            recent = [f"{e.get('event')}: {e.get('detail')}" for e in view.get("timeline", [])[-3:]]
            print(f"not completed: {external_id}: {view.get('status')}; last: {recent}")
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
        "refused": len(refused),
    }


# --- the bare shape: same activities (no-ops) and one signal ------------------------------------


async def bare_run(
    client: Client,
    orders: int,
    concurrency: int,
    own_queue: bool = False,
    commands: bool = False,
    local_steps: bool = True,
) -> dict[str, Any]:
    """The bare shape; `own_queue`: its two remote activities on a second task queue served by a
    second worker in this process (Orderloop's per-channel queues), so not eagerly dispatched;
    `commands`: with Orderloop's other server commands too (start search attributes, three
    status upserts, the SLA timer; see BareOrder); `local_steps`: the three internal steps as
    local activities (False: all five activities plain, the issue's shape)."""
    queue = f"bare-{uuid.uuid4().hex[:6]}"
    activity_queue = f"{queue}-channel" if own_queue or commands else ""
    attributes = order_start_search_attributes("bench") if commands else None
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
    # The workflow runner Orderloop's workers use (unsandboxed unless ORDERLOOP_WORKFLOW_SANDBOX
    # is set): the engine's settings are the same on both sides, only the work differs. With
    # the SDK's default sandbox the bare worker and client took 18.1 ms per order instead of
    # 11.7, and the ratios flattered Orderloop.
    runner = workflow_runner(get_settings().workflow_sandbox)
    workers = [
        Worker(
            client,
            task_queue=queue,
            workflows=[BareOrder],
            activities=[noop, send],
            max_cached_workflows=2000,
            workflow_runner=runner,
        )
    ]
    if activity_queue:
        workers.append(Worker(client, task_queue=activity_queue, activities=[noop, send]))
    async with contextlib.AsyncExitStack() as running:
        for worker in workers:
            await running.enter_async_context(worker)

        async def one(i: int) -> None:
            async with gate:
                started = time.time()
                handle = await client.start_workflow(
                    BareOrder.run,
                    args=[f"bare/{queue}/{i}", activity_queue, commands, local_steps],
                    id=f"bare/{queue}/{i}",
                    task_queue=queue,
                    search_attributes=attributes,
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


async def paced(rate: float, seconds: float, call: Callable[[int], Coroutine[Any, Any, None]]) -> None:
    """`call(i)` at a steady `rate` per second for `seconds`, each in its own task."""
    start = time.monotonic()
    tasks: list[asyncio.Task[None]] = []
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        tasks.append(asyncio.create_task(call(i)))
    await asyncio.gather(*tasks)


async def accept_latency(gateway: str, rate: float, seconds: float) -> list[float]:
    """Webhook POST -> 2xx latency of signed order webhooks offered at a fixed rate."""
    secret = os.environ["ORDERLOOP_STOREFRONT_WEBHOOK_SECRET"]
    run = uuid.uuid4().hex[:6]
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=30) as http:

        async def one(i: int) -> None:
            body = json.dumps(order_body(f"accept-{run}-{i}")).encode()
            headers = {
                "Content-Type": "application/json",
                ORDERLOOP_EVENT_HEADER: "order.created",
                ORDERLOOP_DELIVERY_HEADER: uuid.uuid4().hex,
                "X-Orderloop-Signature": orderloop_signature(secret, body),
            }
            started = time.perf_counter()
            response = await http.post(f"{gateway}/webhooks/storefront", content=body, headers=headers)
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)

        await paced(rate, seconds, one)
    return latencies


async def start_latency(client: Client, rate: float, seconds: float) -> list[float]:
    """Latency of a bare `start_workflow` (no worker needed to accept it) at the same rate."""
    queue = f"bare-start-{uuid.uuid4().hex[:6]}"
    latencies: list[float] = []

    async def one(i: int) -> None:
        started = time.perf_counter()
        await client.start_workflow(BareOrder.run, f"s{i}", id=f"{queue}/{i}", task_queue=queue)
        latencies.append(time.perf_counter() - started)

    await paced(rate, seconds, one)
    return latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), including its children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def stack_cpu(stack: Any) -> dict[str, float]:
    pids = {name: proc.pid for name, proc in stack.processes}
    if stack.devserver is not None and stack.devserver.process is not None:
        pids["temporal"] = stack.devserver.process.pid
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


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


async def stock_for(stack: Any, wms: str, units: int) -> None:
    """Make East hold `units` of the benchmark's SKU, as a stock count at the WMS reports it
    (its `inventory.updated` webhook), so no order of the run waits for stock."""
    async with httpx.AsyncClient(timeout=10, base_url=stack.gateway_url) as http:
        response = await http.post(f"{wms}/_sandbox/stock", json={"east": {SKU: units}})
        response.raise_for_status()
        headers = {"Authorization": f"Bearer {TOKEN}"}
        for _ in range(100):
            view = (await http.get(f"/api/inventory/{SKU}", headers=headers)).json()
            if any(level["location"] == "east" and level["onHand"] == units for level in view["locations"]):
                return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the ledger never saw {units} units of {SKU} at east")


def lift_rate_limits(config_path: Path, channels: tuple[str, ...]) -> dict[str, float]:
    """Remove the API rate limit of `channels` from the stack's configuration; returns the
    limits removed, to print."""
    config = yaml.safe_load(config_path.read_text())
    lifted = {}
    for channel in config["channels"]:
        if channel["id"] in channels and channel.get("rate_limit_per_second") is not None:
            lifted[channel["id"]] = channel.pop("rate_limit_per_second")
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return lifted


@dataclass
class BenchStack:
    stack: Stack
    storefront: str  # the storefront sandbox's base URL
    client: Client
    metrics_url: str  # the dev server's counters (Prometheus text)
    lifted: dict[str, float]  # the API rate limits lifted, by channel


@contextlib.asynccontextmanager
async def bench_stack(units: int, dynamic_config: Sequence[str] = ()) -> AsyncIterator[BenchStack]:
    """A started stack for a benchmark, stopped however the block ends: the WMS ships at once,
    the API rate limits of the benchmark's channels are lifted, East holds `units` of the
    benchmark's SKU, both order paths are warmed up. `dynamic_config`: `key=value` settings the
    dev server gets on top of Orderloop's."""
    with tempfile.TemporaryDirectory() as tmp:
        stack = make_stack(Path(tmp), **{"wms.ship_delay": "0", "wms.partial_ratio": "0"})
        lifted = lift_rate_limits(stack.config_path, UNTHROTTLED)
        metrics_port = free_port()
        stack.temporal_args = ["--metrics-port", str(metrics_port)]
        for setting in dynamic_config:
            stack.temporal_args += ["--dynamic-config-value", setting]
        try:
            await stack.start()
            config = load_config(stack.config_path)
            storefront = config.channel("storefront").base_url
            await stock_for(stack, config.channel("wms").base_url, units)
            # Warm up both paths so start-up costs do not count.
            await orderloop_run(stack.gateway_url, storefront, 10, 5)
            client = await connect(stack.address)
            await bare_run(client, 10, 5)
            await asyncio.sleep(3)  # the server reports its counters every second or so
            yield BenchStack(stack, storefront, client, f"http://127.0.0.1:{metrics_port}/metrics", lifted)
        finally:
            stack.stop()


def cpu_line(before: dict[str, float], after: dict[str, float], orders: int) -> str:
    return ", ".join(f"{name} {(after[name] - before[name]) / orders * 1000:.1f}" for name in after)


async def server_requests(metrics_url: str) -> defaultdict[str, float]:
    """The dev server's request counters: every request a client or worker made to its frontend
    (default namespace), by operation, and its persistence requests by operation (keyed
    `PERSISTENCE_PREFIX + operation`)."""
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(metrics_url)).text
    counts: defaultdict[str, float] = defaultdict(float)
    for line in text.splitlines():
        name, _, rest = line.partition("{")
        labels, _, value = rest.rpartition("} ")
        if 'operation="' not in labels:
            continue
        operation = labels.split('operation="')[1].split('"')[0]
        if name == "service_requests" and 'service_name="frontend"' in labels and 'namespace="default"' in labels:
            counts[operation] += float(value)
        elif name == "persistence_requests":
            counts[PERSISTENCE_PREFIX + operation] += float(value)
    return counts


def requests_line(before: defaultdict[str, float], after: defaultdict[str, float], orders: int) -> str:
    """The frontend's requests per order by operation, then all persistence requests per order."""
    per_order = {name: (after[name] - before[name]) / orders for name in after}
    persistence = sum(n for name, n in per_order.items() if name.startswith(PERSISTENCE_PREFIX))
    shown = sorted(
        (name for name, n in per_order.items() if n >= 0.05 and not name.startswith(PERSISTENCE_PREFIX)),
        key=str.lower,
    )
    return ", ".join([*(f"{name} {per_order[name]:.2f}" for name in shown), f"persistence (all) {persistence:.2f}"])


async def measured(
    stack: Any, run: Coroutine[Any, Any, dict[str, Any]], orders: int, own: str, metrics_url: str
) -> tuple[dict[str, Any], str, str]:
    """Run one measurement; returns its results, the CPU milliseconds per order of every
    process meanwhile (this process counted as `own`) and the server requests per order."""
    before = stack_cpu(stack) | {own: own_cpu()}
    requests_before = await server_requests(metrics_url)
    result = await run
    after = stack_cpu(stack) | {own: own_cpu()}
    await asyncio.sleep(3)  # the tail of one run (closing workflows) stays out of the next
    requests = requests_line(requests_before, await server_requests(metrics_url), orders)
    return result, cpu_line(before, after, orders), requests


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5, help="rounds; they alternate which runs first")
    parser.add_argument("--accept-rate", type=float, default=5, help="webhooks per second offered")
    parser.add_argument("--accept-seconds", type=float, default=10)
    args = parser.parse_args()
    rounds: list[tuple[dict[str, dict[str, Any]], dict[str, str], dict[str, str]]] = []
    units = args.rounds * args.orders + args.accept_rate * args.accept_seconds
    async with bench_stack(int(units) + 1000) as bench:
        runs: dict[str, Callable[[], Coroutine[Any, Any, dict[str, Any]]]] = {
            name: functools.partial(bare_run, bench.client, args.orders, args.concurrency, **options)
            for name, options in BARE_VARIANTS.items()
        }
        runs[ORDERLOOP] = functools.partial(
            orderloop_run, bench.stack.gateway_url, bench.storefront, args.orders, args.concurrency
        )
        for n in range(args.rounds):
            # The server's file grows through the benchmark, and its CPU per order with it:
            # rounds alternate between bare first and Orderloop first, so neither always
            # runs on the larger file. Orderloop runs next to the two bare shapes its ratios
            # are taken against: this machine's speed drifts within minutes (the same bare
            # shape's server CPU per order moved 85 -> 131 ms between two rounds), and a ratio
            # of two runs far apart measured the drift.
            order = (
                [BARE, FIVE, ORDERLOOP, ON_OWN_QUEUE, WITH_COMMANDS]
                if n % 2 == 0
                else [ORDERLOOP, FIVE, BARE, ON_OWN_QUEUE, WITH_COMMANDS]
            )
            results: dict[str, dict[str, Any]] = {}
            cpu: dict[str, str] = {}
            requests: dict[str, str] = {}
            for name in order:
                own = "bench (client)" if name == ORDERLOOP else "bench (bare worker+client)"
                results[name], cpu[name], requests[name] = await measured(
                    bench.stack, runs[name](), args.orders, own, bench.metrics_url
                )
            rounds.append((results, cpu, requests))
        started = await start_latency(bench.client, args.accept_rate, args.accept_seconds)
        accepted = await accept_latency(bench.stack.gateway_url, args.accept_rate, args.accept_seconds)
    print(
        "API rate limits lifted for the benchmark (its sandboxes do not limit): "
        + ", ".join(f"{channel} {limit:g}/s" for channel, limit in bench.lifted.items())
    )
    for n, (results, cpu, requests) in enumerate(rounds, 1):
        first = "Orderloop" if next(iter(results)) == ORDERLOOP else "bare"
        print(f"round {n} ({first} first):")
        print(table({name: results[name] for name in (ORDERLOOP, *BARE_VARIANTS)}))
        for name, line in cpu.items():
            print(f"CPU ms per order, {name}: {line}")
        for name, line in requests.items():
            print(f"server requests per order, {name}: {line}")
        ours = results[ORDERLOOP]["per_second"]
        print(
            "ratio orderloop / "
            + "; orderloop / ".join(f"{name}: {ours / results[name]['per_second']:.2f}" for name in BARE_VARIANTS)
            + "\n"
        )
    accept_p50, accept_p99 = percentile(accepted, 50) * 1000, percentile(accepted, 99) * 1000
    start_p50, start_p99 = percentile(started, 50) * 1000, percentile(started, 99) * 1000
    print(f"gateway accept latency at {args.accept_rate:g} webhooks/s for {args.accept_seconds:g} s:")
    print("| call | p50 ms | p99 ms |\n| --- | ---: | ---: |")
    print(f"| signed webhook -> 202 (gateway) | {accept_p50:.1f} | {accept_p99:.1f} |")
    print(f"| bare start_workflow | {start_p50:.1f} | {start_p99:.1f} |")
    print(f"accept / bare start ratio: p50 {accept_p50 / start_p50:.2f}, p99 {accept_p99 / start_p99:.2f}")
    print()
    for name, label in ((FIVE, "bare (five activities, one signal)"), (BARE, "bare with its steps local")):
        ratios = [results[ORDERLOOP]["per_second"] / results[name]["per_second"] for results, _, _ in rounds]
        print(
            f"throughput ratio orderloop / {label}: {statistics.median(ratios):.2f} (median of {len(ratios)} "
            f"rounds: {', '.join(f'{r:.2f}' for r in ratios)}; {args.orders} orders, concurrency {args.concurrency})"
        )


if __name__ == "__main__":
    event_loop.run(main())
