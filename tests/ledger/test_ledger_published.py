"""Published quantities, delivery dedup reads, and the outbox head (used by inventory sync and
the gateway), on both databases."""

from __future__ import annotations

from collections.abc import Callable

from orderloop.ledger import Cause, InboundSeen, Ledger


async def test_published_quantities_are_upserted_per_channel(ledger: Ledger, uid: Callable[[str], str]) -> None:
    channel, other, sku = uid("shop"), uid("other"), uid("sku")
    await ledger.record_published(channel, {sku: 5})
    await ledger.record_published(channel, {sku: 3})
    await ledger.record_published(other, {sku: 9})
    assert await ledger.published(channel) == {sku: 3}
    rows = await ledger.published_for(sku)
    assert {c: q for c, q, _ in rows} == {channel: 3, other: 9}
    assert all(at.tzinfo is not None for _, _, at in rows)


async def test_delivery_seen_only_after_it_is_recorded(ledger: Ledger, uid: Callable[[str], str]) -> None:
    event = uid("evt")
    assert not await ledger.delivery_seen("shop", event)
    assert await ledger.record_delivery("shop", event)
    assert await ledger.delivery_seen("shop", event)
    assert not await ledger.delivery_seen("other", event)


async def test_inbound_seen_reads_the_delivery_and_the_accepted_order_together(
    ledger: Ledger, uid: Callable[[str], str]
) -> None:
    delivery, external, workflow = uid("evt"), uid("ext"), uid("order/shop")
    assert await ledger.inbound_seen("shop", delivery, external) == InboundSeen()
    await ledger.record_accepted_order("shop", external, workflow, delivery)
    assert await ledger.inbound_seen("shop", delivery, external) == InboundSeen(
        delivery=True, accepted_workflow_id=workflow
    )
    # Each part only when asked for; another channel's records are not this one's.
    assert await ledger.inbound_seen("shop", None, external) == InboundSeen(accepted_workflow_id=workflow)
    assert await ledger.inbound_seen("shop", delivery, None) == InboundSeen(delivery=True)
    assert await ledger.inbound_seen("other", delivery, external) == InboundSeen()


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
