"""Stock snapshots from fulfillment channels: absolute, bulk, change-only, drift reported."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from orderloop.ledger import (
    Cause,
    CauseKind,
    EventKind,
    InvalidQuantity,
    Ledger,
    OversoldRow,
    Product,
    ReservationLine,
    SnapshotRow,
)

Uid = Callable[[str], str]
WMS = Cause(kind=CauseKind.FULFILLMENT_CHANNEL, ref="wms")


async def outbox_skus_after(ledger: Ledger, cursor: int) -> list[str]:
    return sorted(row.sku for row in await ledger.outbox_after(cursor, 1_000_000))


async def outbox_end(ledger: Ledger) -> int:
    return max([row.id for row in await ledger.outbox_after(0, 1_000_000)], default=0)


async def test_a_snapshot_sets_on_hand_and_inbound_absolutely(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    kept, lowered, new = uid("kept"), uid("lowered"), uid("new")
    await ledger.receive(kept, "east", 5, cause)
    await ledger.receive(lowered, "east", 9, cause)
    cursor = await outbox_end(ledger)
    result = await ledger.apply_snapshot(
        "east",
        [
            SnapshotRow(sku=kept, on_hand=5),
            SnapshotRow(sku=lowered, on_hand=4),
            SnapshotRow(sku=new, on_hand=7, inbound=3),
        ],
        WMS,
    )
    assert (result.changed, result.unchanged, result.oversold) == (2, 1, [])
    assert [(s.on_hand, s.available) for s in await ledger.stock(lowered)] == [(4, 4)]
    assert [s.on_hand for s in await ledger.stock(new)] == [7]
    assert [(e.kind, e.delta, e.cause) for e in await ledger.events(new)] == [
        (EventKind.SNAPSHOT, 7, WMS),
        (EventKind.INBOUND, 3, WMS),
    ]
    assert [(e.kind, e.delta) for e in await ledger.events(lowered)][-1] == (EventKind.SNAPSHOT, -5)
    assert [e.kind for e in await ledger.events(kept)] == [EventKind.RECEIVE]
    assert await outbox_skus_after(ledger, cursor) == sorted([lowered, new])


async def test_a_repeated_snapshot_changes_nothing(ledger: Ledger, uid: Uid) -> None:
    rows = [SnapshotRow(sku=uid(f"sku{i}"), on_hand=i, inbound=i % 2) for i in range(20)]
    first = await ledger.apply_snapshot("east", rows, WMS)
    assert (first.changed, first.unchanged) == (20, 0)
    cursor = await outbox_end(ledger)
    second = await ledger.apply_snapshot("east", rows, WMS)
    assert (second.changed, second.unchanged) == (0, 20)
    assert await outbox_skus_after(ledger, cursor) == []


async def test_a_snapshot_leaves_other_locations_and_unmentioned_skus_alone(
    ledger: Ledger, uid: Uid, cause: Cause
) -> None:
    listed, unlisted = uid("listed"), uid("unlisted")
    await ledger.receive(listed, "west", 5, cause)
    await ledger.receive(unlisted, "east", 5, cause)
    await ledger.apply_snapshot("east", [SnapshotRow(sku=listed, on_hand=1)], WMS)
    assert await ledger.available([listed, unlisted]) == {
        (listed, "east"): 1,
        (listed, "west"): 5,
        (unlisted, "east"): 5,
    }


async def test_a_snapshot_below_reserved_keeps_reservations_and_reports_the_drift(
    ledger: Ledger, uid: Uid, cause: Cause
) -> None:
    sku, order = uid("sku"), uid("order")
    await ledger.receive(sku, "east", 5, cause)
    reserve = [ReservationLine(line_id="1", sku=sku, location_id="east", quantity=4)]
    await ledger.reserve(order, reserve, cause)
    result = await ledger.apply_snapshot("east", [SnapshotRow(sku=sku, on_hand=1)], WMS)
    assert result.oversold == [OversoldRow(sku=sku, location_id="east", reported_on_hand=1, reserved=4)]
    assert result.oversold[0].shortfall == 3
    [level] = await ledger.stock(sku)
    assert (level.on_hand, level.reserved, level.available) == (4, 4, 0)
    # Reported again: nothing more to change, the drift is still reported.
    again = await ledger.apply_snapshot("east", [SnapshotRow(sku=sku, on_hand=1)], WMS)
    assert (again.changed, len(again.oversold)) == (0, 1)
    assert await ledger.check_invariants() == []


async def test_bundle_skus_in_a_snapshot_are_ignored(ledger: Ledger, uid: Uid) -> None:
    kit, part = uid("kit"), uid("part")
    await ledger.define_products([Product(sku=kit, components={part: 1})])
    result = await ledger.apply_snapshot(
        "east", [SnapshotRow(sku=kit, on_hand=3), SnapshotRow(sku=part, on_hand=2)], WMS
    )
    assert (result.changed, result.ignored_bundles) == (1, [kit])
    assert await ledger.available([kit]) == {(kit, "east"): 2}


async def test_a_snapshot_touches_the_bundles_of_changed_components(ledger: Ledger, uid: Uid) -> None:
    kit, part = uid("kit"), uid("part")
    await ledger.define_products([Product(sku=kit, components={part: 1})])
    cursor = await outbox_end(ledger)
    await ledger.apply_snapshot("east", [SnapshotRow(sku=part, on_hand=2)], WMS)
    assert await outbox_skus_after(ledger, cursor) == sorted([kit, part])


async def test_a_snapshot_listing_a_sku_twice_is_refused(ledger: Ledger, uid: Uid) -> None:
    sku = uid("sku")
    with pytest.raises(InvalidQuantity, match="twice"):
        await ledger.apply_snapshot("east", [SnapshotRow(sku=sku, on_hand=1), SnapshotRow(sku=sku, on_hand=2)], WMS)


async def test_a_large_snapshot_applies_in_bulk(ledger: Ledger, uid: Uid) -> None:
    location = uid("loc")
    rows = [SnapshotRow(sku=f"bulk-{i:05d}", on_hand=i % 17) for i in range(12_000)]
    first = await ledger.apply_snapshot(location, rows, WMS)
    assert (first.changed, first.unchanged) == (12_000, 0)
    changed = [SnapshotRow(sku=r.sku, on_hand=r.on_hand + 1) if i % 10 == 0 else r for i, r in enumerate(rows)]
    second = await ledger.apply_snapshot(location, changed, WMS)
    assert (second.changed, second.unchanged) == (1_200, 10_800)
    available = await ledger.available([r.sku for r in changed], [location])
    assert all(available[(r.sku, location)] == r.on_hand for r in changed)


async def test_invariants_hold_after_these_tests(ledger: Ledger) -> None:
    assert await ledger.check_invariants() == []
