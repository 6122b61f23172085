"""Property tests of the ledger's invariants over random sequences of receive, adjust, reserve,
release, ship and snapshot: nothing negative, reserved equals the open reservations, the events
replay to the stock, a refused operation changes nothing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orderloop.ledger import (
    Cause,
    CauseKind,
    EventKind,
    InsufficientStock,
    Ledger,
    Product,
    ReservationConflict,
    ReservationLine,
    SnapshotRow,
    UnknownReservation,
)

PLAIN = ["a", "b"]
BUNDLE = "kit"
LOCATIONS = ["east", "west"]
LINE_IDS = ["1", "2"]
OPERATOR = Cause(kind=CauseKind.OPERATOR, ref="property")
ON_HAND_KINDS = {EventKind.RECEIVE, EventKind.ADJUST, EventKind.SNAPSHOT, EventKind.SHIP}
RESERVED_KINDS = {EventKind.RESERVE, EventKind.RELEASE, EventKind.SHIP}

plain = st.sampled_from(PLAIN)
location = st.sampled_from(LOCATIONS)
order = st.integers(0, 1)
receive = st.tuples(st.just("receive"), plain, location, st.integers(1, 6))
adjust = st.tuples(st.just("adjust"), plain, location, st.integers(-4, 4).filter(bool))
reserve = st.tuples(
    st.just("reserve"),
    order,
    st.lists(
        st.tuples(st.sampled_from([*PLAIN, BUNDLE]), location, st.integers(1, 3)),
        min_size=1,
        max_size=2,
    ),
)
release = st.tuples(st.just("release"), order, st.none() | st.lists(st.sampled_from(LINE_IDS), max_size=2))
# Mostly line "1", which every reserved order has, so that shipments often apply.
ship = st.tuples(
    st.just("ship"),
    order,
    st.integers(0, 2),
    st.lists(st.tuples(st.sampled_from(["1", "1", "1", "2"]), st.integers(1, 3)), min_size=1, max_size=2),
)
snapshot = st.tuples(st.just("snapshot"), location, st.dictionaries(plain, st.integers(0, 8), min_size=1))
operations = st.one_of(receive, adjust, reserve, reserve, release, ship, ship, ship, snapshot)


class Run:
    """One example's world: its own SKUs and orders, so examples never see each other."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        tag = uuid.uuid4().hex[:10]
        self.sku = {name: f"p-{tag}-{name}" for name in [*PLAIN, BUNDLE]}
        self.orders = [f"order/p-{tag}/{n}" for n in range(2)]

    async def stock(self) -> dict[tuple[str, str], tuple[int, int]]:
        found = {}
        for name in PLAIN:
            for level in await self.ledger.stock(self.sku[name]):
                found[(level.sku, level.location_id)] = (level.on_hand, level.reserved)
        return found

    async def apply(self, op: tuple[Any, ...]) -> None:
        ledger, sku = self.ledger, self.sku
        kind = op[0]
        if kind == "receive":
            await ledger.receive(sku[op[1]], op[2], op[3], OPERATOR)
        elif kind == "adjust":
            before = await self.stock()
            try:
                await ledger.adjust(sku[op[1]], op[2], op[3], OPERATOR)
            except InsufficientStock:
                assert await self.stock() == before
        elif kind == "reserve":
            lines = [
                ReservationLine(line_id=LINE_IDS[i], sku=sku[name], location_id=loc, quantity=q)
                for i, (name, loc, q) in enumerate(op[2])
            ]
            before = await self.stock()
            try:
                result = await ledger.reserve(self.orders[op[1]], lines, OPERATOR)
            except ReservationConflict:
                assert await self.stock() == before
                return
            if not result.reserved or result.already_reserved:
                assert await self.stock() == before
        elif kind == "release":
            await ledger.release(self.orders[op[1]], op[2], OPERATOR)
        elif kind == "ship":
            before = await self.stock()
            try:
                shipped = await ledger.commit_shipment(self.orders[op[1]], f"s{op[2]}", op[3], OPERATOR)
            except UnknownReservation:
                assert await self.stock() == before
                return
            if not shipped:
                assert await self.stock() == before
        elif kind == "snapshot":
            rows = [SnapshotRow(sku=sku[name], on_hand=q) for name, q in op[2].items()]
            await ledger.apply_snapshot(op[1], rows, OPERATOR)

    async def check(self) -> None:
        stock = await self.stock()
        for on_hand, reserved in stock.values():
            assert 0 <= reserved <= on_hand
        # Reserved equals the open reservations of this run's orders.
        held: dict[tuple[str, str], int] = defaultdict(int)
        for order_id in self.orders:
            for r in await self.ledger.reservations(order_id):
                assert r.open_quantity >= 0
                held[(r.sku, r.location_id)] += r.open_quantity
        assert {k: v for k, v in held.items() if v} == {k: r for k, (_, r) in stock.items() if r}
        # Every change has an event: replaying the events gives the stock.
        replayed: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for name in PLAIN:
            for e in await self.ledger.events(self.sku[name], limit=100_000):
                key = (e.sku, e.location_id)
                replayed[key][0] += e.delta if e.kind in ON_HAND_KINDS else 0
                replayed[key][1] += e.delta if e.kind in RESERVED_KINDS else 0
        assert {k: tuple(v) for k, v in replayed.items()} == stock


@settings(max_examples=30, deadline=None)
@given(
    opening=st.lists(st.integers(0, 8), min_size=4, max_size=4),
    ops=st.lists(operations, min_size=8, max_size=20),
)
async def test_random_operations_keep_the_ledger_consistent(
    ledger: Ledger, opening: list[int], ops: list[tuple[Any, ...]]
) -> None:
    run = Run(ledger)
    parts = {run.sku["a"]: 2, run.sku["b"]: 1}
    await ledger.define_products([Product(sku=run.sku[BUNDLE], components=parts)])
    # Opening stock, so that reservations and shipments often succeed.
    pairs = [(name, loc) for name in PLAIN for loc in LOCATIONS]
    for (name, loc), quantity in zip(pairs, opening, strict=True):
        if quantity:
            await ledger.receive(run.sku[name], loc, quantity, OPERATOR)
    for op in ops:
        await run.apply(op)
        await run.check()
    assert await ledger.check_invariants() == []
