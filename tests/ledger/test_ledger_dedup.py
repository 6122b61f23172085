"""Inbound duplicate protection that outlives Temporal's retention (accepted orders, webhook
deliveries, the reads of both) and the order polls' cursors, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from orderloop.ledger import InboundSeen, Ledger

Uid = Callable[[str], str]


async def test_an_order_is_accepted_once_and_remembers_its_workflow(ledger: Ledger, uid: Uid) -> None:
    external = uid("1001")
    assert await ledger.accepted_order("shop", external) is None
    assert await ledger.record_accepted_order("shop", external, f"order/shop/{external}") is True
    assert await ledger.record_accepted_order("shop", external, "order/shop/other") is False
    assert await ledger.accepted_order("shop", external) == f"order/shop/{external}"


async def test_the_same_external_id_on_another_channel_is_another_order(ledger: Ledger, uid: Uid) -> None:
    external = uid("1001")
    assert await ledger.record_accepted_order("shop", external, "a")
    assert await ledger.record_accepted_order("marketplace", external, "b")


async def test_a_webhook_delivery_id_is_new_only_once(ledger: Ledger, uid: Uid) -> None:
    delivery = uid("delivery")
    assert await ledger.record_delivery("shop", delivery) is True
    assert await ledger.record_delivery("shop", delivery) is False
    assert await ledger.record_delivery("wms", delivery) is True


async def test_delivery_seen_only_after_it_is_recorded(ledger: Ledger, uid: Uid) -> None:
    event = uid("evt")
    assert not await ledger.delivery_seen("shop", event)
    assert await ledger.record_delivery("shop", event)
    assert await ledger.delivery_seen("shop", event)
    assert not await ledger.delivery_seen("other", event)


async def test_inbound_seen_reads_the_delivery_and_the_accepted_order_together(ledger: Ledger, uid: Uid) -> None:
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


async def test_a_poll_cursor_is_none_until_saved_and_then_moves_per_channel(ledger: Ledger, uid: Uid) -> None:
    channel, other = uid("shop"), uid("other")
    first = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert await ledger.poll_cursor(channel) is None
    await ledger.save_poll_cursor(channel, first)
    await ledger.save_poll_cursor(channel, first + timedelta(minutes=5))
    assert await ledger.poll_cursor(channel) == first + timedelta(minutes=5)
    assert await ledger.poll_cursor(other) is None
