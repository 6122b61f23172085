"""No oversell under concurrent orders, and idempotency under concurrent retries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from orderloop.ledger import (
    Cause,
    CauseKind,
    Ledger,
    ReservationLine,
    ReserveResult,
    SnapshotRow,
)

Uid = Callable[[str], str]
CHANNELS = ["shop", "marketplace", "social", "wholesale"]


def one_unit(sku: str) -> list[ReservationLine]:
    return [ReservationLine(line_id="1", sku=sku, location_id="east", quantity=1)]


async def place_orders(ledgers: list[Ledger], sku: str, tag: str) -> list[ReserveResult]:
    """4 channels x 50 orders for one unit each, all at once, spread over `ledgers`."""
    calls = [
        ledgers[n % len(ledgers)].reserve(
            f"order/{channel}/{tag}-{n}", one_unit(sku), Cause(kind=CauseKind.ORDER, ref=channel)
        )
        for channel in CHANNELS
        for n in range(50)
    ]
    return await asyncio.gather(*calls)


def assert_exactly_fifty_reserved(results: list[ReserveResult], sku: str) -> None:
    assert len(results) == 200
    assert sum(r.reserved for r in results) == 50
    shortages = [r for r in results if not r.reserved]
    assert len(shortages) == 150
    assert all(r.shortages[0].sku == sku for r in shortages)


async def test_two_hundred_concurrent_orders_for_fifty_units_reserve_exactly_fifty(
    ledger: Ledger, uid: Uid, cause: Cause
) -> None:
    sku = uid("hot")
    await ledger.receive(sku, "east", 50, cause)
    results = await place_orders([ledger], sku, uid("run"))
    assert_exactly_fifty_reserved(results, sku)
    [level] = await ledger.stock(sku)
    assert (level.on_hand, level.reserved, level.available) == (50, 50, 0)
    assert await ledger.check_invariants() == []


async def test_two_processes_sharing_a_sqlite_file_never_oversell(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    gateway, worker = await Ledger.open(url), await Ledger.open(url)
    try:
        await gateway.receive("hot", "east", 50, Cause(kind=CauseKind.OPERATOR, ref="tests"))
        results = await place_orders([gateway, worker], "hot", "run")
        assert_exactly_fifty_reserved(results, "hot")
        [level] = await worker.stock("hot")
        assert (level.on_hand, level.reserved) == (50, 50)
        assert await gateway.check_invariants() == []
    finally:
        await gateway.close()
        await worker.close()


async def test_concurrent_retries_of_one_reservation_reserve_once(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku, order = uid("sku"), uid("order")
    await ledger.receive(sku, "east", 5, cause)
    lines = [ReservationLine(line_id="1", sku=sku, location_id="east", quantity=3)]
    results = await asyncio.gather(*(ledger.reserve(order, lines, cause) for _ in range(5)))
    assert all(r.reserved for r in results)
    assert sum(not r.already_reserved for r in results) == 1
    assert (await ledger.stock(sku))[0].reserved == 3


async def test_concurrent_retries_of_one_shipment_commit_once(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku, order = uid("sku"), uid("order")
    await ledger.receive(sku, "east", 5, cause)
    await ledger.reserve(order, one_unit(sku), cause)
    calls = (ledger.commit_shipment(order, "s1", [("1", 1)], cause) for _ in range(5))
    assert sorted(await asyncio.gather(*calls)) == [False, False, False, False, True]
    assert (await ledger.stock(sku))[0].on_hand == 4


async def test_concurrent_releases_release_once(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku, order = uid("sku"), uid("order")
    await ledger.receive(sku, "east", 5, cause)
    await ledger.reserve(order, one_unit(sku), cause)
    released = await asyncio.gather(*(ledger.release(order, None, cause) for _ in range(5)))
    assert sorted(released) == [0, 0, 0, 0, 1]
    assert await ledger.check_invariants() == []


async def test_snapshots_running_beside_orders_neither_deadlock_nor_break_invariants(
    ledger: Ledger, uid: Uid, cause: Cause
) -> None:
    skus = [uid(f"sku{i:02d}") for i in range(20)]
    for sku in skus:
        await ledger.receive(sku, "east", 10, cause)
    # Orders take rows in the reverse order of the snapshot's, the classic deadlock shape.
    orders = [
        ledger.reserve(
            uid(f"order{n}"),
            [
                ReservationLine(line_id="1", sku=skus[-1 - n % 20], location_id="east", quantity=1),
                ReservationLine(line_id="2", sku=skus[n % 20], location_id="east", quantity=1),
            ],
            cause,
        )
        for n in range(60)
    ]
    snapshots = [
        ledger.apply_snapshot("east", [SnapshotRow(sku=sku, on_hand=8 + k % 3) for sku in skus], cause)
        for k in range(4)
    ]
    await asyncio.gather(*orders, *snapshots)
    assert await ledger.check_invariants() == []
