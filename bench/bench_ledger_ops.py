"""What each ledger operation of one order costs its process in CPU: the gateway's dedup read
and record, the allocation read, the reservation and the shipment commit in the worker, and an
inventory push's outbox read, availability read and published record. Microseconds of this
process's CPU per call (every thread: the SQLite ledger runs its transactions on threads), one
call at a time, on SQLite and PostgreSQL.

CPU, not wall time: the end-to-end benchmark saturates two cores, so what limits it is the CPU
each order costs. Run: `python -m bench.bench_ledger_ops` (or `make bench`)."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable
from datetime import UTC, datetime

from bench.bench_snapshot import DEFAULT_POSTGRES, postgres_figures, print_columns, sqlite_figures
from orderloop import operations_events
from orderloop.inventory_rules import InventoryRules
from orderloop.ledger import Cause, CauseKind, Ledger, ReservationLine
from orderloop.ledger.availability import channel_quantities
from orderloop.model import Order

SKU = "BENCH-TEE"
ORDER = Cause(kind=CauseKind.ORDER, ref="bench")
RULES = InventoryRules(locations=["east", "west"])


async def per_call(ledger: Ledger, calls: int) -> dict[str, str]:
    await ledger.receive(SKU, "east", 10 * calls, ORDER)
    await ledger.receive(SKU, "west", 10 * calls, ORDER)
    cursor = await ledger.outbox_head()
    spent: defaultdict[str, float] = defaultdict(float)

    async def timed(name: str, call: Awaitable[object]) -> None:
        started = time.process_time()  # the call's work runs when awaited, from here
        await call
        spent[name] += time.process_time() - started

    for n in range(calls):
        order, delivery, external = f"order/bench/{n}", f"delivery-{n}", f"ext-{n}"
        line = ReservationLine(line_id="1", sku=SKU, location_id="east", quantity=1)
        # The gateway: an order webhook (its shipment webhook reads and records nothing).
        await timed("gateway: delivery and order seen?", ledger.inbound_seen("storefront", delivery, external))
        await timed(
            "gateway: record accepted order",
            ledger.record_accepted_order("storefront", external, order, delivery, via="webhook"),
        )
        # The worker: allocate, commit; an inventory push to one channel.
        await timed("worker: allocation view", ledger.allocation_view(order, {SKU}, {"east", "west"}))
        await timed("worker: reserve", ledger.reserve(order, [line], ORDER))
        await timed("worker: commit shipment", ledger.commit_shipment(order, "s1", [("1", 1)], ORDER))
        rows = await ledger.outbox_after(cursor, 500)
        await timed("push: outbox read", ledger.outbox_after(cursor, 500))
        cursor = rows[-1].id if rows else cursor
        await timed("push: availability", channel_quantities(ledger, {SKU}, RULES, None))
        # The inventory sync records its push's row in the published record's transaction.
        now = datetime.now(UTC)
        pushed = operations_events.inventory_pushed(f"push/{n}", "storefront", now, 1, 0.1, True)
        await timed("push: record published", ledger.record_published("storefront", {SKU: n}, [pushed]))
        # The operations record's rows of an ordinary order written by their own transactions
        # (ingest, the shipment commit, the tracking push).
        for name, event in (
            ("record: received", operations_events.received(bench_order(order, external), "storefront", external, now)),
            ("record: shipped", operations_events.shipped(order, "storefront", external, now, now, 1)),
            ("record: tracking pushed", operations_events.tracking_pushed(order, "storefront", external, "s1", now)),
        ):
            await timed(name, ledger.record_operations([event]))
    # The same acceptance and published record without their rows, for the rows' share.
    bare_accept = bare_publish = 0.0
    for n in range(calls):
        started = time.process_time()
        await ledger.record_accepted_order("storefront", f"bare-{n}", f"order/bench/bare-{n}", f"bare-delivery-{n}")
        bare_accept += time.process_time() - started
        started = time.process_time()
        await ledger.record_published("storefront", {SKU: n})
        bare_publish += time.process_time() - started
    for whole, bare, share in (
        ("gateway: record accepted order", bare_accept, "record: accepted (its share of the acceptance)"),
        ("push: record published", bare_publish, "record: inventory push (its share of the published record)"),
    ):
        spent[share] = max(0.0, spent[whole] - bare)
        spent[whole] -= spent[share]
    figures = {name: f"{seconds / calls * 1e6:,.0f} us" for name, seconds in spent.items()}
    record = sum(seconds for name, seconds in spent.items() if name.startswith("record: "))
    figures["operations record, per order"] = f"{record / calls * 1e6:,.0f} us"
    figures["all of the above"] = f"{sum(spent.values()) / calls * 1e6:,.0f} us"
    figures["all but the operations record"] = f"{(sum(spent.values()) - record) / calls * 1e6:,.0f} us"
    return figures


def bench_order(order_id: str, external_id: str) -> Order:
    """One order of one line, as the ingest activity maps it."""
    return Order.model_validate(
        {
            "id": order_id,
            "external_id": external_id,
            "tenant_id": "bench",
            "created_at": datetime.now(UTC),
            "updated_at": datetime.now(UTC),
            "channel_id": "storefront",
            "line_items": [{"id": "1", "sku": SKU, "quantity": 1, "unit_price": "19.00"}],
        }
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=500, help="orders (calls of each operation)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    args = parser.parse_args()

    async def figures(ledger: Ledger) -> dict[str, str]:
        return await per_call(ledger, args.calls)

    print(f"CPU of this process per call, {args.calls} calls each, one at a time:")
    print_columns(
        {
            "SQLite (WAL)": await sqlite_figures(figures),
            "PostgreSQL": await postgres_figures(args.postgres_url, figures),
        }
    )


if __name__ == "__main__":
    asyncio.run(main())
