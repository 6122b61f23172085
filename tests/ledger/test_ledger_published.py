"""Published quantities and the availability outbox (rows per change, consumers' cursors, trim,
the head), used by inventory sync, on both databases."""

from __future__ import annotations

from collections.abc import Callable

from orderloop.ledger import Cause, Ledger, Product

Uid = Callable[[str], str]


async def test_published_quantities_are_upserted_per_channel(ledger: Ledger, uid: Callable[[str], str]) -> None:
    channel, other, sku = uid("shop"), uid("other"), uid("sku")
    await ledger.record_published(channel, {sku: 5})
    await ledger.record_published(channel, {sku: 3})
    await ledger.record_published(other, {sku: 9})
    assert await ledger.published(channel) == {sku: 3}
    rows = await ledger.published_for(sku)
    assert {c: q for c, q, _ in rows} == {channel: 3, other: 9}
    assert all(at.tzinfo is not None for _, _, at in rows)


async def test_last_pushed_at_is_the_channels_newest_push(ledger: Ledger, uid: Callable[[str], str]) -> None:
    channel, other = uid("shop"), uid("other")
    assert await ledger.last_pushed_at(channel) is None
    await ledger.record_published(channel, {uid("a"): 5})
    first = await ledger.last_pushed_at(channel)
    await ledger.record_published(channel, {uid("b"): 1})
    newest = await ledger.last_pushed_at(channel)
    assert first is not None and newest is not None and newest.tzinfo is not None
    assert newest >= first
    assert [at for c, _, at in await ledger.published_for(uid("b")) if c == channel] == [newest]
    assert await ledger.last_pushed_at(other) is None


async def test_outbox_head_follows_changes_and_all_skus_lists_stocked_ones(
    ledger: Ledger, uid: Callable[[str], str], cause: Cause
) -> None:
    before = await ledger.outbox_head()
    sku = uid("sku")
    await ledger.receive(sku, "east", 4, cause)
    head = await ledger.outbox_head()
    assert head > before
    assert [row.sku for row in await ledger.outbox_after(before, 10)] == [sku]
    assert sku in await ledger.all_skus()
    await ledger.ping()


async def test_every_change_writes_one_outbox_row_per_sku_and_per_bundle_containing_it(
    ledger: Ledger, uid: Uid, cause: Cause
) -> None:
    part, kit = uid("part"), uid("kit")
    await ledger.define_products([Product(sku=kit, components={part: 2})])
    cursor = max([row.id for row in await ledger.outbox_after(0, 100_000)], default=0)
    await ledger.receive(part, "east", 3, cause)
    rows = await ledger.outbox_after(cursor, 100)
    assert sorted(row.sku for row in rows) == sorted([part, kit])
    assert all(row.created_at.tzinfo is not None for row in rows)


async def test_outbox_consumers_keep_their_own_cursor_and_trim_deletes_up_to_an_id(
    ledger: Ledger, uid: Uid, cause: Cause
) -> None:
    start = max([row.id for row in await ledger.outbox_after(0, 100_000)], default=0)
    skus = [uid(f"sku{i}") for i in range(3)]
    for sku in skus:
        await ledger.receive(sku, "east", 1, cause)
    first_reader = await ledger.outbox_after(start, 2)
    second_reader = await ledger.outbox_after(start, 10)
    assert [r.sku for r in first_reader] == skus[:2]
    assert [r.sku for r in second_reader] == skus
    assert [r.sku for r in await ledger.outbox_after(first_reader[-1].id, 10)] == skus[2:]
    assert await ledger.outbox_trim(second_reader[-1].id) >= 3
    assert await ledger.outbox_after(start, 10) == []


async def test_trim_waits_for_every_named_consumer_and_stops_at_the_slowest(
    ledger: Ledger, uid: Uid, cause: Cause
) -> None:
    fast, slow = uid("sync/fast"), uid("sync/slow")
    skus = [uid(f"t{i}") for i in range(3)]
    for sku in skus:
        await ledger.receive(sku, "east", 1, cause)
    rows = await ledger.outbox_after(0, 100_000)
    mine = [r for r in rows if r.sku in skus]
    await ledger.save_outbox_cursor(fast, mine[-1].id)
    # The slow consumer never saved a cursor: it may still need every row.
    assert await ledger.trim_outbox_for([fast, slow]) == 0
    await ledger.save_outbox_cursor(slow, mine[0].id)
    await ledger.save_outbox_cursor(slow, mine[1].id)
    assert (await ledger.outbox_cursors())[slow] == mine[1].id
    assert await ledger.trim_outbox_for([fast, slow]) >= 2
    left = [r.sku for r in await ledger.outbox_after(0, 100_000) if r.sku in skus]
    assert left == skus[2:]
