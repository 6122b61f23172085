"""What a dev-server setting costs the server per order: the embedded dev server as Orderloop
starts it, against the same server with some `--dynamic-config-value` settings overridden (the
server takes the last value given for a key).

Each configuration gets a fresh stack (its own server file, so neither runs on a database the
other has grown), and they alternate, so the machine's drift falls on both. In each stack:
300 bare-shape orders, then 300 Orderloop orders; printed: the server's CPU milliseconds per
order, each run and the medians.

Run: `python -m bench.bench_devserver_flags` (default: the dev server's own default of
re-reading search attribute definitions at every use), or `--set key=value --set ...`."""

from __future__ import annotations

import argparse
import statistics

from bench.bench_e2e import bare_run, bench_stack, orderloop_run, stack_cpu
from orderloop import event_loop

SHIPPED = "as Orderloop starts it"
RUNS = ("bare", "orderloop")


async def server_cpu_per_order(orders: int, settings: list[str]) -> dict[str, float]:
    """A fresh stack whose dev server gets `settings` on top of Orderloop's: the server's CPU ms
    per order for the bare shape, then for Orderloop."""
    async with bench_stack(2 * orders + 100, settings) as bench:
        runs = {
            "bare": lambda: bare_run(bench.client, orders, 30),
            "orderloop": lambda: orderloop_run(bench.stack.gateway_url, bench.storefront, orders, 30),
        }
        cpu = {}
        for name, run in runs.items():
            before = stack_cpu(bench.stack)["temporal"]
            await run()
            cpu[name] = (stack_cpu(bench.stack)["temporal"] - before) / orders * 1000
        return cpu


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--set",
        action="append",
        dest="settings",
        metavar="KEY=VALUE",
        help="a dynamic config value the compared server gets on top of Orderloop's (repeatable)",
    )
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--pairs", type=int, default=3, help="alternations of the two configurations")
    args = parser.parse_args()
    overrides = args.settings or ["system.forceSearchAttributesCacheRefreshOnRead=true"]
    configurations = {SHIPPED: [], f"with {', '.join(overrides)}": overrides}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in configurations}
    for _ in range(args.pairs):
        for name, settings in configurations.items():
            results[name].append(await server_cpu_per_order(args.orders, settings))
            shown = ", ".join(f"{run} {results[name][-1][run]:.1f}" for run in RUNS)
            print(f"{name}: server CPU ms per order: {shown}", flush=True)
    print("\n| dev server | bare ms/order | orderloop ms/order |\n| --- | ---: | ---: |")
    for name, runs in results.items():
        medians = [statistics.median(r[run] for r in runs) for run in RUNS]
        print(f"| {name} | {medians[0]:.1f} | {medians[1]:.1f} |")
    print(f"(medians of {args.pairs} fresh servers each, {args.orders} orders per run)")


if __name__ == "__main__":
    event_loop.run(main())
