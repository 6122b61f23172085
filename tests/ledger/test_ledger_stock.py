"""Opening the ledger, stock movements and reads, events and the invariant check, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from orderloop.ledger import (
    BundleHasNoStock,
    Cause,
    CauseKind,
    EventKind,
    InsufficientStock,
    InvalidQuantity,
    Ledger,
    LedgerError,
    Product,
    ReservationLine,
)
from orderloop.model import StockLevel

Uid = Callable[[str], str]


async def test_open_creates_the_sqlite_directory_and_reopens_at_the_same_version(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/nested/dir/ledger.db"
    first = await Ledger.open(url)
    await first.close()
    again = await Ledger.open(url)
    assert again.dialect == "sqlite"
    assert (tmp_path / "nested" / "dir" / "ledger.db").exists()
    await again.close()


async def test_two_processes_opening_a_new_database_at_once_migrate_it_once(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    ledgers = await asyncio.gather(*(Ledger.open(url) for _ in range(4)))
    assert await ledgers[0].check_invariants() == []
    for opened in ledgers:
        await opened.close()


async def test_an_unsupported_database_url_is_refused_with_the_supported_ones() -> None:
    with pytest.raises(LedgerError, match=r"sqlite:.*postgresql\+asyncpg"):
        await Ledger.open("mysql+aiomysql://localhost/x")


async def test_dialect_names_the_database(ledger: Ledger) -> None:
    assert ledger.dialect in {"sqlite", "postgresql"}


async def test_receive_adds_on_hand_and_records_an_event(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku = uid("sku")
    await ledger.receive(sku, "east", 5, cause)
    await ledger.receive(sku, "east", 3, cause)
    await ledger.receive(sku, "west", 2, cause)
    assert await ledger.stock(sku) == [
        StockLevel(sku=sku, location_id="east", on_hand=8, reserved=0, available=8),
        StockLevel(sku=sku, location_id="west", on_hand=2, reserved=0, available=2),
    ]
    moves = await ledger.events(sku)
    assert [(e.kind, e.location_id, e.delta) for e in moves] == [
        (EventKind.RECEIVE, "east", 5),
        (EventKind.RECEIVE, "east", 3),
        (EventKind.RECEIVE, "west", 2),
    ]
    assert moves[0].cause == cause
    assert moves[0].at.tzinfo is not None


async def test_receive_refuses_a_non_positive_quantity(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    with pytest.raises(InvalidQuantity):
        await ledger.receive(uid("sku"), "east", 0, cause)


async def test_adjust_corrects_on_hand_both_ways(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku = uid("sku")
    await ledger.adjust(sku, "east", 4, cause)
    await ledger.adjust(sku, "east", -3, cause)
    assert (await ledger.stock(sku))[0].on_hand == 1
    assert [e.delta for e in await ledger.events(sku)] == [4, -3]


async def test_adjust_never_goes_below_zero(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku = uid("sku")
    await ledger.receive(sku, "east", 2, cause)
    with pytest.raises(InsufficientStock, match="below zero or below the reserved"):
        await ledger.adjust(sku, "east", -3, cause)
    with pytest.raises(InsufficientStock):
        await ledger.adjust(uid("never-stocked"), "east", -1, cause)
    assert (await ledger.stock(sku))[0].on_hand == 2


async def test_adjust_never_goes_below_reserved(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku, order = uid("sku"), uid("order")
    await ledger.receive(sku, "east", 5, cause)
    line = ReservationLine(line_id="1", sku=sku, location_id="east", quantity=4)
    assert (await ledger.reserve(order, [line], cause)).reserved
    with pytest.raises(InsufficientStock) as refused:
        await ledger.adjust(sku, "east", -2, cause)
    assert (refused.value.on_hand, refused.value.reserved) == (5, 4)
    await ledger.adjust(sku, "east", -1, cause)
    assert (await ledger.stock(sku))[0].available == 0


async def test_set_inbound_records_the_change_only(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku = uid("sku")
    await ledger.set_inbound(sku, "east", 10, cause)
    await ledger.set_inbound(sku, "east", 10, cause)
    await ledger.set_inbound(sku, "east", 4, cause)
    moves = await ledger.events(sku)
    assert [(e.kind, e.delta) for e in moves] == [(EventKind.INBOUND, 10), (EventKind.INBOUND, -6)]
    assert (await ledger.stock(sku))[0].on_hand == 0


async def test_available_is_on_hand_minus_reserved_per_location(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku, other = uid("sku"), uid("other")
    await ledger.receive(sku, "east", 5, cause)
    await ledger.receive(sku, "west", 2, cause)
    await ledger.receive(other, "west", 1, cause)
    line = ReservationLine(line_id="1", sku=sku, location_id="east", quantity=3)
    await ledger.reserve(uid("order"), [line], cause)
    assert await ledger.available([sku, other]) == {
        (sku, "east"): 2,
        (sku, "west"): 2,
        (other, "west"): 1,
    }
    assert await ledger.available([sku], ["west", "north"]) == {(sku, "west"): 2}


async def test_a_bundle_is_available_as_the_minimum_over_its_components(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    mug, lid, kit = uid("mug"), uid("lid"), uid("kit")
    await ledger.define_products([Product(sku=kit, name="Kit", components={mug: 2, lid: 1})])
    await ledger.receive(mug, "east", 7, cause)
    await ledger.receive(lid, "east", 5, cause)
    await ledger.receive(mug, "west", 4, cause)
    assert await ledger.available([kit]) == {(kit, "east"): 3, (kit, "west"): 0}
    assert await ledger.stock(kit) == [
        StockLevel(sku=kit, location_id="east", on_hand=3, reserved=0, available=3),
        StockLevel(sku=kit, location_id="west", on_hand=0, reserved=0, available=0),
    ]


async def test_stock_cannot_be_moved_on_a_bundle(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    kit = uid("kit")
    await ledger.define_products([Product(sku=kit, components={uid("part"): 1})])
    with pytest.raises(BundleHasNoStock):
        await ledger.receive(kit, "east", 1, cause)
    with pytest.raises(BundleHasNoStock):
        await ledger.adjust(kit, "east", 1, cause)


async def test_events_filter_by_sku_and_keep_the_latest(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku = uid("sku")
    for quantity in range(1, 6):
        await ledger.receive(sku, "east", quantity, cause)
    latest = await ledger.events(sku, limit=2)
    assert [e.delta for e in latest] == [4, 5]
    assert latest[0].id < latest[1].id
    other = Cause(kind=CauseKind.FULFILLMENT_CHANNEL, ref="wms")
    await ledger.receive(sku, "east", 1, other)
    assert (await ledger.events(sku, limit=1))[0].cause == other


async def test_invariants_hold_after_these_tests(ledger: Ledger) -> None:
    assert await ledger.check_invariants() == []
