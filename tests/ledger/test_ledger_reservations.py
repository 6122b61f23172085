"""Reservations, releases and shipment commits: all-or-none, idempotent, bundles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from orderloop.ledger import (
    Cause,
    CauseKind,
    EventKind,
    Ledger,
    Product,
    ReservationConflict,
    ReservationLine,
    ReservationState,
    Shortage,
    UnknownReservation,
)

Uid = Callable[[str], str]


def line(line_id: str, sku: str, quantity: int, location: str = "east") -> ReservationLine:
    return ReservationLine(line_id=line_id, sku=sku, location_id=location, quantity=quantity)


async def reserved_at(ledger: Ledger, sku: str, location: str = "east") -> int:
    return next(s.reserved for s in await ledger.stock(sku) if s.location_id == location)


async def test_an_order_reserves_every_line_in_one_go(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    a, b, order = uid("a"), uid("b"), uid("order")
    await ledger.receive(a, "east", 5, cause)
    await ledger.receive(b, "west", 5, cause)
    result = await ledger.reserve(order, [line("1", a, 2), line("2", b, 3, "west")], cause)
    assert (result.reserved, result.already_reserved, result.shortages) == (True, False, [])
    assert await reserved_at(ledger, a) == 2
    assert await reserved_at(ledger, b, "west") == 3
    held = await ledger.reservations(order)
    assert {(r.line_id, r.sku, r.quantity, r.state) for r in held} == {
        ("1", a, 2, ReservationState.OPEN),
        ("2", b, 3, ReservationState.OPEN),
    }
    assert [(e.kind, e.delta) for e in await ledger.events(a)][-1] == (EventKind.RESERVE, 2)


async def test_a_shortage_on_one_line_reserves_nothing(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    a, b, order = uid("a"), uid("b"), uid("order")
    await ledger.receive(a, "east", 5, cause)
    await ledger.receive(b, "east", 1, cause)
    missing = uid("missing")
    result = await ledger.reserve(order, [line("1", a, 2), line("2", b, 3), line("3", missing, 1)], cause)
    assert not result.reserved
    assert sorted(result.shortages, key=lambda s: s.sku) == sorted(
        [
            Shortage(sku=b, location_id="east", requested=3, available=1, line_ids=["2"]),
            Shortage(sku=missing, location_id="east", requested=1, available=0, line_ids=["3"]),
        ],
        key=lambda s: s.sku,
    )
    assert await reserved_at(ledger, a) == 0
    assert await ledger.reservations(order) == []


async def test_lines_of_the_same_sku_are_checked_together(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku, order = uid("sku"), uid("order")
    await ledger.receive(sku, "east", 3, cause)
    result = await ledger.reserve(order, [line("1", sku, 2), line("2", sku, 2)], cause)
    assert result.shortages == [Shortage(sku=sku, location_id="east", requested=4, available=3, line_ids=["1", "2"])]


async def test_reserving_the_same_lines_again_changes_nothing(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku, order = uid("sku"), uid("order")
    await ledger.receive(sku, "east", 5, cause)
    lines = [line("1", sku, 2)]
    assert not (await ledger.reserve(order, lines, cause)).already_reserved
    events_before = len(await ledger.events(sku))
    again = await ledger.reserve(order, lines, cause)
    assert (again.reserved, again.already_reserved) == (True, True)
    assert await reserved_at(ledger, sku) == 2
    assert len(await ledger.events(sku)) == events_before


async def test_a_retry_with_a_new_line_reserves_only_the_new_line(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku, order = uid("sku"), uid("order")
    await ledger.receive(sku, "east", 5, cause)
    await ledger.reserve(order, [line("1", sku, 2)], cause)
    result = await ledger.reserve(order, [line("1", sku, 2), line("2", sku, 1)], cause)
    assert (result.reserved, result.already_reserved) == (True, False)
    assert await reserved_at(ledger, sku) == 3


async def test_reserving_a_held_line_differently_is_a_conflict(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku, order = uid("sku"), uid("order")
    await ledger.receive(sku, "east", 5, cause)
    await ledger.receive(sku, "west", 5, cause)
    await ledger.reserve(order, [line("1", sku, 2)], cause)
    with pytest.raises(ReservationConflict, match="release it"):
        await ledger.reserve(order, [line("1", sku, 2, "west")], cause)
    with pytest.raises(ReservationConflict):
        await ledger.reserve(order, [line("1", sku, 3)], cause)


async def test_a_released_line_can_be_reserved_again_elsewhere(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku, order = uid("sku"), uid("order")
    await ledger.receive(sku, "east", 5, cause)
    await ledger.receive(sku, "west", 5, cause)
    await ledger.reserve(order, [line("1", sku, 2)], cause)
    assert await ledger.release(order, ["1"], cause) == 2
    result = await ledger.reserve(order, [line("1", sku, 2, "west")], cause)
    assert (result.reserved, result.already_reserved) == (True, False)
    assert await reserved_at(ledger, sku) == 0
    assert await reserved_at(ledger, sku, "west") == 2
    assert [(r.location_id, r.state) for r in await ledger.reservations(order)] == [("west", ReservationState.OPEN)]


async def test_release_frees_open_units_once(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku, order = uid("sku"), uid("order")
    await ledger.receive(sku, "east", 5, cause)
    await ledger.reserve(order, [line("1", sku, 2), line("2", sku, 1)], cause)
    assert await ledger.release(order, ["2"], cause) == 1
    assert await ledger.release(order, ["2"], cause) == 0
    assert await reserved_at(ledger, sku) == 2
    assert await ledger.release(order, None, cause) == 2
    assert await ledger.release(order, None, cause) == 0
    assert await reserved_at(ledger, sku) == 0
    assert {r.state for r in await ledger.reservations(order)} == {ReservationState.RELEASED}
    releases = [e.delta for e in await ledger.events(sku) if e.kind is EventKind.RELEASE]
    assert releases == [-1, -2]


async def test_release_of_an_unknown_order_releases_nothing(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    assert await ledger.release(uid("order"), None, cause) == 0


async def test_commit_ships_reserved_units_once_per_shipment(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku, order = uid("sku"), uid("order")
    await ledger.receive(sku, "east", 5, cause)
    await ledger.reserve(order, [line("1", sku, 3)], cause)
    assert await ledger.commit_shipment(order, "s1", [("1", 2)], cause) is True
    assert await ledger.commit_shipment(order, "s1", [("1", 2)], cause) is False
    [level] = await ledger.stock(sku)
    assert (level.on_hand, level.reserved, level.available) == (3, 1, 2)
    [held] = await ledger.reservations(order)
    assert (held.committed, held.state) == (2, ReservationState.OPEN)
    assert await ledger.commit_shipment(order, "s2", [("1", 1)], cause) is True
    [held] = await ledger.reservations(order)
    assert (held.committed, held.state) == (3, ReservationState.COMMITTED)
    assert await ledger.release(order, None, cause) == 0
    ships = [e.delta for e in await ledger.events(sku) if e.kind is EventKind.SHIP]
    assert ships == [-2, -1]


async def test_commit_leaves_availability_as_it_was_and_writes_no_outbox_row(
    ledger: Ledger, uid: Uid, cause: Cause
) -> None:
    sku, order = uid("sku"), uid("order")
    await ledger.receive(sku, "east", 5, cause)
    await ledger.reserve(order, [line("1", sku, 2)], cause)
    available = await ledger.available([sku])
    cursor = await ledger.outbox_head()
    assert await ledger.commit_shipment(order, "s1", [("1", 2)], cause) is True
    # The reservation told every channel already; a push after the commit would repeat it.
    assert await ledger.available([sku]) == available == {(sku, "east"): 3}
    assert [row.sku for row in await ledger.outbox_after(cursor, 100) if row.sku == sku] == []


async def test_a_partly_shipped_line_releases_only_the_rest(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku, order = uid("sku"), uid("order")
    await ledger.receive(sku, "east", 5, cause)
    await ledger.reserve(order, [line("1", sku, 3)], cause)
    await ledger.commit_shipment(order, "s1", [("1", 1)], cause)
    assert await ledger.release(order, None, cause) == 2
    [held] = await ledger.reservations(order)
    assert (held.committed, held.released, held.state) == (1, 2, ReservationState.RELEASED)
    [level] = await ledger.stock(sku)
    assert (level.on_hand, level.reserved) == (4, 0)


async def test_the_rest_of_a_partly_shipped_line_can_be_reserved_elsewhere(
    ledger: Ledger, uid: Uid, cause: Cause
) -> None:
    sku, order = uid("sku"), uid("order")
    await ledger.receive(sku, "east", 5, cause)
    await ledger.receive(sku, "west", 5, cause)
    await ledger.reserve(order, [line("1", sku, 3)], cause)
    await ledger.commit_shipment(order, "ship-1", [("1", 1)], cause)
    # While units are still open at east, reserving the line elsewhere is a conflict.
    with pytest.raises(ReservationConflict):
        await ledger.reserve(order, [line("1", sku, 2, "west")], cause)
    await ledger.release(order, ["1"], cause)
    result = await ledger.reserve(order, [line("1", sku, 2, "west")], cause)
    assert result.reserved and not result.already_reserved
    again = await ledger.reserve(order, [line("1", sku, 2, "west")], cause)
    assert again.reserved and again.already_reserved
    [row] = await ledger.reservations(order)
    assert (row.location_id, row.committed, row.released, row.open_quantity) == ("west", 1, 2, 2)
    assert await reserved_at(ledger, sku, "east") == 0 and await reserved_at(ledger, sku, "west") == 2
    await ledger.commit_shipment(order, "ship-2", [("1", 2)], cause)
    [row] = await ledger.reservations(order)
    # Closed: every unit is shipped now (the 2 released at east were reserved again at west).
    assert (row.committed, row.open_quantity) == (3, 0) and row.state is not ReservationState.OPEN
    levels = {s.location_id: (s.on_hand, s.reserved) for s in await ledger.stock(sku)}
    assert levels == {"east": (4, 0), "west": (3, 0)}
    assert await ledger.check_invariants() == []


async def test_shipping_more_than_reserved_commits_the_reservation_and_records_the_rest(
    ledger: Ledger, uid: Uid, cause: Cause
) -> None:
    sku, order = uid("sku"), uid("order")
    await ledger.receive(sku, "east", 10, cause)
    await ledger.reserve(order, [line("1", sku, 2)], cause)
    assert await ledger.commit_shipment(order, "s1", [("1", 3)], cause)
    [level] = await ledger.stock(sku)
    assert (level.on_hand, level.reserved) == (8, 0)
    tail = [(e.kind, e.delta) for e in await ledger.events(sku, limit=2)]
    assert tail == [(EventKind.SHIP, -2), (EventKind.OVERSHIP, -1)]


async def test_a_shipment_after_cancellation_is_recorded_not_applied(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku, order = uid("sku"), uid("order")
    await ledger.receive(sku, "east", 4, cause)
    await ledger.reserve(order, [line("1", sku, 2)], cause)
    await ledger.release(order, None, cause)
    assert await ledger.commit_shipment(order, "late", [("1", 2)], cause)
    [level] = await ledger.stock(sku)
    assert (level.on_hand, level.reserved) == (4, 0)
    assert (await ledger.events(sku, limit=1))[0].kind is EventKind.OVERSHIP


async def test_committing_a_line_that_was_never_reserved_is_refused(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku, order = uid("sku"), uid("order")
    await ledger.receive(sku, "east", 4, cause)
    await ledger.reserve(order, [line("1", sku, 2)], cause)
    with pytest.raises(UnknownReservation, match="line\\(s\\) 9"):
        await ledger.commit_shipment(order, "s1", [("1", 1), ("9", 1)], cause)
    # Refused as a whole, so the same shipment can be committed once corrected.
    assert await ledger.commit_shipment(order, "s1", [("1", 1)], cause)


async def test_a_bundle_line_reserves_ships_and_releases_its_components(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    mug, lid, kit, order = uid("mug"), uid("lid"), uid("kit"), uid("order")
    await ledger.define_products([Product(sku=kit, components={mug: 2, lid: 1})])
    await ledger.receive(mug, "east", 10, cause)
    await ledger.receive(lid, "east", 10, cause)
    assert (await ledger.reserve(order, [line("1", kit, 3)], cause)).reserved
    assert (await reserved_at(ledger, mug), await reserved_at(ledger, lid)) == (6, 3)
    assert (await ledger.available([kit]))[(kit, "east")] == 2
    held = {r.sku: r for r in await ledger.reservations(order)}
    assert {s: (r.line_sku, r.units_per_line, r.quantity) for s, r in held.items()} == {
        mug: (kit, 2, 6),
        lid: (kit, 1, 3),
    }
    again = await ledger.reserve(order, [line("1", kit, 3)], cause)
    assert again.already_reserved
    assert await ledger.commit_shipment(order, "s1", [("1", 1)], cause)
    levels = {s: (await ledger.stock(s))[0] for s in (mug, lid)}
    assert (levels[mug].on_hand, levels[mug].reserved) == (8, 4)
    assert (levels[lid].on_hand, levels[lid].reserved) == (9, 2)
    assert await ledger.release(order, None, cause) == 6
    assert (await reserved_at(ledger, mug), await reserved_at(ledger, lid)) == (0, 0)


async def test_a_bundle_short_of_one_component_reserves_nothing(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    mug, lid, kit, order = uid("mug"), uid("lid"), uid("kit"), uid("order")
    await ledger.define_products([Product(sku=kit, components={mug: 2, lid: 1})])
    await ledger.receive(mug, "east", 10, cause)
    await ledger.receive(lid, "east", 1, cause)
    result = await ledger.reserve(order, [line("1", kit, 2)], cause)
    assert result.shortages == [Shortage(sku=lid, location_id="east", requested=2, available=1, line_ids=["1"])]
    assert await reserved_at(ledger, mug) == 0


async def test_a_line_id_twice_in_one_request_is_refused(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku = uid("sku")
    with pytest.raises(ReservationConflict, match="twice"):
        await ledger.reserve(uid("order"), [line("1", sku, 1), line("1", sku, 2)], cause)


async def test_invariants_hold_after_these_tests(ledger: Ledger) -> None:
    assert await ledger.check_invariants() == []


async def test_orders_reserved_since_counts_distinct_orders_per_location(
    ledger: Ledger, uid: Uid, cause: Cause
) -> None:
    sku, east, west = uid("cap"), uid("east"), uid("west")
    await ledger.receive(sku, east, 10, cause)
    await ledger.receive(sku, west, 10, cause)
    since = datetime.now(UTC) - timedelta(seconds=1)
    first, second = uid("o1"), uid("o2")
    # Two lines of one order at east count once; released later, the order still counts.
    two_lines = [line("1", sku, 1, east), line("2", sku, 1, east)]
    await ledger.reserve(first, two_lines, Cause(kind=CauseKind.ORDER, ref=first))
    await ledger.reserve(second, [line("1", sku, 2, west)], Cause(kind=CauseKind.ORDER, ref=second))
    await ledger.release(first, None, Cause(kind=CauseKind.ORDER, ref=first))
    assert await ledger.orders_reserved_since(since, [east, west]) == {east: 1, west: 1}
    assert await ledger.orders_reserved_since(since, [east]) == {east: 1}
    assert await ledger.orders_reserved_since(datetime.now(UTC) + timedelta(seconds=5), [east, west]) == {}
