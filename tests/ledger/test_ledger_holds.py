"""The orders a channel holds back, on both databases: the first sighting records the hold, each
later one counts it with the newest reason; the order's acceptance releases it in the same write,
the channel's cancel of the never-started order cancels it, and a closed hold stays closed."""

from __future__ import annotations

from collections.abc import Callable

from orderloop.ledger import HoldState, Ledger

Uid = Callable[[str], str]


async def test_a_held_order_is_recorded_once_and_counted_at_each_sighting(ledger: Ledger, uid: Uid) -> None:
    channel, order = uid("bc"), uid("101")

    first = await ledger.record_channel_hold(channel, order, "the checkout was not completed", "Incomplete (status 0)")
    again = await ledger.record_channel_hold(
        channel,
        order,
        "the payment awaits the merchant's manual verification",
        "Manual Verification Required (status 12)",
    )

    assert (first.times_seen, first.state, first.first_seen_at) == (1, HoldState.HELD, first.last_seen_at)
    assert again.times_seen == 2 and again.first_seen_at == first.first_seen_at
    assert again.last_seen_at >= first.last_seen_at
    assert again.reason == "the payment awaits the merchant's manual verification"
    assert again.channel_status == "Manual Verification Required (status 12)"
    assert await ledger.channel_hold(channel, order) == again
    assert [h.external_id for h in await ledger.list_channel_holds(channel)] == [order]


async def test_a_hold_recorded_with_its_delivery_makes_the_delivery_seen(ledger: Ledger, uid: Uid) -> None:
    channel, order, delivery = uid("amazon"), uid("111-1"), uid("notification")

    await ledger.record_channel_hold(channel, order, "PENDING", "PENDING", delivery)

    assert await ledger.delivery_seen(channel, delivery)


async def test_accepting_the_order_releases_its_hold_and_later_sightings_do_not_reopen_it(
    ledger: Ledger, uid: Uid
) -> None:
    channel, order = uid("bc"), uid("102")
    await ledger.record_channel_hold(channel, order, "declined", "Declined (status 6)")

    await ledger.record_accepted_order(channel, order, f"order/{channel}/{order}", uid("hook"))
    released = await ledger.channel_hold(channel, order)
    await ledger.record_channel_hold(channel, order, "declined", "Declined (status 6)")
    seen_after = await ledger.channel_hold(channel, order)

    assert released is not None and released.state is HoldState.RELEASED and released.cancelled_at is None
    assert seen_after is not None and seen_after.released_at == released.released_at and seen_after.times_seen == 2
    assert await ledger.list_channel_holds(channel) == []
    assert [h.external_id for h in await ledger.list_channel_holds(channel, HoldState.RELEASED)] == [order]


async def test_the_channels_cancel_closes_an_open_hold_once(ledger: Ledger, uid: Uid) -> None:
    channel, order, never_held, delivery = uid("tiktok"), uid("577"), uid("578"), uid("cancel")
    await ledger.record_channel_hold(channel, order, "in the buyer's remorse window", "ON_HOLD")

    closed = await ledger.cancel_channel_hold(channel, order, delivery)
    again = await ledger.cancel_channel_hold(channel, order)
    unknown = await ledger.cancel_channel_hold(channel, never_held)
    # A cancelled hold is closed: the order's acceptance (it cannot start, but say it did) leaves it.
    await ledger.record_accepted_order(channel, order, f"order/{channel}/{order}")
    hold = await ledger.channel_hold(channel, order)

    assert (closed, again, unknown) == (True, False, False)
    assert await ledger.delivery_seen(channel, delivery)
    assert hold is not None and hold.state is HoldState.CANCELLED and hold.released_at is None
    assert await ledger.channel_hold(channel, never_held) is None
    assert [h.external_id for h in await ledger.list_channel_holds(channel, HoldState.CANCELLED)] == [order]


async def test_holds_list_per_channel_most_recently_seen_first_in_any_state(ledger: Ledger, uid: Uid) -> None:
    shop, other = uid("bc"), uid("amazon")
    for order in ("1", "2", "3"):
        await ledger.record_channel_hold(shop, order, f"reason {order}", "Incomplete (status 0)")
    await ledger.record_channel_hold(other, "9", "PENDING", "PENDING")
    await ledger.record_channel_hold(shop, "1", "reason 1 again", "Incomplete (status 0)")
    await ledger.record_accepted_order(shop, "2", f"order/{shop}/2")

    held = await ledger.list_channel_holds(shop)
    every = await ledger.list_channel_holds(shop, None)
    everywhere = {(h.channel_id, h.external_id) for h in await ledger.list_channel_holds(None, None, limit=1000)}

    assert [h.external_id for h in held] == ["1", "3"]
    assert [(h.external_id, h.state) for h in every] == [
        ("1", HoldState.HELD),
        ("3", HoldState.HELD),
        ("2", HoldState.RELEASED),
    ]
    assert {(shop, "1"), (shop, "2"), (shop, "3"), (other, "9")} <= everywhere
    assert len(await ledger.list_channel_holds(shop, None, limit=2)) == 2
