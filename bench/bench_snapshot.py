"""Ledger benchmark: time to apply a 50,000-SKU stock snapshot (first load, then ~10% changed)
and reservation throughput, on SQLite and PostgreSQL. Run `python -m bench.bench_snapshot`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from orderloop.ledger import Cause, CauseKind, Ledger, ReservationLine, SnapshotRow

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
WMS = Cause(kind=CauseKind.FULFILLMENT_CHANNEL, ref="bench-wms")


async def timed(step: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await step()
    return time.perf_counter() - start


async def measure(ledger: Ledger, skus: int, orders: int, concurrency: int) -> dict[str, str]:
    rng = random.Random(7)
    first = [SnapshotRow(sku=f"SKU-{i:06d}", on_hand=rng.randint(0, 500)) for i in range(skus)]
    second = [SnapshotRow(sku=r.sku, on_hand=r.on_hand + 1) if rng.random() < 0.1 else r for r in first]
    results: dict[str, str] = {}
    load = await timed(lambda: ledger.apply_snapshot("bench", first, WMS))
    results[f"snapshot {skus:,} SKUs, first load"] = f"{load:.2f} s"
    delta = await timed(lambda: ledger.apply_snapshot("bench", second, WMS))
    results[f"snapshot {skus:,} SKUs, ~10% changed"] = f"{delta:.2f} s"
    same = await timed(lambda: ledger.apply_snapshot("bench", second, WMS))
    results[f"snapshot {skus:,} SKUs, unchanged"] = f"{same:.2f} s"

    hot = [r.sku for r in second[:200]]
    for sku in hot:
        await ledger.receive(sku, "bench", 10_000, WMS)
    tag = uuid.uuid4().hex[:6]

    async def place(n: int) -> None:
        lines = [
            ReservationLine(line_id=str(k), sku=rng.choice(hot), location_id="bench", quantity=1) for k in range(1, 3)
        ]
        await ledger.reserve(f"order/bench/{tag}-{n}", lines, Cause(kind=CauseKind.ORDER, ref="b"))

    serial = await timed(lambda: _run(place, range(orders), 1))
    results["reserve, 2-line orders, one at a time"] = f"{orders / serial:,.0f} orders/s"
    parallel = await timed(lambda: _run(place, range(orders, 2 * orders), concurrency))
    results[f"reserve, 2-line orders, {concurrency} concurrent"] = f"{orders / parallel:,.0f} orders/s"
    problems = await ledger.check_invariants()
    results["check_invariants"] = "ok" if not problems else f"{len(problems)} problems"
    return results


async def _run(job: Callable[[int], Awaitable[None]], items: range, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            await job(n)

    await asyncio.gather(*(one(n) for n in items))


Figures = Callable[[Ledger], Awaitable[dict[str, str]]]


async def sqlite_figures(figures: Figures) -> dict[str, str]:
    """`figures` of a fresh SQLite ledger in a temporary directory."""
    with tempfile.TemporaryDirectory() as tmp:
        ledger = await Ledger.open(f"sqlite:///{Path(tmp) / 'ledger.db'}")
        try:
            return await figures(ledger)
        finally:
            await ledger.close()


async def postgres_figures(url: str, figures: Figures) -> dict[str, str]:
    """`figures` of a fresh PostgreSQL ledger in a schema of its own, dropped afterwards; a
    `skipped` row with the reason when PostgreSQL is unreachable."""
    sa_url = make_url(url)
    try:
        socket.create_connection((sa_url.host or "127.0.0.1", sa_url.port or 5432), 2).close()
    except OSError as exc:
        return {"skipped": f"PostgreSQL unreachable at {sa_url.host}:{sa_url.port} ({exc})"}
    dsn = sa_url.set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        ledger = await Ledger.open(url, schema=schema)
        try:
            return await figures(ledger)
        finally:
            await ledger.close()
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skus", type=int, default=50_000)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    args = parser.parse_args()

    async def figures(ledger: Ledger) -> dict[str, str]:
        return await measure(ledger, args.skus, args.orders, args.concurrency)

    print_columns(
        {
            "SQLite (WAL)": await sqlite_figures(figures),
            "PostgreSQL": await postgres_figures(args.postgres_url, figures),
        }
    )


def print_columns(columns: dict[str, dict[str, str]]) -> None:
    """One row per figure, one column per database."""
    rows = list(dict.fromkeys(key for figures in columns.values() for key in figures))
    width = max(len(row) for row in rows)
    print(f"{'':{width}}  " + "  ".join(f"{name:>18}" for name in columns))
    for row in rows:
        cells = "  ".join(f"{figures.get(row, ''):>18}" for figures in columns.values())
        print(f"{row:{width}}  {cells}")


if __name__ == "__main__":
    asyncio.run(main())
