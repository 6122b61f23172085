"""Go-live rollouts on both stores: seeded once from the file, changed with an audit, and the
reservation history the velocity ranking reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from orderloop.ledger import Cause, CauseKind, Ledger, ReservationLine, RolloutStage
from orderloop.ledger.base import utc_now

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_first_read_seeds_from_the_file_then_the_database_wins(ledger: Ledger, uid: Callable[[str], str]) -> None:
    channel = uid("shop")
    seeded = await ledger.channel_rollout(channel, ["B", "A"])
    assert (seeded.stage, seeded.skus, seeded.updated_by) == (RolloutStage.LIMITED, ["A", "B"], "orderloop.yaml")
    # A later read with another file value keeps what the database holds.
    again = await ledger.channel_rollout(channel, ["C"])
    assert again.skus == ["A", "B"]
    changes = await ledger.rollout_changes(channel)
    assert [(c.action, c.operator, c.added, c.stage_before) for c in changes] == [
        ("seed", "orderloop.yaml", ["A", "B"], None)
    ]


async def test_no_skus_in_the_file_seeds_stage_full(ledger: Ledger, uid: Callable[[str], str]) -> None:
    row = await ledger.channel_rollout(uid("shop"), None)
    assert row.stage is RolloutStage.FULL
    assert row.sku_set is None and row.accepts("ANY")


async def test_every_change_is_audited_with_who_and_what(ledger: Ledger, uid: Callable[[str], str]) -> None:
    channel = uid("shop")
    row, change = await ledger.change_channel_rollout(
        channel, RolloutStage.LIMITED, ["A", "C"], "ada", "plan", ["A", "B"]
    )
    assert (row.stage, row.skus, row.updated_by) == (RolloutStage.LIMITED, ["A", "C"], "ada")
    assert change is not None and (change.added, change.removed) == (["C"], ["B"])
    same, none = await ledger.change_channel_rollout(channel, RolloutStage.LIMITED, ["C", "A"], "bo", "plan", None)
    assert none is None and same.updated_by == "ada"
    full, last = await ledger.change_channel_rollout(channel, RolloutStage.FULL, [], "bo", "expand", None)
    assert full.stage is RolloutStage.FULL and full.skus == ["A", "C"]
    assert last is not None and (last.stage_before, last.stage_after) == (RolloutStage.LIMITED, RolloutStage.FULL)
    history = await ledger.rollout_changes(channel)
    assert [(c.action, c.operator) for c in history] == [("seed", "orderloop.yaml"), ("plan", "ada"), ("expand", "bo")]
    assert all(c.at <= utc_now() for c in history)


async def test_a_rollout_change_puts_the_skus_it_touches_in_the_outbox(
    ledger: Ledger, uid: Callable[[str], str]
) -> None:
    channel, head = uid("shop"), await ledger.outbox_head()
    await ledger.change_channel_rollout(channel, RolloutStage.LIMITED, ["X1"], "ada", "plan", ["X0"])
    rows = await ledger.outbox_after(head, 100)
    assert {r.sku for r in rows} >= {"X0", "X1"}


async def test_units_reserved_since_sums_order_reservations_per_sku(
    ledger: Ledger, uid: Callable[[str], str], cause: Cause
) -> None:
    sku, other = uid("fast"), uid("slow")
    await ledger.receive(sku, "wh", 10, cause)
    await ledger.receive(other, "wh", 10, cause)
    before = utc_now() - timedelta(seconds=1)
    for i, (s, q) in enumerate([(sku, 3), (sku, 2), (other, 1)]):
        order = uid(f"o{i}")
        result = await ledger.reserve(
            order,
            [ReservationLine(line_id="1", sku=s, location_id="wh", quantity=q)],
            Cause(kind=CauseKind.ORDER, ref=order),
        )
        assert result.reserved
    units = await ledger.units_reserved_since(before)
    assert (units[sku], units[other]) == (5, 1)
    assert sku not in await ledger.units_reserved_since(utc_now() + timedelta(seconds=1))
